export { OutboxService } from './outbox.service.js';
export { outboxRoutes } from './outbox.routes.js';

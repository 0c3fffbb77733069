export { MessagingService, type SentHook } from './messaging.service.js';
export { messagingRoutes } from './messaging.routes.js';
export { DEADLINE_TIMER, type DeadlinePayload } from './deadlines.js';

export { ReceiptsService } from './receipts.service.js';
export { receiptsRoutes } from './receipts.routes.js';

export { OrdersService, ORDER_CODE_TIMER, REFUSAL_CREDIT_LOW } from './orders.service.js';
export { CatalogueService } from './catalogue.service.js';
export { OrderGateways } from './gateway.js';
export { ordersRoutes } from './orders.routes.js';
export { creditScore, creditBand } from './credit.js';
export { parseCommand } from './commands.js';

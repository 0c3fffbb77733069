export { InboundService, type InboundSmsHandler } from './inbound.service.js';
export { inboundRoutes } from './inbound.routes.js';

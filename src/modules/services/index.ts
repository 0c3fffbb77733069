export { ServiceAccountsService, SERVICE_DISPATCH_TIMER, SERVICE_LEASE_TIMER } from './services.service.js';
export { servicesRoutes } from './services.routes.js';
export { echoPlugin, ECHO_MENU, type ServicePlugin } from './plugins.js';

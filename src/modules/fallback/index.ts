export { FallbackService, FALLBACK_SEND_TIMER } from './fallback.service.js';
export { fallbackRoutes } from './fallback.routes.js';
export { checkTimeZone, parseTimeOfDay } from './quiet-hours.js';

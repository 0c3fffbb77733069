export { AccountsService, normalizePhone, toPublicAccount } from './accounts.service.js';
export type { AccountRow } from './accounts.repo.js';
export { insertAccount } from './accounts.repo.js';
export { accountsRoutes } from './accounts.routes.js';

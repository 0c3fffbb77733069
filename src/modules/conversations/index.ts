export { ConversationsService, requireMember } from './conversations.service.js';
export { toMessageView } from './message-view.js';
export { contactIds, memberIds, findMember } from './conversations.repo.js';
export type { MemberRow } from './conversations.repo.js';
export { conversationsRoutes } from './conversations.routes.js';

export { EventLog, type Emit } from './events.service.js';
export { StreamHub, type StreamListener } from './stream-hub.js';
export { createStream, newestDeliveredPerConversation, messageEventSeqs } from './events.repo.js';
export { eventsRoutes } from './events.routes.js';
export { longPoll } from './long-poll.js';

import type { Channels } from './channels/index.js';
import type { Config } from './config.js';
import type { AccountsService } from './modules/accounts/index.js';
import type { ConversationsService } from './modules/conversations/index.js';
import type { EventLog, StreamHub } from './modules/events/index.js';
import type { FallbackService } from './modules/fallback/index.js';
import type { FilesService } from './modules/files/index.js';
import type { InboundService } from './modules/inbound/index.js';
import type { OffersService } from './modules/offers/index.js';
import type { CatalogueService, OrdersService } from './modules/orders/index.js';
import type { MessagingService } from './modules/messaging/index.js';
import type { OutboxService } from './modules/outbox/index.js';
import type { ReceiptsService } from './modules/receipts/index.js';
import type { ServiceAccountsService } from './modules/services/index.js';
import type { Clock } from './scheduler/clock.js';
import type { PresenceRegistry } from './presence/presence.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { Storage } from './storage/db.js';

/** Everything the transports need, built once by app.ts. */
export interface Services {
  config: Config;
  clock: Clock;
  storage: Storage;
  channels: Channels;
  presence: PresenceRegistry;
  events: EventLog;
  hub: StreamHub;
  scheduler: Scheduler;
  accounts: AccountsService;
  conversations: ConversationsService;
  messaging: MessagingService;
  receipts: ReceiptsService;
  fallback: FallbackService;
  inbound: InboundService;
  outbox: OutboxService;
  files: FilesService;
  serviceAccounts: ServiceAccountsService;
  offers: OffersService;
  catalogue: CatalogueService;
  orders: OrdersService;
}

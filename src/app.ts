import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import { RedisBus } from './bus/redis.js';
import { createChannels } from './channels/index.js';
import type { Config } from './config.js';
import { AccountsService } from './modules/accounts/index.js';
import { ConversationsService } from './modules/conversations/index.js';
import { EventLog, StreamHub } from './modules/events/index.js';
import { FallbackService } from './modules/fallback/index.js';
import { FilesService, HashingFileStore } from './modules/files/index.js';
import { InboundService } from './modules/inbound/index.js';
import { MessagingService } from './modules/messaging/index.js';
import { OffersService } from './modules/offers/index.js';
import { CatalogueService, OrderGateways, OrdersService } from './modules/orders/index.js';
import { OutboxService } from './modules/outbox/index.js';
import { MemoryPresence } from './presence/memory.js';
import type { PresenceRegistry } from './presence/presence.js';
import { RedisPresence } from './presence/redis.js';
import { ReceiptsService } from './modules/receipts/index.js';
import { ServiceAccountsService } from './modules/services/index.js';
import { systemClock, type Clock } from './scheduler/clock.js';
import { Scheduler } from './scheduler/scheduler.js';
import type { Services } from './services.js';
import { FsBlobStore } from './storage/blobs/fs.js';
import { migrateToLatest, openStorage } from './storage/db.js';
import { buildHttpServer } from './transport/http/server.js';
import { UpstreamClient } from './upstream/client.js';

export interface App {
  services: Services;
  http: FastifyInstance;
  /** Base URL once listening, e.g. http://127.0.0.1:8787. */
  url: string;
  close(): Promise<void>;
}

/** Composition root: config → storage → bus → channels → modules → transport. */
export async function createServices(config: Config, clock: Clock = systemClock): Promise<{ services: Services; bus: Bus }> {
  const storage = openStorage(config);
  await migrateToLatest(storage.db);
  let bus: Bus;
  if (config.redisUrl) {
    const redisBus = new RedisBus(config.redisUrl);
    await redisBus.connect();
    bus = redisBus;
  } else {
    bus = new MemoryBus();
  }
  const channels = createChannels(config, storage.db, clock);
  // A restarted node with the same id takes back its own timer claims at once (see Scheduler).
  const nodeId = config.nodeId || `${hostname()}:${config.port || process.pid}`;
  const scheduler = new Scheduler(storage.db, storage.engine, clock, { nodeId, leaseMs: config.timerLeaseMs });

  const presence: PresenceRegistry = config.redisUrl ? new RedisPresence(config.redisUrl, { nodeId, ttlMs: config.presenceTtlMs, clock }) : new MemoryPresence();
  await presence.start();

  const events = new EventLog(storage.db, bus, clock);
  const hub = new StreamHub(bus, presence);
  const accounts = new AccountsService(storage.db, config, clock, bus, channels);
  const conversations = new ConversationsService(storage.db, events, accounts, config);
  const messaging = new MessagingService(storage.db, events, scheduler, config);
  const receipts = new ReceiptsService(storage.db, events, hub, bus, clock, config);
  const outbox = new OutboxService(storage.db);
  const fallback = new FallbackService(storage.db, events, scheduler, channels, clock, config);
  const inbound = new InboundService(channels, (msg, detail) => {
    if (config.logLevel !== 'silent') process.stderr.write(`${JSON.stringify({ time: clock.now(), msg, ...detail })}\n`);
  });
  // Blobs and uploads in progress share DATA_DIR's file system, so storing a finished upload is a link.
  const blobs = new FsBlobStore(join(resolve(config.dataDir), 'blobs'));
  const uploads = new HashingFileStore(join(blobs.tempDir, 'uploads'));
  const upstream = config.upstreamUrl ? new UpstreamClient(config, clock) : null;
  const files = new FilesService(storage.db, events, messaging, scheduler, clock, config, blobs, uploads, upstream);
  await files.start();
  const serviceAccounts = new ServiceAccountsService(storage.db, storage.engine, events, hub, messaging, conversations, scheduler, clock, config, bus);
  await serviceAccounts.start();
  const offers = new OffersService(storage.db, events, scheduler, clock, config);
  await offers.start();
  const catalogue = new CatalogueService(storage.db, clock, config);
  const orders = new OrdersService(storage.db, events, scheduler, channels, clock, config);
  await orders.start();
  const orderGateways = new OrderGateways(storage.db, orders, channels, config.orderShortCode, (msg, detail) => {
    if (config.logLevel !== 'silent') process.stderr.write(`${JSON.stringify({ time: clock.now(), msg, ...detail })}\n`);
  });
  inbound.onSms((sms) => orderGateways.onSms(sms));
  await orderGateways.start(serviceAccounts, config.orderServiceHandle);
  const services: Services = { config, clock, storage, channels, presence, events, hub, scheduler, accounts, conversations, messaging, receipts, fallback, inbound, outbox, files, serviceAccounts, offers, catalogue, orders };
  return { services, bus };
}

export async function startApp(config: Config, clock: Clock = systemClock): Promise<App> {
  const { services, bus } = await createServices(config, clock);
  const http = await buildHttpServer(services);
  const address = await http.listen({ port: config.port, host: config.host });
  services.serviceAccounts.listeningAt(address.replace('[::1]', 'localhost'));
  await services.scheduler.start();
  let closed = false;
  return {
    services,
    http,
    url: address.replace('[::1]', 'localhost'),
    async close() {
      if (closed) return;
      closed = true;
      await services.scheduler.stop();
      await http.close();
      services.hub.close();
      await services.presence.close();
      await bus.close();
      await services.channels.sms.close();
      await services.channels.email.close();
      await services.storage.close();
    },
  };
}

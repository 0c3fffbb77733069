import { Redis } from 'ioredis';
import type { Bus, BusMessage } from './bus.js';

/**
 * Cross-node bus over Redis pub/sub. Every node, this one included, receives each message through
 * Redis, so local and remote subscribers see the same order. Redis keeps nothing: a message
 * published while Redis is down is dropped and clients catch up from the database when they resume.
 */
export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private subscribedOnce = false;

  constructor(url: string, private readonly channel = 'parley:bus', onError: (err: Error) => void = () => {}) {
    this.pub = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    // Subscribing again is done here on every reconnection (not by ioredis), so this node knows
    // when it is listening again.
    this.sub = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, autoResubscribe: false });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    // Both ways a message can be lost end in a resync: this node's subscriber was away (it resyncs
    // its own listeners), or its publisher was (it tells every node to).
    this.pub.on('ready', () => {
      if (this.subscribedOnce) this.publish({ kind: 'resync' });
    });
    this.sub.on('ready', () => {
      if (!this.subscribedOnce) return;
      this.sub.subscribe(this.channel).then(() => this.deliver({ kind: 'resync' }), onError);
    });
    this.sub.on('message', (_channel: string, raw: string) => this.deliver(JSON.parse(raw) as BusMessage));
  }

  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    await this.sub.subscribe(this.channel);
    this.subscribedOnce = true;
  }

  publish(message: BusMessage): void {
    this.pub.publish(this.channel, JSON.stringify(message)).catch(() => {
      // Dropped while Redis is unreachable; the database still holds the events (see class doc).
    });
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private deliver(message: BusMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}

RedisBus satisfies new (url: string) => Bus;

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

  constructor(url: string, private readonly channel = 'parley:bus', onError: (err: Error) => void = () => {}) {
    this.pub = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    this.sub = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    this.sub.on('message', (_channel: string, raw: string) => {
      const message = JSON.parse(raw) as BusMessage;
      for (const handler of this.handlers) handler(message);
    });
  }

  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    await this.sub.subscribe(this.channel);
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

  async close(): Promise<void> {
    this.handlers.clear();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}

RedisBus satisfies new (url: string) => Bus;

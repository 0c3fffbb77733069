import type { Bus, BusMessage } from '../../bus/bus.js';
import type { EphemeralEvent, StreamEvent } from '../../protocol/events.js';

/** A live consumer of one account's stream on this node (a WebSocket, a long-poll request). */
export interface StreamListener {
  readonly deviceId: string;
  /** Newly committed events, in order. May skip ahead of what the listener has seen. */
  onEvents(events: StreamEvent[]): void;
  onEphemeral(event: EphemeralEvent): void;
  onRevoked(): void;
}

/**
 * Routes bus messages to the listeners connected to this node and counts connections per account
 * (presence uses the count). It holds no events: a listener that falls behind reads them back from
 * the database.
 */
export class StreamHub {
  /** accountId → listener → whether it counts towards presence. */
  private readonly listeners = new Map<string, Map<StreamListener, boolean>>();
  private readonly unsubscribe: () => void;
  private readonly connectionHooks: ((accountId: string, online: boolean) => void)[] = [];

  constructor(bus: Bus) {
    this.unsubscribe = bus.subscribe((message) => this.dispatch(message));
  }

  /** `persistent` listeners (sockets) count towards presence; long-polls don't. */
  attach(accountId: string, listener: StreamListener, persistent: boolean): () => void {
    let map = this.listeners.get(accountId);
    if (!map) this.listeners.set(accountId, (map = new Map()));
    map.set(listener, persistent);
    if (persistent && this.persistentCount(accountId) === 1) this.fire(accountId, true);
    return () => {
      const current = this.listeners.get(accountId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.listeners.delete(accountId);
      if (persistent && this.persistentCount(accountId) === 0) this.fire(accountId, false);
    };
  }

  isOnline(accountId: string): boolean {
    return this.persistentCount(accountId) > 0;
  }

  onConnectionChange(hook: (accountId: string, online: boolean) => void): void {
    this.connectionHooks.push(hook);
  }

  connectionCount(): number {
    let n = 0;
    for (const map of this.listeners.values()) n += map.size;
    return n;
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  private persistentCount(accountId: string): number {
    let n = 0;
    for (const persistent of this.listeners.get(accountId)?.values() ?? []) if (persistent) n++;
    return n;
  }

  private fire(accountId: string, online: boolean): void {
    for (const hook of this.connectionHooks) hook(accountId, online);
  }

  private dispatch(message: BusMessage): void {
    switch (message.kind) {
      case 'events':
        for (const l of this.listeners.get(message.accountId)?.keys() ?? []) l.onEvents(message.events);
        return;
      case 'ephemeral':
        for (const accountId of message.accountIds) for (const l of this.listeners.get(accountId)?.keys() ?? []) l.onEphemeral(message.event);
        return;
      case 'device.revoked':
        for (const l of [...(this.listeners.get(message.accountId)?.keys() ?? [])]) if (l.deviceId === message.deviceId) l.onRevoked();
        return;
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { Bus, BusMessage } from '../../bus/bus.js';
import type { PresenceRegistry } from '../../presence/presence.js';
import type { EphemeralEvent, StreamEvent } from '../../protocol/events.js';

/** A live consumer of one account's stream on this node (a WebSocket, a long-poll request). */
export interface StreamListener {
  readonly deviceId: string;
  /** Newly committed events, in order. May skip ahead of what the listener has seen. */
  onEvents(events: StreamEvent[]): void;
  onEphemeral(event: EphemeralEvent): void;
  onRevoked(): void;
  /** The bus may have dropped events (it reconnected): look in storage for any this listener has not seen. */
  onMissed(): void;
}

/**
 * Routes bus messages to the listeners connected to this node and registers its sockets with the
 * presence registry, which tells whether an account's first socket opened or its last one closed,
 * on any node. It holds no events: a listener that falls behind reads them back from the database.
 */
export class StreamHub {
  /** accountId → listener → whether it counts towards presence. */
  private readonly listeners = new Map<string, Map<StreamListener, boolean>>();
  private readonly unsubscribe: () => void;
  private readonly connectionHooks: ((accountId: string, online: boolean) => void)[] = [];

  constructor(
    bus: Bus,
    private readonly presence: PresenceRegistry,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.unsubscribe = bus.subscribe((message) => this.dispatch(message));
    presence.onOrphaned((accountIds) => {
      for (const accountId of accountIds) this.fire(accountId, false);
    });
  }

  /** `persistent` listeners (sockets) count towards presence; long-polls don't. */
  attach(accountId: string, listener: StreamListener, persistent: boolean): () => void {
    let map = this.listeners.get(accountId);
    if (!map) this.listeners.set(accountId, (map = new Map()));
    map.set(listener, persistent);
    const connectionId = persistent ? randomUUID() : '';
    // Registry calls for one account go out in order, so a quick open-close never ends "online".
    if (persistent) this.presence.connect(accountId, connectionId).then((first) => first && this.fire(accountId, true), this.onError);
    return () => {
      const current = this.listeners.get(accountId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.listeners.delete(accountId);
      if (persistent) this.presence.disconnect(accountId, connectionId).then((last) => last && this.fire(accountId, false), this.onError);
    };
  }

  /** Which of `accountIds` have a socket open on any node; none while the registry is unreachable (Redis down). */
  online(accountIds: string[]): Promise<Set<string>> {
    return this.presence.online(accountIds).catch((err: Error) => {
      this.onError(err);
      return new Set<string>();
    });
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
      case 'resync':
        for (const map of this.listeners.values()) for (const l of map.keys()) l.onMissed();
        return;
      case 'device.revoked':
        for (const l of [...(this.listeners.get(message.accountId)?.keys() ?? [])]) if (l.deviceId === message.deviceId) l.onRevoked();
        return;
    }
  }
}

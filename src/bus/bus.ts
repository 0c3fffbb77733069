import type { StreamEvent, EphemeralEvent } from '../protocol/events.js';

/**
 * What travels between the code that commits a change and the sockets that deliver it.
 * The database is the source of truth; the bus only says "look, there is something new", so a
 * lost bus message delays delivery until the client resumes but never loses an event.
 */
export type BusMessage =
  | { kind: 'events'; accountId: string; events: StreamEvent[] }
  | { kind: 'ephemeral'; accountIds: string[]; event: EphemeralEvent }
  | { kind: 'device.revoked'; accountId: string; deviceId: string }
  /** After a bus reconnected: messages published meanwhile are gone, so listeners look in the database. */
  | { kind: 'resync' };

export interface Bus {
  publish(message: BusMessage): void;
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

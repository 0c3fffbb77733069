import type { PresenceRegistry } from './presence.js';

/** Single-node presence: the sockets of this process are all there are. */
export class MemoryPresence implements PresenceRegistry {
  private readonly connections = new Map<string, Set<string>>();

  async connect(accountId: string, connectionId: string): Promise<boolean> {
    let set = this.connections.get(accountId);
    if (!set) this.connections.set(accountId, (set = new Set()));
    set.add(connectionId);
    return set.size === 1;
  }

  async disconnect(accountId: string, connectionId: string): Promise<boolean> {
    const set = this.connections.get(accountId);
    if (!set?.delete(connectionId)) return false;
    if (set.size > 0) return false;
    this.connections.delete(accountId);
    return true;
  }

  async online(accountIds: string[]): Promise<Set<string>> {
    return new Set(accountIds.filter((id) => this.connections.has(id)));
  }

  onOrphaned(): void {
    // One process: when it dies, nobody is left to tell.
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.connections.clear();
  }
}

MemoryPresence satisfies new () => PresenceRegistry;

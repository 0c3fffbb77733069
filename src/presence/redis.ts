import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock, TimerHandle } from '../scheduler/clock.js';
import type { PresenceRegistry } from './presence.js';

// Key layout under the prefix:
//   account:<id>    SET of "<instance>|<connection>", one per open socket of the account
//   instance:<id>   SET of the accounts a node instance has sockets for (what to clean when it dies)
//   alive:<id>      a node instance's heartbeat; expires when the node stops renewing it
//   instances       SET of the node instances that may still own entries
// A socket counts only while its instance's heartbeat exists, so a node killed with -9 stops
// counting the moment its key expires, even before a survivor cleans its entries up.
// Scripts touch keys they compute themselves: this needs a standalone Redis (or Sentinel), not Redis Cluster.
const LIVE = `
local function live(key, prefix)
  local n = 0
  local alive = {}
  for _, member in ipairs(redis.call('SMEMBERS', key)) do
    local instance = string.match(member, '^([^|]*)|')
    if alive[instance] == nil then alive[instance] = redis.call('EXISTS', prefix .. 'alive:' .. instance) == 1 end
    if alive[instance] then n = n + 1 end
  end
  return n
end
local function owned(member, instance) return string.sub(member, 1, #instance + 1) == instance .. '|' end
`;

const CONNECT = `${LIVE}
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return live(KEYS[1], ARGV[3])`;

const DISCONNECT = `${LIVE}
redis.call('SREM', KEYS[1], ARGV[1])
local still = false
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if owned(member, ARGV[4]) then still = true break end
end
if not still then redis.call('SREM', KEYS[2], ARGV[2]) end
return live(KEYS[1], ARGV[3])`;

const ONLINE = `${LIVE}
local counts = {}
for i, key in ipairs(KEYS) do counts[i] = live(key, ARGV[1]) end
return counts`;

// Only the survivor that removes the dead instance from "instances" cleans up after it, so its
// accounts are reported offline once.
const REAP = `${LIVE}
if redis.call('EXISTS', ARGV[2] .. 'alive:' .. ARGV[1]) == 1 then return {} end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return {} end
local offline = {}
for _, account in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[2] .. 'account:' .. account
  for _, member in ipairs(redis.call('SMEMBERS', key)) do
    if owned(member, ARGV[1]) then redis.call('SREM', key, member) end
  end
  if live(key, ARGV[2]) == 0 then table.insert(offline, account) end
end
redis.call('DEL', KEYS[2])
return offline`;

interface PresenceCommands {
  presenceConnect(account: string, instance: string, member: string, accountId: string, prefix: string): Promise<number>;
  presenceDisconnect(account: string, instance: string, member: string, accountId: string, prefix: string, instanceId: string): Promise<number>;
  presenceOnline(...args: (string | number)[]): Promise<number[]>;
  presenceReap(instances: string, instance: string, deadInstance: string, prefix: string): Promise<string[]>;
}

export interface RedisPresenceOptions {
  /** This node's name; each process start gets its own instance id under it. */
  nodeId: string;
  /** How long a node's sockets still count after its last heartbeat; heartbeats go three times as often. */
  ttlMs: number;
  clock: Clock;
  prefix?: string;
  onError?: (err: Error) => void;
}

/** Presence shared by every node through Redis, with per-node heartbeats that expire. */
export class RedisPresence implements PresenceRegistry {
  private readonly redis: Redis & PresenceCommands;
  private readonly instance: string;
  private readonly prefix: string;
  /** This node's own sockets, to put back after Redis lost them (a restart) or a survivor reaped them (a stall). */
  private readonly local = new Map<string, Set<string>>();
  private readonly orphanHandlers: ((accountIds: string[]) => void)[] = [];
  private heartbeatTimer: TimerHandle | undefined;
  private beating = false;

  constructor(
    url: string,
    private readonly options: RedisPresenceOptions,
  ) {
    this.instance = `${options.nodeId}#${randomUUID().slice(0, 8)}`;
    this.prefix = options.prefix ?? 'parley:presence:';
    // Fail fast while Redis is away: presence is advisory, and the heartbeat puts it back afterwards.
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    redis.defineCommand('presenceConnect', { numberOfKeys: 2, lua: CONNECT });
    redis.defineCommand('presenceDisconnect', { numberOfKeys: 2, lua: DISCONNECT });
    redis.defineCommand('presenceOnline', { lua: ONLINE });
    redis.defineCommand('presenceReap', { numberOfKeys: 2, lua: REAP });
    redis.on('error', options.onError ?? (() => {}));
    // Back after an outage: re-assert at once rather than at the next beat.
    redis.on('ready', () => void this.heartbeat());
    this.redis = redis as Redis & PresenceCommands;
  }

  async start(): Promise<void> {
    await this.redis.connect();
    await this.heartbeat();
    this.heartbeatTimer = this.options.clock.every(Math.max(100, Math.floor(this.options.ttlMs / 3)), () => void this.heartbeat());
  }

  async connect(accountId: string, connectionId: string): Promise<boolean> {
    let set = this.local.get(accountId);
    if (!set) this.local.set(accountId, (set = new Set()));
    set.add(connectionId);
    const live = await this.redis.presenceConnect(this.accountKey(accountId), this.instanceKey(this.instance), this.member(connectionId), accountId, this.prefix);
    return Number(live) === 1;
  }

  async disconnect(accountId: string, connectionId: string): Promise<boolean> {
    const set = this.local.get(accountId);
    set?.delete(connectionId);
    if (set?.size === 0) this.local.delete(accountId);
    const live = await this.redis.presenceDisconnect(this.accountKey(accountId), this.instanceKey(this.instance), this.member(connectionId), accountId, this.prefix, this.instance);
    return Number(live) === 0;
  }

  async online(accountIds: string[]): Promise<Set<string>> {
    if (accountIds.length === 0) return new Set();
    const counts = await this.redis.presenceOnline(accountIds.length, ...accountIds.map((id) => this.accountKey(id)), this.prefix);
    return new Set(accountIds.filter((_, i) => Number(counts[i]) > 0));
  }

  onOrphaned(handler: (accountIds: string[]) => void): void {
    this.orphanHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.heartbeatTimer?.cancel();
    // A clean stop takes this node's sockets out at once instead of after the heartbeat expires.
    try {
      if (this.redis.status === 'ready') {
        await this.redis.del(this.aliveKey(this.instance));
        await this.redis.presenceReap(this.instancesKey(), this.instanceKey(this.instance), this.instance, this.prefix);
      }
    } catch {
      // Redis is away: the heartbeat key expires by itself.
    }
    this.redis.disconnect();
  }

  /** Renews this node's heartbeat and cleans up after nodes whose heartbeat expired. */
  private async heartbeat(): Promise<void> {
    if (this.beating || this.redis.status !== 'ready') return;
    this.beating = true;
    try {
      const results = await this.redis.multi().set(this.aliveKey(this.instance), '1', 'PX', this.options.ttlMs).sadd(this.instancesKey(), this.instance).exec();
      // Newly added: Redis forgot us (restarted) or a survivor took us for dead (we stalled). Either way our sockets are gone there.
      if (results?.[1]?.[1] === 1 && this.local.size > 0) await this.restoreLocal();
      const instances = (await this.redis.smembers(this.instancesKey())).filter((id) => id !== this.instance);
      if (instances.length === 0) return;
      const exists = await Promise.all(instances.map((id) => this.redis.exists(this.aliveKey(id))));
      for (const [i, id] of instances.entries()) {
        if (exists[i]) continue;
        const offline = await this.redis.presenceReap(this.instancesKey(), this.instanceKey(id), id, this.prefix);
        if (offline.length > 0) for (const handler of this.orphanHandlers) handler(offline);
      }
    } catch (err) {
      this.options.onError?.(err as Error);
    } finally {
      this.beating = false;
    }
  }

  private async restoreLocal(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [accountId, connections] of this.local) {
      for (const connectionId of connections) pipeline.sadd(this.accountKey(accountId), this.member(connectionId));
      pipeline.sadd(this.instanceKey(this.instance), accountId);
    }
    await pipeline.exec();
  }

  private member(connectionId: string): string {
    return `${this.instance}|${connectionId}`;
  }
  private accountKey(accountId: string): string {
    return `${this.prefix}account:${accountId}`;
  }
  private instanceKey(instance: string): string {
    return `${this.prefix}instance:${instance}`;
  }
  private aliveKey(instance: string): string {
    return `${this.prefix}alive:${instance}`;
  }
  private instancesKey(): string {
    return `${this.prefix}instances`;
  }
}

RedisPresence satisfies new (url: string, options: RedisPresenceOptions) => PresenceRegistry;

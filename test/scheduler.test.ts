import { afterEach, describe, expect, it } from 'vitest';
import { settings } from '../src/config.js';
import { Scheduler, type FiredTimer } from '../src/scheduler/scheduler.js';
import { systemClock } from '../src/scheduler/clock.js';
import { migrateToLatest, openStorage, type Storage } from '../src/storage/db.js';
import { freshStorage } from './support/server.js';
import { until } from './support/read.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function storage(): Promise<{ open: () => Promise<Storage> }> {
  const fresh = await freshStorage();
  const opened: Storage[] = [];
  cleanups.push(async () => {
    for (const s of opened) await s.close();
    await fresh.drop();
  });
  return {
    async open() {
      const s = openStorage({ databaseUrl: fresh.overrides.databaseUrl ?? '', dataDir: fresh.overrides.dataDir ?? '', sqliteSynchronous: 'NORMAL', sqliteCacheMb: settings.sqliteCacheMb.default });
      opened.push(s);
      await migrateToLatest(s.db);
      return s;
    },
  };
}

function recorder() {
  const fired: (FiredTimer & { at: number })[] = [];
  return { fired, handler: async (t: FiredTimer) => void fired.push({ ...t, at: Date.now() }) };
}

function scheduler(s: Storage, nodeId: string, options: Partial<ConstructorParameters<typeof Scheduler>[3]> = {}): Scheduler {
  const sch = new Scheduler(s.db, s.engine, systemClock, { nodeId, pollMs: 200, ...options });
  cleanups.push(() => sch.stop());
  return sch;
}

describe('durable scheduler', () => {
  it('fires each timer once, close to its due time, with its payload', async () => {
    const s = await (await storage()).open();
    const sch = scheduler(s, 'n1');
    const { fired, handler } = recorder();
    sch.register('test', handler);
    await sch.start();
    const base = Date.now();
    for (let i = 0; i < 20; i++) await sch.schedule(s.db, { kind: 'test', key: `k${i}`, dueAt: base + 150 + i * 10, payload: { i } });
    await until(() => fired.length === 20);
    for (const t of fired) {
      expect(t.at).toBeGreaterThanOrEqual(t.dueAt);
      expect(t.at - t.dueAt).toBeLessThan(100);
    }
    expect(fired.map((t) => (t.payload as { i: number }).i)).toEqual([...Array(20).keys()]);
    await until(() => sch.firedCount === 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(await sch.pendingCount()).toBe(0);
  });

  it('a cancelled timer does not fire; scheduling a key again moves it', async () => {
    const s = await (await storage()).open();
    const sch = scheduler(s, 'n1');
    const { fired, handler } = recorder();
    sch.register('test', handler);
    await sch.start();
    const base = Date.now();
    await sch.schedule(s.db, { kind: 'test', key: 'gone', dueAt: base + 150 });
    await sch.schedule(s.db, { kind: 'test', key: 'moved', dueAt: base + 150 });
    await sch.schedule(s.db, { kind: 'test', key: 'moved', dueAt: base + 400 });
    expect(await sch.cancel(s.db, 'gone')).toBe(true);
    await until(() => fired.length === 1);
    expect(fired[0]!.key).toBe('moved');
    expect(fired[0]!.at).toBeGreaterThanOrEqual(base + 400);
    await new Promise((r) => setTimeout(r, 200));
    expect(fired).toHaveLength(1);
  });

  it('a handler may schedule its own key again: the new timer survives the deletion of the fired one', async () => {
    const s = await (await storage()).open();
    const sch = scheduler(s, 'n1');
    const fired: number[] = [];
    sch.register('again', async (t) => {
      fired.push(t.dueAt);
      if (fired.length === 1) await sch.schedule(s.db, { kind: 'again', key: t.key, dueAt: Date.now() + 300 });
    });
    await sch.start();
    await sch.schedule(s.db, { kind: 'again', key: 'repeat', dueAt: Date.now() + 100 });
    await until(() => fired.length === 2, 3000);
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toHaveLength(2);
    expect(await sch.pendingCount()).toBe(0);
  });

  it('what fired before a clean stop does not fire again after the next start', async () => {
    const st = await storage();
    const s = await st.open();
    const first = scheduler(s, 'n1');
    const { fired, handler } = recorder();
    first.register('test', handler);
    await first.start();
    const due = Date.now() + 100;
    for (let i = 0; i < 300; i++) await first.schedule(s.db, { kind: 'test', key: `once-${i}`, dueAt: due });
    await until(() => fired.length === 300);
    await first.stop();
    expect(await first.pendingCount()).toBe(0);

    const second = scheduler(s, 'n1');
    const again = recorder();
    second.register('test', again.handler);
    await second.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(again.fired).toHaveLength(0);
  });

  it('a node behind on its work renews its claims, so another node never fires its timers too', async () => {
    const st = await storage();
    const [sa, sb] = [await st.open(), await st.open()];
    // Claims last 500 ms (horizon + lease); eight 150 ms handlers in a row outlast them.
    const options = { horizonMs: 100, leaseMs: 400, pollMs: 50, concurrency: 1 };
    const a = scheduler(sa, 'node-a', options);
    const b = scheduler(sb, 'node-b', options);
    const runs = new Map<string, number>();
    const slow = async (t: FiredTimer) => {
      runs.set(t.key, (runs.get(t.key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 150));
    };
    a.register('slow', slow);
    b.register('slow', slow);
    for (let i = 0; i < 8; i++) await a.schedule(sa.db, { kind: 'slow', key: `slow-${i}`, dueAt: Date.now() });
    await a.start();
    await b.start();
    await until(() => a.firedCount + b.firedCount === 8, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect([...runs.values()]).toEqual(Array(8).fill(1));
    expect(b.firedCount).toBe(0);
  });

  it('a timer that came due while no scheduler ran fires right after start', async () => {
    const st = await storage();
    const first = await st.open();
    const offline = scheduler(first, 'n1');
    await offline.schedule(first.db, { kind: 'test', key: 'overdue', dueAt: Date.now() - 5000 });
    const sch = scheduler(first, 'n1');
    const { fired, handler } = recorder();
    sch.register('test', handler);
    const started = Date.now();
    await sch.start();
    await until(() => fired.length === 1);
    expect(fired[0]!.at - started).toBeLessThan(500);
  });

  it('after a crash the same node takes its claims back at once; another node waits for the lease', async () => {
    const st = await storage();
    const s = await st.open();
    const setup = scheduler(s, 'setup');
    await setup.schedule(s.db, { kind: 'test', key: 'claimed-by-dead-node', dueAt: Date.now() - 1000 });
    // What a node that died after claiming leaves behind: a lease far in the future.
    await s.db.updateTable('timers').set({ lease_owner: 'n1', lease_until: Date.now() + 3_600_000 }).execute();

    const other = scheduler(s, 'n2');
    const otherFired = recorder();
    other.register('test', otherFired.handler);
    await other.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(otherFired.fired).toHaveLength(0);

    const restarted = scheduler(s, 'n1');
    const { fired, handler } = recorder();
    restarted.register('test', handler);
    await restarted.start();
    await until(() => fired.length === 1);
    expect(otherFired.fired).toHaveLength(0);
  });

  it('a failing handler is retried with backoff', async () => {
    const s = await (await storage()).open();
    const errors: unknown[] = [];
    const sch = scheduler(s, 'n1', { onError: (err) => errors.push(err) });
    let calls = 0;
    sch.register('flaky', async () => {
      calls++;
      if (calls === 1) throw new Error('first attempt fails');
    });
    await sch.start();
    await sch.schedule(s.db, { kind: 'flaky', key: 'f', dueAt: Date.now() });
    await until(() => calls === 2, 4000);
    expect(errors).toHaveLength(1);
    await until(() => sch.firedCount === 1);
  });

  it('two nodes on one database fire 2,000 timers due at the same moment exactly once in total', async () => {
    const st = await storage();
    const [sa, sb] = [await st.open(), await st.open()];
    const a = scheduler(sa, 'node-a', { batchSize: 300 });
    const b = scheduler(sb, 'node-b', { batchSize: 300 });
    const seen = new Map<string, number>();
    const handler = async (t: FiredTimer) => void seen.set(t.key, (seen.get(t.key) ?? 0) + 1);
    a.register('test', handler);
    b.register('test', handler);
    const due = Date.now() + 1500;
    const rows = Array.from({ length: 2000 }, (_, i) => ({ kind: 'test', key: `same-second-${i}`, dueAt: due }));
    for (const row of rows) await a.schedule(sa.db, row);
    await Promise.all([a.start(), b.start()]);
    await until(() => seen.size === 2000, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(a.firedCount + b.firedCount).toBe(2000);
  });
});

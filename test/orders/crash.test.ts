import { afterAll, describe, expect, it } from 'vitest';
import { OrdersApi, type ParleyClient } from '../../sdk/index.js';
import { createNodeClient } from '../../sdk/node.js';
import { startChildServer, type ChildServer } from '../support/child.js';
import { freshStorage } from '../support/server.js';
import { codeOf, events, imCode, until } from './helpers.js';

describe('a pending verification survives kill -9', () => {
  let cleanup = async () => {};
  afterAll(() => cleanup());

  it('after a restart the code still confirms its order, and an unanswered code still expires on time', async () => {
    const storage = await freshStorage();
    // Long enough for the restart to finish before the codes expire, even on a loaded machine.
    const ttlMs = 20_000;
    const env = { DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '', PARLEY_NODE_ID: 'orders-crash', PARLEY_ORDER_CODE_TTL_MS: String(ttlMs) };
    let child: ChildServer = await startChildServer(env, 60_000);
    cleanup = async () => {
      if (child.proc.exitCode === null && child.proc.signalCode === null) await child.crash();
      await storage.drop();
    };
    const login = async (handle: string, register?: { kind?: 'provider'; by?: ParleyClient }) => {
      const c = createNodeClient({ baseUrl: child.url });
      if (register?.by) await register.by.request('POST', '/v1/accounts', { handle, displayName: handle, password: `password-${handle}`, kind: register.kind });
      else if (register) await c.register({ handle, displayName: handle, password: `password-${handle}` });
      await c.login(handle, `password-${handle}`);
      return c;
    };
    const admin = await login('admin', {});
    const provider = await login('shop', { kind: 'provider', by: admin });
    const buyer = await login('buyer', {});
    await new OrdersApi(provider).publish({ code: 'NEWS', name: 'News', price: 200, period: 'monthly' });
    await new OrdersApi(provider).publish({ code: 'GAME', name: 'Game', price: 300, period: 'once' });
    const kept = (await new OrdersApi(buyer).order({ service: 'NEWS' })).order;
    const abandoned = (await new OrdersApi(buyer).order({ service: 'GAME' })).order;
    expect([kept.status, abandoned.status]).toEqual(['pending', 'pending']);
    const code = await imCode(buyer, kept.id);

    await child.crash();
    child = await startChildServer(env, 60_000);
    const restartedAt = Date.now();
    const buyer2 = await login('buyer');
    const orders = new OrdersApi(buyer2);
    // A restart slower than the codes' life (a loaded machine) leaves them to expire, which the rest checks.
    if (Date.now() < Date.parse(kept.codeExpiresAt!) - 2000) {
      expect((await orders.get(abandoned.id)).status).toBe('pending');
      expect((await orders.confirm(kept.id, code)).status).toBe('active');
    }

    await until(async () => (await orders.get(abandoned.id)).status === 'expired', ttlMs + 10_000, 'abandoned order expired');
    const closed = (await events(buyer2, 'order.closed')).find((e) => e.data.order.id === abandoned.id)!;
    // On time: at the expiry, or right after the restart if the server was down then.
    expect(Date.parse(closed.at)).toBeGreaterThanOrEqual(Date.parse(abandoned.codeExpiresAt!));
    const lateness = Date.parse(closed.at) - Math.max(Date.parse(abandoned.codeExpiresAt!), restartedAt);
    expect(lateness).toBeLessThan(2000);
    expect(await codeOf(orders.confirm(abandoned.id, await imCode(buyer2, abandoned.id)))).toBe('ORDER_CODE_REJECTED');
    const credit = await new OrdersApi(await login('admin')).credit('shop');
    expect(credit.inputs.ordersPlaced + credit.inputs.failedVerifications).toBe(2);
    expect(credit.inputs.failedVerifications).toBeGreaterThanOrEqual(1);
  }, 90_000);
});

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyError } from '../../sdk/node.js';
import { freshPostgresDatabase, startTestServer, type TestServer } from '../support/server.js';
import { clusterSuiteRuns } from './helpers.js';

const runs = await clusterSuiteRuns();

type User = Awaited<ReturnType<TestServer['user']>>;

/**
 * Limits are counted in the shared database; what must hold is that requests racing on two nodes
 * at once cannot all pass the same count. Two in-process nodes on one PostgreSQL database.
 */
describe.runIf(runs)('cluster: rate limits and caps hold across nodes', () => {
  const nodes: TestServer[] = [];
  let database: { url: string; drop: () => Promise<void> };
  /** The first account: the administrator, who reads the outbox (verification codes). */
  let admin: User;

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    for (let i = 0; i < 2; i++) {
      nodes.push(await startTestServer({ databaseUrl: database.url, nodeId: `limits-${i}`, transfersPerMinute: 5, userQuotaBytes: 1_000_000, fallbackPerRecipientPerHour: 2, serviceRatePerMinute: 3 }));
    }
    admin = await nodes[0]!.user('limit-admin');
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await database?.drop();
  });

  /** The same user, logged in on both nodes. */
  async function userOnBoth(handle: string): Promise<[User, User]> {
    const [a, b] = nodes as [TestServer, TestServer];
    const onA = await a.user(handle);
    const onB = Object.assign(b.client(), { accountId: onA.accountId, handle });
    await onB.login(handle, `password-${handle}`, `${handle}-b`);
    return [onA, onB];
  }
  const outcomes = (settled: PromiseSettledResult<unknown>[]) =>
    settled.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof ParleyError ? r.reason.code : String(r.reason)));

  it('transfer requests per minute: 20 at once through two nodes, 5 allowed', async () => {
    const [onA, onB] = await userOnBoth('limit-files');
    await nodes[0]!.user('limit-files-peer');
    const conversation = await onA.openDirect('limit-files-peer');
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? onB : onA).requestTransfer({ sha256: createHash('sha256').update(`file ${i}`).digest('hex'), size: 1000, name: `f${i}.bin`, mime: 'application/octet-stream', to: conversation.id }),
      ),
    );
    const result = outcomes(settled);
    expect(result.filter((r) => r === 'ok')).toHaveLength(5);
    expect(result.filter((r) => r !== 'ok').every((r) => r === 'RATE_LIMITED')).toBe(true);
  });

  it('storage quota: two 600 kB files requested at once through two nodes with 1 MB left, one allowed', async () => {
    const [onA, onB] = await userOnBoth('limit-quota');
    await nodes[0]!.user('limit-quota-peer');
    const conversation = await onA.openDirect('limit-quota-peer');
    const settled = await Promise.allSettled(
      [onA, onB].map((client, i) =>
        client.requestTransfer({ sha256: createHash('sha256').update(`big file ${i}`).digest('hex'), size: 600_000, name: `big${i}.bin`, mime: 'application/octet-stream', to: conversation.id }),
      ),
    );
    expect(outcomes(settled).sort()).toEqual(['QUOTA_EXCEEDED', 'ok']);
  });

  it('fallback SMS per recipient per hour: fallbacks for 8 messages asked at once through two nodes, 2 go out', async () => {
    const [a] = nodes as [TestServer, TestServer];
    const recipient = await a.user('limit-recipient');
    const phone = '+4915112345688';
    await recipient.bindPhone(phone);
    const code = /(\d{6})/.exec((await admin.outbox({ channel: 'sms' })).find((i) => i.recipient === phone)!.body)![1]!;
    await recipient.verifyPhone(code);
    const [senderA, senderB] = await userOnBoth('limit-sender');
    const conversation = await senderA.openDirect('limit-recipient');
    const messages = [];
    for (let i = 0; i < 8; i++) messages.push(await senderA.send(conversation.id, { text: `m${i}`, fallback: 'ask' }));
    const settled = await Promise.allSettled(messages.map((m, i) => (i % 2 ? senderB : senderA).fallback(m.id)));
    const scheduled = settled.filter((r) => r.status === 'fulfilled' && r.value[0]?.outcome === 'scheduled');
    expect(scheduled).toHaveLength(2);
    expect(outcomes(settled).filter((r) => r !== 'ok').every((r) => r === 'RATE_LIMITED')).toBe(true);
  });

  it('service requests per user and minute: 12 menu clicks at once through two nodes, 3 accepted', async () => {
    const [userA, userB] = await userOnBoth('limit-clicker');
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => (i % 2 ? userB : userA).clickMenu('echo', 'echo.card')));
    const tasks = settled.map((r) => (r.status === 'fulfilled' ? r.value.failure ?? r.value.status : 'error'));
    expect(tasks.filter((t) => t !== 'rate_limited')).toHaveLength(3);
    expect(tasks.filter((t) => t === 'rate_limited')).toHaveLength(9);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyError, TransferState } from '../../sdk/node.js';
import { requestAndProve, testFile } from '../files/helpers.js';
import { fullHistory } from '../support/read.js';
import { freshPostgresDatabase, startTestServer, type TestServer } from '../support/server.js';
import { clusterSuiteRuns } from './helpers.js';

const runs = await clusterSuiteRuns();

/**
 * Two in-process nodes on one PostgreSQL database and one data directory (the shared volume of a
 * deployment): an upload is a row in the database plus bytes in that directory, so a client that
 * lands on another node after a disconnect resumes where it stopped.
 */
describe.runIf(runs)('cluster: uploads on a shared data directory', () => {
  const nodes: TestServer[] = [];
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'parley-cluster-uploads-'));
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer({ databaseUrl: database.url, dataDir, nodeId: `uploads-${i}` }));
  }, 60_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a tus upload started on node A resumes on node B from its offset; the file is delivered once, intact', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const aliceOnA = await a.user('alice');
    const bobOnB = Object.assign(b.client(), { accountId: (await a.user('bob')).accountId });
    await bobOnB.login('bob', 'password-bob', 'bob-on-b');
    const aliceOnB = b.client();
    await aliceOnB.login('alice', 'password-alice', 'alice-on-b');
    const room = (await aliceOnA.openDirect('bob')).id;

    const file = testFile(2 * 1024 * 1024);
    const half = file.bytes.length / 2;
    const { answer } = await requestAndProve(aliceOnA, room, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes });
    const target = (answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    await aliceOnA.upload(target.uploadUrl, file.blob.slice(0, half));
    expect(await aliceOnA.uploadOffset(target.uploadUrl)).toBe(half);

    // The client's next connection lands on node B.
    expect(await aliceOnB.uploadOffset(target.uploadUrl)).toBe(half);
    const sent: number[] = [];
    await aliceOnB.upload(target.uploadUrl, file.blob, { onProgress: (offset) => sent.push(offset) });
    expect(sent[0]).toBe(half);
    expect(sent.at(-1)).toBe(file.bytes.length);

    const state = await aliceOnA.transfer(target.transferId);
    expect(state.status).toBe('delivered');
    const received = (await fullHistory(bobOnB, room)).filter((m) => m.attachment?.sha256 === file.sha256);
    expect(received).toHaveLength(1);
    // Bytes written by both nodes, read back through either.
    for (const reader of [bobOnB, aliceOnA]) expect(Buffer.from(await reader.attachmentBytes(received[0]!.id)).equals(file.bytes)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/scheduler/clock.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { ParleyError, type TransferState } from '../../sdk/index.js';
import { fullHistory } from '../support/read.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectCode, requestAndProve, storedBlobs, testFile } from './helpers.js';

type Client = Awaited<ReturnType<TestServer['user']>>;
const PEER_TOKEN = 'private-node-credential-0123456789';

describe('private → central: a private node asks its central server before asking the client to upload', () => {
  let central: TestServer;
  let priv: TestServer;
  let carol: Client; // on the central server
  let dan: Client; // on the central server
  let alice: Client; // on the private server
  let bob: Client; // on the private server
  let centralRoom: string;
  let privateRoom: string;

  beforeAll(async () => {
    central = await startTestServer({ peerTokens: `other-token,${PEER_TOKEN}` });
    priv = await startTestServer({ upstreamUrl: central.url, upstreamToken: PEER_TOKEN });
    carol = await central.user('carol');
    dan = await central.user('dan');
    alice = await priv.user('alice');
    bob = await priv.user('bob');
    centralRoom = (await carol.openDirect('dan')).id;
    privateRoom = (await alice.openDirect('bob')).id;
  });
  afterAll(async () => {
    await priv?.close();
    await central?.close();
  });

  it('hit via the upstream: the central checks the proof, the private node pulls and verifies the bytes and delivers without upload', async () => {
    const file = testFile(2 * 1024 * 1024 + 5);
    const onCentral = await carol.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'shared.bin' });
    expect(onCentral.source).toBe('uploaded');
    expect((await storedBlobs(priv)).rows).not.toContain(file.sha256);

    const steps: string[] = [];
    const viaPrivate = await alice.sendFile(privateRoom, file.blob, { sha256: file.sha256, name: 'shared.bin', onStep: (s) => steps.push(s) });
    expect(steps).toEqual(['challenge', 'delivered']);
    expect(viaPrivate.source).toBe('upstream');
    expect(viaPrivate.message.attachment?.source).toBe('upstream');
    // Now held locally: the next sender on the private node is served from there.
    expect((await storedBlobs(priv)).files).toContain(file.sha256);
    const local = await bob.sendFile(privateRoom, file.blob, { sha256: file.sha256, name: 'again.bin' });
    expect(local.source).toBe('local');
    expect(Buffer.from(await bob.attachmentBytes(viaPrivate.message.id)).equals(file.bytes)).toBe(true);
  });

  it('a wrong proof is refused by the central too, and the private node pulls nothing', async () => {
    const file = testFile(300_000);
    await carol.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'only-central.bin' });
    const { first, answer } = await requestAndProve(bob, privateRoom, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes }, { proof: 'f'.repeat(64) });
    expect(first.status).toBe('challenge');
    expect((answer as ParleyError).code).toBe('PROOF_FAILED');
    expect((await storedBlobs(priv)).rows).not.toContain(file.sha256);
  });

  it('miss on both → upload to the private node → a second sender is challenged and gets it delivered', async () => {
    const file = testFile(1024 * 1024);
    const steps: string[] = [];
    const first = await alice.sendFile(privateRoom, file.blob, { sha256: file.sha256, name: 'new.bin', onStep: (s) => steps.push(s) });
    expect(steps).toEqual(['challenge', 'upload', 'delivered']);
    expect(first.source).toBe('uploaded');
    expect((await storedBlobs(central)).rows).not.toContain(file.sha256);

    const secondSteps: string[] = [];
    const second = await bob.sendFile(privateRoom, file.blob, { sha256: file.sha256, name: 'new.bin', onStep: (s) => secondSteps.push(s) });
    expect(secondSteps).toEqual(['challenge', 'delivered']);
    expect(second.source).toBe('local');
    expect((await fullHistory(alice, privateRoom)).filter((m) => m.attachment?.sha256 === file.sha256).map((m) => m.attachment!.source)).toEqual(['uploaded', 'local']);
  });

  it('the user picks the node: sending through the central directly works the same', async () => {
    const file = testFile(64 * 1024);
    const direct = await dan.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'direct.bin' });
    expect(direct.source).toBe('uploaded');
    expect((await storedBlobs(priv)).rows).not.toContain(file.sha256);
  });

  it("the user picks the node per send: 'private' keeps the lookup on this node, 'central' lets it ask the central", async () => {
    expect(await alice.fileSettings()).toEqual({ central: true, maxFileBytes: priv.config.maxFileBytes });
    expect((await carol.fileSettings()).central).toBe(false);

    const file = testFile(200_000);
    await carol.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'held-centrally.bin' });
    const steps: string[] = [];
    const kept = await alice.sendFile(privateRoom, file.blob, { sha256: file.sha256, name: 'kept.bin', via: 'private', onStep: (s) => steps.push(s) });
    // The central holds it, but was not asked: the bytes were uploaded here.
    expect(steps).toEqual(['challenge', 'upload', 'delivered']);
    expect(kept.source).toBe('uploaded');

    const other = testFile(150_000);
    await carol.sendFile(centralRoom, other.blob, { sha256: other.sha256, name: 'held-centrally-2.bin' });
    const through = await bob.sendFile(privateRoom, other.blob, { sha256: other.sha256, name: 'through.bin', via: 'central' });
    expect(through.source).toBe('upstream');

    const bad = await fetch(`${priv.url}/v1/transfers/x/proof`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ proof: 'a'.repeat(64), via: 'anywhere' }) });
    expect(bad.status).toBe(400);
  });

  it('the server-to-server endpoints need a peer credential', async () => {
    const file = testFile(10_000);
    await carol.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'x.bin' });
    const body = JSON.stringify({ size: 10_000, nonce: 'ab'.repeat(16), ranges: [{ offset: 0, length: 10 }], proof: 'a'.repeat(64) });
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${carol.token}`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers.authorization = authorization;
      const verify = await fetch(`${central.url}/v1/peer/blobs/${file.sha256}/verify`, { method: 'POST', headers, body });
      expect(verify.status).toBe(401);
      const get = await fetch(`${central.url}/v1/peer/blobs/${file.sha256}`, { headers });
      expect(get.status).toBe(401);
      await get.arrayBuffer();
    }
    // A node without PARLEY_PEER_TOKENS serves no peer at all.
    const res = await fetch(`${priv.url}/v1/peer/blobs/${file.sha256}`, { headers: { authorization: `Bearer ${PEER_TOKEN}` } });
    expect(res.status).toBe(401);
    // With the credential: ranges outside the file are bad input; a wrong proof is refused.
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${PEER_TOKEN}` };
    const outside = await fetch(`${central.url}/v1/peer/blobs/${file.sha256}/verify`, { method: 'POST', headers: auth, body: JSON.stringify({ size: 10_000, nonce: 'ab', ranges: [{ offset: 9_999, length: 2 }], proof: 'a'.repeat(64) }) });
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe('INVALID_RANGE');
    const wrong = await fetch(`${central.url}/v1/peer/blobs/${file.sha256}/verify`, { method: 'POST', headers: auth, body });
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('PROOF_FAILED');
    const pulled = await fetch(`${central.url}/v1/peer/blobs/${file.sha256}`, { headers: auth });
    expect(Buffer.from(await pulled.arrayBuffer()).equals(file.bytes)).toBe(true);
  });

  it('a negative cache keeps the private node from asking the central again and again for a missing file', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const { config } = loadConfig({ upstreamUrl: central.url, upstreamToken: PEER_TOKEN, upstreamMissTtlMs: 60_000 }, {});
    const client = new UpstreamClient(config, systemClock, counting);
    const missing = testFile(1000);
    const ranges = [{ offset: 0, length: 1000 }];
    expect(await client.verify(missing.sha256, 1000, 'ab', ranges, 'a'.repeat(64))).toBe('missing');
    expect(await client.verify(missing.sha256, 1000, 'ab', ranges, 'a'.repeat(64))).toBe('missing');
    expect(calls).toBe(1);
    expect(client.knownMissing(missing.sha256, 1000)).toBe(true);
    // A wrong credential or an unreachable central is not a miss: nothing cached.
    const stranger = new UpstreamClient({ ...config, upstreamToken: 'nope' }, systemClock, counting);
    expect(await stranger.verify(missing.sha256, 1000, 'ab', ranges, 'a'.repeat(64))).toBe('unavailable');
    expect(stranger.knownMissing(missing.sha256, 1000)).toBe(false);
    const down = new UpstreamClient({ ...config, upstreamUrl: 'http://127.0.0.1:9' }, systemClock);
    expect(await down.verify(missing.sha256, 1000, 'ab', ranges, 'a'.repeat(64))).toBe('unavailable');
  });

  it('an unreachable central means upload, not an error', async () => {
    const lonely = await startTestServer({ upstreamUrl: 'http://127.0.0.1:9', upstreamToken: 'x', upstreamTimeoutMs: 500 });
    try {
      const erin = await lonely.user('erin');
      const frank = await lonely.user('frank');
      const room = (await erin.openDirect('frank')).id;
      const file = testFile(20_000);
      const sent = await erin.sendFile(room, file.blob, { sha256: file.sha256, name: 'x.bin' });
      expect(sent.source).toBe('uploaded');
      void frank;
    } finally {
      await lonely.close();
    }
  });

  it('a hash alone gets nothing through the private node either', async () => {
    const file = testFile(50_000);
    await carol.sendFile(centralRoom, file.blob, { sha256: file.sha256, name: 'secret.bin' });
    const missing = testFile(50_000);
    const results: ParleyError[] = [];
    for (const f of [file, missing]) {
      const { answer } = await requestAndProve(bob, privateRoom, { sha256: f.sha256, size: 50_000, bytes: f.bytes }, { proof: '0'.repeat(64) });
      results.push(answer as ParleyError);
    }
    expect(results.map((e) => [e.code, e.status, Object.keys(e.details as TransferState).sort().join()])).toEqual([
      ['PROOF_FAILED', 403, 'expiresAt,offset,size,status,transferId,uploadUrl'],
      ['PROOF_FAILED', 403, 'expiresAt,offset,size,status,transferId,uploadUrl'],
    ]);
    await expectCode(bob.transfer('nope'), 'TRANSFER_NOT_FOUND');
  });
});

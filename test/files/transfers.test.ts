import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyError, type TransferState, type UploadTarget } from '../../sdk/index.js';
import { allEvents, fullHistory } from '../support/read.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectCode, leftovers, requestAndProve, sha256, storedBlobs, testFile } from './helpers.js';

type Client = Awaited<ReturnType<TestServer['user']>>;

describe('file transfer on one server', () => {
  let server: TestServer;
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let eve: Client;
  let conversation: string;

  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.user('alice');
    bob = await server.user('bob');
    carol = await server.user('carol');
    eve = await server.user('eve');
    conversation = (await alice.createGroup('files', [bob.accountId, carol.accountId])).id;
  });
  afterAll(() => server?.close());

  it('a new file is challenged, uploaded, stored once and delivered; a second sender proves possession and gets it delivered without upload', async () => {
    const file = testFile(3 * 1024 * 1024 + 17);
    const steps: string[] = [];
    const first = await alice.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'report.bin', onStep: (s) => steps.push(s) });
    expect(steps).toEqual(['challenge', 'upload', 'delivered']);
    expect(first.source).toBe('uploaded');
    expect(first.message.attachment).toEqual({ id: first.transferId, name: 'report.bin', mime: 'application/octet-stream', size: file.bytes.length, sha256: file.sha256, source: 'uploaded' });
    expect(first.message.text).toBe('');

    const bobSteps: string[] = [];
    const second = await bob.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'copy.bin', text: 'same again', onStep: (s) => bobSteps.push(s) });
    expect(bobSteps).toEqual(['challenge', 'delivered']);
    expect(second.source).toBe('local');
    expect(second.message.text).toBe('same again');

    // Who uploaded or proved these bytes before gets them delivered at once.
    const third = await alice.requestTransfer({ sha256: file.sha256, size: file.bytes.length, name: 'again.bin', mime: 'application/octet-stream', to: conversation });
    expect(third.status).toBe('delivered');
    expect(third.status === 'delivered' && third.source).toBe('local');

    const blobs = await storedBlobs(server);
    expect(blobs.rows.filter((h) => h === file.sha256)).toHaveLength(1);
    expect(blobs.files.filter((h) => h === file.sha256)).toHaveLength(1);
    expect(leftovers(server)).toEqual([]);

    // Every member's stream got each file message once; the bytes download intact.
    const history = await fullHistory(carol, conversation);
    expect(history.filter((m) => m.attachment?.sha256 === file.sha256).map((m) => m.attachment!.source)).toEqual(['uploaded', 'local', 'local']);
    const events = (await allEvents(carol)).filter((e) => e.type === 'message.new');
    expect(new Set(events.map((e) => (e.data as { message: { id: string } }).message.id)).size).toBe(events.length);
    expect(Buffer.from(await carol.attachmentBytes(first.message.id)).equals(file.bytes)).toBe(true);
  });

  it('a clientId makes a file send idempotent', async () => {
    const file = testFile(50_000);
    const once = await alice.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'once.bin', clientId: 'file-once-1' });
    const again = await alice.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'once.bin', clientId: 'file-once-1' });
    expect(again.message.id).toBe(once.message.id);
    expect((await fullHistory(bob, conversation)).filter((m) => m.clientId === 'file-once-1')).toHaveLength(1);
  });

  it('downloads: members only, content type, RFC 6266 file name, ETag, ranges, 304 and 416', async () => {
    const file = testFile(100_000);
    const sent = await alice.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'résumé "2024".pdf', mime: 'application/pdf' });
    const id = sent.message.id;

    const full = await bob.downloadAttachment(id);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('application/pdf');
    expect(full.headers.get('content-length')).toBe(String(file.bytes.length));
    expect(full.headers.get('etag')).toBe(`"${file.sha256}"`);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('content-disposition')).toBe(`attachment; filename="r_sum_ _2024_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%222024%22.pdf`);
    expect(full.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await full.arrayBuffer()).equals(file.bytes)).toBe(true);

    const part = await bob.downloadAttachment(id, { range: { start: 1000, end: 1999 } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${file.bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(file.bytes.subarray(1000, 2000))).toBe(true);

    const tail = await bob.downloadAttachment(id, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(file.bytes.subarray(file.bytes.length - 10))).toBe(true);

    const open = await bob.downloadAttachment(id, { range: { start: 99_990 } });
    expect(Buffer.from(await open.arrayBuffer()).equals(file.bytes.subarray(99_990))).toBe(true);

    expect((await bob.downloadAttachment(id, { headers: { 'if-none-match': `"${file.sha256}"` } })).status).toBe(304);
    // If-Range with another validator: the whole file.
    expect((await bob.downloadAttachment(id, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } })).status).toBe(200);
    const unsatisfiable = await expectCode(bob.downloadAttachment(id, { range: { start: file.bytes.length } }), 'RANGE_NOT_SATISFIABLE');
    expect(unsatisfiable.status).toBe(416);

    const inline = await bob.downloadAttachment(id, { headers: {} });
    expect(inline.headers.get('content-disposition')).toMatch(/^attachment;/);

    // Not a member, not logged in, a message without a file, a message that does not exist.
    await expectCode(eve.downloadAttachment(id), 'NOT_A_MEMBER');
    const anonymous = server.client();
    await expectCode(anonymous.downloadAttachment(id), 'UNAUTHENTICATED');
    const text = await alice.send(conversation, { text: 'no file here' });
    await expectCode(bob.downloadAttachment(text.id), 'NO_ATTACHMENT');
    await expectCode(bob.downloadAttachment('00000000-0000-7000-8000-000000000000'), 'MESSAGE_NOT_FOUND');

    // A member who joined later does not see earlier messages, nor their files.
    const late = await server.user('late');
    await alice.addMember(conversation, late.accountId);
    await expectCode(late.downloadAttachment(id), 'MESSAGE_NOT_FOUND');
  });

  it('a hash alone gets nothing: the answers do not reveal whether the server holds the bytes, a guessed proof and a forged upload fail', async () => {
    const held = testFile(200_000);
    await alice.sendFile(conversation, held.blob, { sha256: held.sha256, name: 'secret.bin' });
    const missing = testFile(200_000);
    const eveRoom = (await eve.openDirect('carol')).id;
    const before = await storedBlobs(server);
    const historyBefore = (await fullHistory(carol, eveRoom)).length;

    // Eve knows both hashes, holds neither file.
    const forged = '0'.repeat(64);
    const forHeld = await requestAndProve(eve, eveRoom, { sha256: held.sha256, size: held.bytes.length, bytes: held.bytes }, { proof: forged });
    const forMissing = await requestAndProve(eve, eveRoom, { sha256: missing.sha256, size: missing.bytes.length, bytes: missing.bytes }, { proof: forged });
    for (const { first, answer } of [forHeld, forMissing]) {
      expect(first.status).toBe('challenge');
      expect(answer).toBeInstanceOf(ParleyError);
      expect((answer as ParleyError).code).toBe('PROOF_FAILED');
      expect((answer as ParleyError).status).toBe(403);
    }
    const shape = (r: typeof forHeld) => {
      const first = r.first as Extract<TransferState, { status: 'challenge' }>;
      const err = r.answer as ParleyError;
      const details = err.details as Extract<TransferState, { status: 'upload' }>;
      return { ranges: first.ranges.length, keys: Object.keys(first).sort(), message: err.message, detailKeys: Object.keys(details).sort(), status: details.status, offset: details.offset };
    };
    expect(shape(forHeld)).toEqual(shape(forMissing));

    // Uploading other bytes under the held hash fails verification.
    const upload = (forHeld.answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    const garbage = testFile(held.bytes.length);
    await expectCode(eve.upload(upload.uploadUrl, garbage.blob), 'TRANSFER_HASH_MISMATCH');
    expect(await eve.transfer(upload.transferId)).toMatchObject({ status: 'failed', reason: 'hash mismatch' });

    // Nothing delivered, nothing stored, nothing left behind, and no way to the bytes.
    expect((await fullHistory(carol, eveRoom)).length).toBe(historyBefore);
    expect(await storedBlobs(server)).toEqual(before);
    expect(leftovers(server).filter((f) => f.includes(upload.transferId))).toEqual([]);
    // Another user's transfer and upload are as unknown as missing ones.
    await expectCode(bob.transfer(upload.transferId), 'TRANSFER_NOT_FOUND');
    await expectCode(bob.uploadOffset(upload.uploadUrl), 'TRANSFER_NOT_FOUND');
  });

  it('wrong proof, wrong size and a hash mismatch after upload are refused: nothing delivered, nothing stored', async () => {
    const file = testFile(500_000);
    await alice.sendFile(conversation, file.blob, { sha256: file.sha256, name: 'a.bin' });
    const messagesBefore = (await fullHistory(bob, conversation)).length;
    const blobsBefore = await storedBlobs(server);

    // Wrong proof for bytes the server holds.
    const wrong = await requestAndProve(bob, conversation, { sha256: file.sha256, size: file.bytes.length, bytes: testFile(file.bytes.length).bytes });
    expect((wrong.answer as ParleyError).code).toBe('PROOF_FAILED');
    // The answer to the same proof again does not change; the challenge is spent.
    await expectCode(bob.proveTransfer(wrong.first.transferId, '1'.repeat(64)), 'PROOF_FAILED');

    // Right hash, wrong size: the proof cannot be confirmed.
    const resized = await requestAndProve(bob, conversation, { sha256: file.sha256, size: file.bytes.length - 1, bytes: file.bytes.subarray(0, file.bytes.length - 1) });
    expect((resized.answer as ParleyError).code).toBe('PROOF_FAILED');
    // …and uploading more bytes than declared is refused by the upload.
    const target = (resized.answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    await expect(bob.upload(target.uploadUrl, file.blob)).rejects.toMatchObject({ status: 413 });

    // The client lied about the hash: the upload completes but does not verify.
    const real = testFile(300_000);
    const lie = await requestAndProve(bob, conversation, { sha256: sha256(Buffer.from('something else')), size: real.bytes.length, bytes: real.bytes });
    const lieUpload = (lie.answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    await expectCode(bob.upload(lieUpload.uploadUrl, real.blob), 'TRANSFER_HASH_MISMATCH');
    await expectCode(bob.upload(lieUpload.uploadUrl, real.blob), 'TRANSFER_CLOSED');

    expect((await fullHistory(bob, conversation)).length).toBe(messagesBefore);
    expect(await storedBlobs(server)).toEqual(blobsBefore);
    expect(leftovers(server).filter((f) => f.includes(lieUpload.transferId))).toEqual([]);
  });

  it('an interrupted upload resumes from its offset and is delivered once', async () => {
    const file = testFile(4 * 1024 * 1024);
    const { answer } = await requestAndProve(alice, conversation, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes });
    const target = (answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    const controller = new AbortController();
    const progress: number[] = [];
    await expect(
      alice.upload(target.uploadUrl, file.blob, {
        chunkSize: 1024 * 1024,
        signal: controller.signal,
        onProgress: (sent) => {
          progress.push(sent);
          if (sent >= file.bytes.length / 2) controller.abort();
        },
      }),
    ).rejects.toThrow();
    expect(await alice.uploadOffset(target.uploadUrl)).toBe(file.bytes.length / 2);
    await alice.upload(target.uploadUrl, file.blob, { onProgress: (sent) => progress.push(sent) });
    expect(progress.at(-1)).toBe(file.bytes.length);
    const state = await alice.transfer(target.transferId);
    expect(state.status).toBe('delivered');
    // Resuming after completion reports it complete instead of failing.
    expect(await alice.uploadOffset(target.uploadUrl)).toBe(file.bytes.length);
    await alice.upload(target.uploadUrl, file.blob);
    expect((await fullHistory(bob, conversation)).filter((m) => m.attachment?.sha256 === file.sha256)).toHaveLength(1);
    expect(Buffer.from(await bob.attachmentBytes((state as { message: { id: string } }).message.id)).equals(file.bytes)).toBe(true);
  });

  it('sendFile pauses with its signal and resumes with `resume` from the server offset, not from byte 0', async () => {
    const file = testFile(3 * 1024 * 1024);
    const controller = new AbortController();
    let target: Pick<UploadTarget, 'transferId' | 'uploadUrl'> | undefined;
    const options = {
      sha256: file.sha256,
      name: 'paused.bin',
      chunkSize: 1024 * 1024,
      signal: controller.signal,
      onStep: (_step: string, s: TransferState) => {
        if (s.status === 'upload') target = s;
      },
      onProgress: (sent: number) => {
        if (sent >= 1024 * 1024) controller.abort();
      },
    };
    await expect(alice.sendFile(conversation, file.blob, options)).rejects.toThrow();
    expect(await alice.uploadOffset(target!.uploadUrl)).toBe(1024 * 1024);

    const sent: number[] = [];
    const steps: string[] = [];
    const delivered = await alice.sendFile(conversation, file.blob, { ...options, signal: undefined, resume: target, onProgress: (n) => sent.push(n), onStep: (s) => steps.push(s) });
    expect(sent[0]).toBe(1024 * 1024);
    expect(steps).toEqual(['delivered']);
    expect(delivered.source).toBe('uploaded');
    expect(delivered.transferId).toBe(target!.transferId);
    expect((await fullHistory(bob, conversation)).filter((m) => m.attachment?.sha256 === file.sha256)).toHaveLength(1);
  });

  it('an upload aborted in the middle of a request resumes from what reached the disk', async () => {
    const file = testFile(8 * 1024 * 1024);
    const { answer } = await requestAndProve(carol, conversation, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes });
    const target = (answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    // A body that sends half of the file, then stalls until the client gives up.
    const controller = new AbortController();
    const half = file.bytes.length / 2;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < half; at += 256 * 1024) c.enqueue(file.bytes.subarray(at, Math.min(half, at + 256 * 1024)));
      },
    });
    const patch = fetch(server.url + target.uploadUrl, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${carol.token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body,
      signal: controller.signal,
      duplex: 'half',
    } as RequestInit);
    const deadline = Date.now() + 10_000;
    // The server holds the upload's lock while the request is open; its offset shows once it ends.
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const { size } = await import('node:fs/promises').then((fs) => fs.stat(`${server.config.dataDir}/blobs/tmp/uploads/${target.transferId}`));
      if (size >= half) break;
    }
    controller.abort();
    await patch.catch(() => {});
    let offset = 0;
    while (Date.now() < deadline) {
      offset = await carol.uploadOffset(target.uploadUrl).catch(() => -1);
      if (offset === half) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(offset).toBe(half);
    await carol.upload(target.uploadUrl, file.blob);
    const state = await carol.transfer(target.transferId);
    expect(state).toMatchObject({ status: 'delivered', source: 'uploaded' });
    expect(Buffer.from(await alice.attachmentBytes((state as { message: { id: string } }).message.id)).equals(file.bytes)).toBe(true);
  });

  it('concurrent uploads of the same new file by two users store one blob and deliver both', async () => {
    const file = testFile(6 * 1024 * 1024);
    const [a, b] = await Promise.all([alice, bob].map((c) => requestAndProve(c, conversation, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes })));
    const ta = (a!.answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    const tb = (b!.answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    await Promise.all([alice.upload(ta.uploadUrl, file.blob, { chunkSize: 1024 * 1024 }), bob.upload(tb.uploadUrl, file.blob, { chunkSize: 1024 * 1024 })]);
    const states = await Promise.all([alice.transfer(ta.transferId), bob.transfer(tb.transferId)]);
    expect(states.map((s) => s.status === 'delivered' && s.source)).toEqual(['uploaded', 'uploaded']);
    const blobs = await storedBlobs(server);
    expect(blobs.rows.filter((h) => h === file.sha256)).toHaveLength(1);
    expect(blobs.files.filter((h) => h === file.sha256)).toHaveLength(1);
    expect(leftovers(server).filter((f) => f.includes(ta.transferId) || f.includes(tb.transferId))).toEqual([]);
  });

  it('bad input gets clear codes and stores nothing', async () => {
    const file = testFile(1000);
    const base = { sha256: file.sha256, size: 1000, name: 'x.bin', mime: 'application/octet-stream', to: conversation };
    const before = await server.app.services.storage.db.selectFrom('transfers').select('id').execute();
    await expectCode(alice.requestTransfer({ ...base, sha256: 'ABC' }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, sha256: file.sha256.toUpperCase() }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, size: 0 }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, size: -5 }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, size: 1.5 }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, size: server.config.maxFileBytes + 1 }), 'FILE_TOO_LARGE');
    await expectCode(alice.requestTransfer({ ...base, name: '../etc/passwd' }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, name: 'a\nb' }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, name: '' }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, mime: 'not a type' }), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, extra: 1 } as never), 'VALIDATION_FAILED');
    await expectCode(alice.requestTransfer({ ...base, to: 'no-such-conversation' }), 'NOT_A_MEMBER');
    await expectCode(eve.requestTransfer(base), 'NOT_A_MEMBER');
    await expectCode(alice.proveTransfer('no-such-transfer', 'a'.repeat(64)), 'TRANSFER_NOT_FOUND');
    await expectCode(alice.request('POST', '/v1/transfers/x/proof', { proof: 'xyz' }), 'VALIDATION_FAILED');
    await expectCode(alice.request('POST', '/v1/transfers', undefined), 'VALIDATION_FAILED');
    const after = await server.app.services.storage.db.selectFrom('transfers').select('id').execute();
    expect(after.length).toBe(before.length);
    // tus requests without the protocol header, or to a transfer that is not open for upload.
    const challenge = await alice.requestTransfer(base);
    const res = await fetch(`${server.url}/v1/uploads/${challenge.transferId}`, { method: 'HEAD', headers: { authorization: `Bearer ${alice.token}` } });
    expect(res.status).toBe(409);
    await expectCode(alice.uploadOffset('/v1/uploads/no-such-upload'), 'TRANSFER_NOT_FOUND');
  });
});

describe('file transfer limits', () => {
  let server: TestServer;
  afterAll(() => server?.close());

  it('quota, rate limit, challenge expiry, upload expiry and garbage collection', async () => {
    server = await startTestServer({ userQuotaBytes: 1_000_000, transfersPerMinute: 6, challengeTtlMs: 1000, uploadExpiryMs: 1000, blobGcGraceMs: 0 });
    const alice = await server.user('alice');
    const bob = await server.user('bob');
    const room = (await alice.openDirect('bob')).id;

    const big = testFile(700_000);
    const sent = await alice.sendFile(room, big.blob, { sha256: big.sha256, name: 'big.bin' });
    // The same file again costs nothing; another 700 kB would exceed the 1 MB quota.
    await expect(alice.sendFile(room, big.blob, { sha256: big.sha256, name: 'big.bin' })).resolves.toMatchObject({ source: 'local' });
    const other = testFile(700_000);
    await expectCode(alice.sendFile(room, other.blob, { sha256: other.sha256, name: 'other.bin' }), 'QUOTA_EXCEEDED');

    // A challenge not answered in time expires.
    const small = testFile(10_000);
    const challenge = await bob.requestTransfer({ sha256: small.sha256, size: 10_000, name: 's.bin', mime: 'application/octet-stream', to: room });
    await new Promise((r) => setTimeout(r, 1100));
    await expectCode(bob.proveTransfer(challenge.transferId, 'a'.repeat(64)), 'CHALLENGE_EXPIRED');

    // An abandoned upload expires (durable timer): its partial bytes are deleted, it cannot resume.
    const { answer } = await requestAndProve(bob, room, { sha256: small.sha256, size: 10_000, bytes: small.bytes });
    const target = (answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;
    // Half of the bytes, then nothing more.
    await bob.upload(target.uploadUrl, new Blob([new Uint8Array(small.bytes.subarray(0, 5000))]));
    expect(await bob.uploadOffset(target.uploadUrl)).toBe(5000);
    const waitUntil = Date.now() + 8000;
    // The transfer reads `expired` as soon as that is committed; its partial files go right after.
    const partials = () => leftovers(server).filter((f) => f.includes(target.transferId));
    let state = await bob.transfer(target.transferId);
    while ((state.status !== 'expired' || partials().length > 0) && Date.now() < waitUntil) {
      await new Promise((r) => setTimeout(r, 200));
      state = await bob.transfer(target.transferId);
    }
    expect(state).toMatchObject({ status: 'expired', reason: 'upload abandoned' });
    expect(partials()).toEqual([]);
    await expectCode(bob.uploadOffset(target.uploadUrl), 'TRANSFER_CLOSED');

    // Rate limit on transfer requests: 6 per user and minute (alice made 2 so far).
    for (let i = 0; i < 6; i++) await alice.requestTransfer({ sha256: small.sha256, size: 10_000, name: 's.bin', mime: 'application/octet-stream', to: room }).catch(() => {});
    await expectCode(alice.requestTransfer({ sha256: small.sha256, size: 10_000, name: 's.bin', mime: 'application/octet-stream', to: room }), 'RATE_LIMITED');

    // Garbage collection: a blob still referenced stays; once its messages are deleted it goes.
    let gc = await server.app.services.files.collectGarbage();
    expect((await storedBlobs(server)).rows).toContain(big.sha256);
    for (const m of await fullHistory(alice, room)) if (m.attachment?.sha256 === big.sha256) await alice.deleteMessage(m.id);
    gc = await server.app.services.files.collectGarbage();
    expect(gc.blobs).toBe(1);
    expect(await storedBlobs(server)).toEqual({ rows: [], files: [] });
    await expectCode(bob.downloadAttachment(sent.message.id), 'NO_ATTACHMENT');
  });
});

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeClient, ParleyError, type TransferState } from '../../sdk/node.js';
import { startChildServer, type ChildServer } from '../support/child.js';
import { fullHistory } from '../support/read.js';
import { freshStorage } from '../support/server.js';
import { requestAndProve, testFile } from './helpers.js';

describe('upload across a crash', () => {
  const children: ChildServer[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const child of children) if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    for (const cleanup of cleanups) await cleanup();
  });

  it('an upload interrupted at 50 % by kill -9 resumes from its offset after restart and is delivered once', { timeout: 90_000 }, async () => {
    const storage = await freshStorage();
    cleanups.push(storage.drop);
    const dataDir = storage.overrides.dataDir!;
    const env = { DATA_DIR: dataDir, DATABASE_URL: storage.overrides.databaseUrl ?? '', PARLEY_NODE_ID: 'upload-crash' };

    let child = await startChildServer(env);
    children.push(child);
    const alice = createNodeClient({ baseUrl: child.url });
    await alice.register({ handle: 'alice', displayName: 'Alice', password: 'password-alice' });
    await alice.login('alice', 'password-alice', 'laptop');
    const bob = createNodeClient({ baseUrl: child.url });
    await bob.register({ handle: 'bob', displayName: 'Bob', password: 'password-bob' });
    await bob.login('bob', 'password-bob', 'phone');
    const room = (await alice.openDirect('bob')).id;

    const file = testFile(16 * 1024 * 1024);
    const half = file.bytes.length / 2;
    const { answer } = await requestAndProve(alice, room, { sha256: file.sha256, size: file.bytes.length, bytes: file.bytes });
    const target = (answer as ParleyError).details as Extract<TransferState, { status: 'upload' }>;

    // One PATCH carrying the whole file, of which only the first half is ever sent: the server
    // is killed while the request is still open.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < half; at += 256 * 1024) c.enqueue(file.bytes.subarray(at, at + 256 * 1024));
      },
    });
    const patch = fetch(child.url + target.uploadUrl, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(file.bytes.length) },
      body,
      duplex: 'half',
    } as RequestInit).catch((err: Error) => err);
    const partial = join(dataDir, 'blobs', 'tmp', 'uploads', target.transferId);
    const deadline = Date.now() + 15_000;
    while ((await stat(partial)).size < half) {
      if (Date.now() > deadline) throw new Error('the first half never reached the disk');
      await new Promise((r) => setTimeout(r, 50));
    }
    await child.crash();
    expect(await patch).toBeInstanceOf(Error);

    child = await startChildServer(env);
    children.push(child);
    const alice2 = createNodeClient({ baseUrl: child.url });
    await alice2.login('alice', 'password-alice', 'laptop-again');
    const bob2 = createNodeClient({ baseUrl: child.url });
    await bob2.login('bob', 'password-bob', 'phone-again');

    expect(await alice2.uploadOffset(target.uploadUrl)).toBe(half);
    expect((await alice2.transfer(target.transferId)).status).toBe('upload');
    const progress: number[] = [];
    await alice2.upload(target.uploadUrl, file.blob, { onProgress: (sent) => progress.push(sent) });
    expect(progress[0]).toBe(half);
    const state = await alice2.transfer(target.transferId);
    expect(state).toMatchObject({ status: 'delivered', source: 'uploaded' });

    // Delivered once, intact; resuming again changes nothing.
    await alice2.upload(target.uploadUrl, file.blob);
    const files = (await fullHistory(bob2, room)).filter((m) => m.attachment !== null);
    expect(files).toHaveLength(1);
    expect(files[0]!.attachment).toMatchObject({ sha256: file.sha256, size: file.bytes.length, source: 'uploaded' });
    expect(Buffer.from(await bob2.attachmentBytes(files[0]!.id)).equals(file.bytes)).toBe(true);
  });
});

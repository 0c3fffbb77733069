import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestService, type CreatedService, type LeasedTask, type Message, type ParleyClient, type ParleyError } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createService, openStream, type User } from './helpers.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Replies whose image, video or audio are bytes already in Parley's file store, not a URL. */
describe('service replies with media from the file store', () => {
  let server: TestServer;
  let admin: User;
  let svc: CreatedService & { client: ParleyClient };
  /** Bytes the service sent once (to the administrator), so it holds them. */
  const logo = randomBytes(4096);
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.user('admin');
    svc = await createService(server, admin, { handle: 'gallery', displayName: 'Gallery', handler: { type: 'workers' } });
    const library = await svc.client.openDirect(admin.accountId);
    await svc.client.sendFile(library.id, new Blob([logo]), { sha256: sha256(logo), name: 'logo.png', mime: 'image/png' });
  });
  afterAll(async () => server?.close());

  /** A request from a new user, leased by the service's worker. */
  async function request(): Promise<{ user: User; task: LeasedTask; conversationId: string }> {
    const user = await server.user(`viewer${++n}`);
    const stream = await openStream(user);
    const conversation = await user.openDirect('gallery');
    await requestService(user, stream, { conversationId: conversation.id, text: 'show me' });
    stream.close();
    const [task] = await svc.client.pullTasks({ max: 1 });
    return { user, task: task!, conversationId: conversation.id };
  }

  it('a reply naming bytes the service holds arrives as that file: the user downloads it with their own session, a stranger cannot', async () => {
    const { user, task, conversationId } = await request();
    const message = await svc.client.replyTask(task.id, task.replyToken, { type: 'image', sha256: sha256(logo), mime: 'image/png', name: 'logo.png', caption: 'Our logo' }, true);
    expect(message.content).toMatchObject({ type: 'image', sha256: sha256(logo), caption: 'Our logo', requestId: task.id });
    expect(message.attachment).toMatchObject({ sha256: sha256(logo), size: logo.length, mime: 'image/png', name: 'logo.png' });
    const [seen] = (await user.history(conversationId, { limit: 1 })).messages as Message[];
    expect(seen?.id).toBe(message.id);
    expect(Buffer.from(await user.attachmentBytes(message.id)).equals(logo)).toBe(true);
    const stranger = await server.user(`stranger${++n}`);
    expect(await stranger.attachmentBytes(message.id).then(() => 'ok', (err: ParleyError) => err.status)).toBeGreaterThanOrEqual(403);
  });

  it('a hash the service does not hold is refused with REPLY_FILE_NOT_FOUND and nothing is sent: unknown bytes, or bytes only a user sent', async () => {
    const { user, task, conversationId } = await request();
    // The user's own upload: in the store, but the service never held it.
    const secret = randomBytes(2048);
    await user.sendFile(conversationId, new Blob([secret]), { sha256: sha256(secret), name: 'secret.bin', mime: 'application/octet-stream' });
    const before = (await user.history(conversationId, { limit: 50 })).messages.length;
    for (const hash of [sha256(randomBytes(16)), sha256(secret)]) {
      const code = await svc.client.replyTask(task.id, task.replyToken, { type: 'audio', sha256: hash, mime: 'audio/wav' }).then(() => 'ok', (err: ParleyError) => err.code);
      expect(code).toBe('REPLY_FILE_NOT_FOUND');
    }
    expect((await user.history(conversationId, { limit: 50 })).messages.length).toBe(before);
    // The request is still open: a reply with bytes it holds goes through.
    await svc.client.replyTask(task.id, task.replyToken, { type: 'video', sha256: sha256(logo), mime: 'video/webm' }, true);
  });

  it('a media reply with both a URL and a hash, or a malformed hash, does not match the schema', async () => {
    const { task } = await request();
    for (const content of [
      { type: 'image', url: 'https://example.com/a.png', sha256: sha256(logo), mime: 'image/png' },
      { type: 'image', sha256: 'ABC', mime: 'image/png' },
      { type: 'image', sha256: sha256(logo) },
    ]) {
      const code = await svc.client.request('POST', `/v1/tasks/${task.id}/replies`, { token: task.replyToken, content }).then(() => 'ok', (err: ParleyError) => err.code);
      expect([content, code]).toEqual([content, 'VALIDATION_FAILED']);
    }
  });
});

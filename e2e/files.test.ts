/**
 * Files in the web app, in Chromium against a real server: a file is hashed in a worker, uploaded
 * (with progress), received and downloaded byte for byte on the other side; an image shows a
 * preview; the same bytes sent again go "instantly" without an upload; an upload paused midway
 * resumes from the server's offset.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { chromiumAvailable, launchChromium, newPage, screenshot, signUp, startDirectChat, until } from './support/browser.js';
import { png } from './support/media.js';

const run = chromiumAvailable();

const PNG = png(160, 96);

const fileMessages = (page: Page, name: string) => page.locator('article.msg[data-message-id]', { has: page.getByTestId('attachment').filter({ hasText: name }) });

async function attach(page: Page, name: string, mimeType: string, buffer: Buffer): Promise<void> {
  await page.getByTestId('attach-input').setInputFiles({ name, mimeType, buffer });
}

/** Resolves when `count` file messages named `name` are on the page, with the newest one's source badge. */
async function newestSource(page: Page, name: string, count: number): Promise<string | null> {
  await until(`${count} messages with ${name}`, async () => (await fileMessages(page, name).count()) === count);
  return fileMessages(page, name).last().getByTestId('attachment-source').getAttribute('data-source');
}

describe.skipIf(!run)('files in the web app', { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
    alice = await newPage(browser, server.url);
    bob = await newPage(browser, server.url);
    await signUp(alice.page, 'alice', 'Alice');
    await signUp(bob.page, 'bob', 'Bob');
    await startDirectChat(alice.page, 'bob');
    await alice.page.getByLabel(/^Message to/).fill('Files coming');
    await alice.page.getByLabel(/^Message to/).press('Enter');
    await bob.page.getByTestId('conversation-list').getByRole('link', { name: /^Alice/ }).click();
    await bob.page.getByTestId('messages').getByText('Files coming').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sends a file: hashed in a worker, uploaded, downloaded by the recipient; the second send is instant', async () => {
    // Over the worker's 4 MiB read size, so the hash is built from more than one piece.
    const bytes = randomBytes(4 * 1024 * 1024 + 123);
    const workers: string[] = [];
    alice.page.on('worker', (w) => workers.push(w.url()));

    await attach(alice.page, 'report.bin', 'application/octet-stream', bytes);
    expect(await newestSource(alice.page, 'report.bin', 1)).toBe('uploaded');
    // This server has no central server: there is nothing to choose.
    await alice.page.getByRole('button', { name: 'Send options' }).click();
    await alice.page.getByRole('group', { name: 'Send options' }).waitFor();
    expect(await alice.page.getByRole('group', { name: 'Send files through' }).count()).toBe(0);
    await alice.page.getByRole('button', { name: 'Send options' }).click();
    // The hash was computed off the main thread.
    expect(workers.some((url) => url.includes('hash.worker'))).toBe(true);

    // Bob sees it and downloads exactly these bytes.
    const received = fileMessages(bob.page, 'report.bin');
    await received.waitFor();
    expect(await received.textContent()).toContain('4.0 MB');
    const [download] = await Promise.all([bob.page.waitForEvent('download'), received.getByRole('button', { name: 'Download report.bin' }).click()]);
    expect(download.suggestedFilename()).toBe('report.bin');
    expect(Buffer.compare(await readFile((await download.path())!), bytes)).toBe(0);

    // The same file again: no upload, a "sent instantly" badge.
    const patches: Request[] = [];
    const onRequest = (r: Request) => void (r.method() === 'PATCH' && patches.push(r));
    alice.page.on('request', onRequest);
    await attach(alice.page, 'report.bin', 'application/octet-stream', bytes);
    expect(await newestSource(alice.page, 'report.bin', 2)).toBe('local');
    expect(await fileMessages(alice.page, 'report.bin').last().getByTestId('attachment-source').textContent()).toContain('Sent instantly');
    alice.page.off('request', onRequest);
    expect(patches).toHaveLength(0);

    // Bob holds the bytes too: after proving it, his send is instant as well.
    await attach(bob.page, 'copy.bin', 'application/octet-stream', bytes);
    expect(await newestSource(bob.page, 'copy.bin', 1)).toBe('local');
    await fileMessages(alice.page, 'copy.bin').waitFor();
    await screenshot(alice.page, '20-files-alice');
  });

  it('shows an image preview to both sides, loaded with the session token', async () => {
    await attach(alice.page, 'picture.png', 'image/png', PNG);
    for (const page of [alice.page, bob.page]) {
      const img = fileMessages(page, 'picture.png').getByTestId('attachment-preview');
      await img.waitFor();
      await until('the preview decoded', () => img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth === 160));
      expect(await img.getAttribute('alt')).toBe('picture.png');
    }
    await screenshot(bob.page, '21-files-image-bob');
  });

  it('a file dropped on the chat is sent', async () => {
    await alice.page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped on the chat'], 'dropped.txt', { type: 'text/plain' }));
      const target = document.querySelector('[data-testid="messages"]')!;
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    expect(await newestSource(alice.page, 'dropped.txt', 1)).toBe('uploaded');
    await fileMessages(bob.page, 'dropped.txt').waitFor();
  });

  it('pauses an upload and resumes it from the server offset', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const offsets: number[] = [];
    // The first chunk goes through; the next one waits at the "network" until the test lets it go.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await alice.page.route('**/v1/uploads/**', async (route) => {
      const request = route.request();
      if (request.method() === 'PATCH') {
        offsets.push(Number(request.headers()['upload-offset']));
        if (offsets.length > 1) await gate;
      }
      await route.continue().catch(() => {});
    });

    await attach(alice.page, 'big.bin', 'application/octet-stream', bytes);
    const row = alice.page.getByTestId('outgoing-file').filter({ hasText: 'big.bin' });
    await until('the second chunk is held', () => offsets.length === 2);
    expect(await row.getByTestId('transfer-status').textContent()).toMatch(/^Uploading \d+%$/);
    await row.getByRole('button', { name: 'Pause' }).click();
    await until('paused', async () => (await row.getAttribute('data-phase')) === 'paused');
    expect(await row.getByTestId('transfer-status').textContent()).toMatch(/^Paused 33%$/);
    await screenshot(alice.page, '22-files-paused');

    release();
    await alice.page.unroute('**/v1/uploads/**');
    const resumed: number[] = [];
    alice.page.on('request', (r) => void (r.method() === 'PATCH' && resumed.push(Number(r.headers()['upload-offset']))));
    await row.getByRole('button', { name: 'Resume' }).click();
    expect(await newestSource(alice.page, 'big.bin', 1)).toBe('uploaded');
    // Resumed where the server was, not from the start.
    expect(resumed[0]).toBe(1024 * 1024);

    const [download] = await Promise.all([bob.page.waitForEvent('download'), fileMessages(bob.page, 'big.bin').getByRole('button', { name: 'Download big.bin' }).click()]);
    expect(Buffer.compare(await readFile((await download.path())!), bytes)).toBe(0);
  });

  it('an upload that loses the network waits, then goes on from the server offset by itself', async () => {
    const page = alice.page;
    const bytes = randomBytes(2 * 1024 * 1024 + 7);
    const offsets: number[] = [];
    let held: Route | undefined;
    await page.route('**/v1/uploads/**', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      offsets.push(Number(route.request().headers()['upload-offset']));
      if (offsets.length === 2) held = route;
      else await route.continue();
    });
    await attach(page, 'flaky.bin', 'application/octet-stream', bytes);
    const row = page.getByTestId('outgoing-file').filter({ hasText: 'flaky.bin' });
    await until('the second chunk is on its way', () => held);
    await alice.context.setOffline(true);
    await held!.abort('internetdisconnected');
    await until('waiting for the network', async () => (await row.getAttribute('data-phase')) === 'waiting');
    expect(await row.getByTestId('transfer-status').textContent()).toMatch(/^Waiting for the network \d+%$/);

    await alice.context.setOffline(false);
    expect(await newestSource(page, 'flaky.bin', 1)).toBe('uploaded');
    await page.unroute('**/v1/uploads/**');
    // First chunk, the lost one, then the same one again from where the server was.
    expect(offsets).toEqual([0, 1024 * 1024, 1024 * 1024, 2 * 1024 * 1024]);
  });

  it('logging out drops the files still being sent: the next person on the tab does not see them', async () => {
    const page = alice.page;
    // Hold every upload so the file is still on its way when Alice logs out.
    await page.route('**/v1/uploads/**', (route) => (route.request().method() === 'PATCH' ? undefined : route.continue()));
    await attach(page, 'unfinished.bin', 'application/octet-stream', randomBytes(500_000));
    await until('uploading', async () => (await page.getByTestId('outgoing-file').getAttribute('data-phase')) === 'uploading');

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Log out', exact: true }).first().click();
    // In the same page, not a reload (which would forget everything anyway).
    await page.getByLabel('Handle').fill('bob');
    await page.getByLabel('Password').fill('password-bob');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('conversation-list').getByRole('link', { name: /^Alice/ }).click();
    await fileMessages(page, 'big.bin').waitFor();
    expect(await page.getByTestId('outgoing-file').count()).toBe(0);
    await page.unroute('**/v1/uploads/**');
  });
});

describe.skipIf(!run)('the user picks the server files go through', { timeout: 90_000 }, () => {
  const PEER_TOKEN = 'e2e-private-node-credential-0123';
  let central: TestServer;
  let priv: TestServer;
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    [central, browser] = await Promise.all([startTestServer({ peerTokens: PEER_TOKEN }), launchChromium()]);
    priv = await startTestServer({ upstreamUrl: central.url, upstreamToken: PEER_TOKEN });
    await priv.user('bob', 'Bob');
    alice = await newPage(browser, priv.url);
    await signUp(alice.page, 'alice', 'Alice');
    await startDirectChat(alice.page, 'bob');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await priv?.close();
    await central?.close();
  });

  it("'central' gets a file the central server holds without upload; 'private' keeps it to this server", async () => {
    // Two files someone already sent on the central server.
    const carol = await central.user('carol');
    const room = (await carol.openDirect((await central.user('dan')).handle)).id;
    const held = [randomBytes(200_000), randomBytes(300_000)];
    for (const [i, bytes] of held.entries()) {
      await carol.sendFile(room, new Blob([bytes]), { sha256: createHash('sha256').update(bytes).digest('hex'), name: `held-${i}.bin` });
    }

    const page = alice.page;
    await page.getByRole('button', { name: 'Send options' }).click();
    const choice = page.getByRole('group', { name: 'Send files through' });
    expect(await choice.getByRole('radio', { name: /^Central server/ }).isChecked()).toBe(true);
    await attach(page, 'from-central.bin', 'application/octet-stream', held[0]!);
    expect(await newestSource(page, 'from-central.bin', 1)).toBe('upstream');
    expect(await fileMessages(page, 'from-central.bin').getByTestId('attachment-source').textContent()).toContain('central server');

    await choice.getByRole('radio', { name: /^Private server/ }).check();
    await page.getByText('files: private server only').waitFor();
    await attach(page, 'kept-private.bin', 'application/octet-stream', held[1]!);
    expect(await newestSource(page, 'kept-private.bin', 1)).toBe('uploaded');
    await screenshot(page, '23-files-send-through');

    // The choice is kept across a reload.
    await page.reload();
    await page.getByRole('button', { name: 'Send options' }).click();
    expect(await page.getByRole('radio', { name: /^Private server/ }).isChecked()).toBe(true);
  });
});

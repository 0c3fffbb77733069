/**
 * Service accounts in the web app, in Chromium against a real server and a real worker: the chat
 * with a service shows its two-level menu; a click or a message shows a spinner that turns into the
 * answer (a card; an image, a video and an audio clip; an image from Parley's file store); a stalled server that cannot acknowledge
 * within the set time shows the failure prompt from the client's own timer, and trying again works.
 */
import { createHash } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceWorker, type LeasedTask, type ParleyClient, type ReplyContent } from '../sdk/node.js';
import { createService, stallWrites } from '../test/services/helpers.js';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { chromiumAvailable, launchChromium, newPage, screenshot, signUp, startDirectChat, until } from './support/browser.js';
import { mediaServer, png, wav } from './support/media.js';

const run = chromiumAvailable();

const HOURS = png(90, 45);
const HOURS_SHA256 = createHash('sha256').update(HOURS).digest('hex');

const status = (page: Page) => page.getByTestId('messages').getByTestId('request-status');

describe.skipIf(!run)('service accounts in the web app', { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let media: Awaited<ReturnType<typeof mediaServer>>;
  let carol: { context: BrowserContext; page: Page };
  const workers: ServiceWorker[] = [];
  /** Requests the worker holds until the test lets them go, by menu key or text. */
  const gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  const gate = (key: string) => {
    let open = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    gates.set(key, { opened, open });
    return open;
  };

  const answer = (task: LeasedTask): ReplyContent[] => {
    switch (task.menuKey) {
      case 'offer':
        return [{ type: 'card', title: 'Autumn sale', description: 'Everything 20% off until Sunday', imageUrl: `${media.url}/sale.png`, url: 'https://shop.example.com/sale' }];
      case 'hours':
        // Bytes the service sent once, so it holds them in Parley's file store: no URL needed.
        return [{ type: 'image', sha256: HOURS_SHA256, mime: 'image/png', name: 'hours.png', caption: 'Opening hours' }];
      case 'media':
        return [
          { type: 'image', url: `${media.url}/photo.png`, caption: 'The shop front' },
          { type: 'video', url: `${media.url}/tour.webm`, caption: 'A tour' },
          { type: 'audio', url: `${media.url}/jingle.wav`, caption: 'Our jingle' },
        ];
      default:
        return [{ type: 'text', text: `pong: ${task.text}` }];
    }
  };

  function startWorker(service: ParleyClient): void {
    const worker = new ServiceWorker(service, {
      concurrency: 10,
      waitMs: 1000,
      async handle(task) {
        await gates.get(task.menuKey ?? task.text)?.opened;
        return answer(task);
      },
    });
    worker.start();
    workers.push(worker);
  }

  beforeAll(async () => {
    [server, browser, media] = await Promise.all([
      startTestServer(),
      launchChromium(),
      mediaServer({ '/sale.png': { type: 'image/png', body: png(120, 60) }, '/photo.png': { type: 'image/png', body: png(80, 80) }, '/tour.webm': { type: 'video/webm', body: Buffer.alloc(16) }, '/jingle.wav': { type: 'audio/wav', body: wav(0.5) } }),
    ]);
    const admin = await server.user('admin');
    const shop = await createService(server, admin, {
      handle: 'shop',
      displayName: 'Shop',
      menu: [{ key: 'offer', label: 'Offers' }, { label: 'More', items: [{ key: 'media', label: 'Media' }, { key: 'hours', label: 'Opening hours' }] }],
      handler: { type: 'workers' },
    });
    const slow = await createService(server, admin, { handle: 'slow', displayName: 'Slow', menu: [{ key: 'ping', label: 'Ping' }], handler: { type: 'workers' }, ackDeadline: 'PT1S' });
    const library = await shop.client.openDirect(admin.accountId);
    await shop.client.sendFile(library.id, new Blob([new Uint8Array(HOURS)]), { sha256: HOURS_SHA256, name: 'hours.png', mime: 'image/png' });
    startWorker(shop.client);
    startWorker(slow.client);
    carol = await newPage(browser, server.url);
    await signUp(carol.page, 'carol', 'Carol');
  }, 60_000);

  afterAll(async () => {
    for (const gate of gates.values()) gate.open();
    await Promise.all(workers.map((w) => w.stop()));
    await browser?.close();
    await media?.close();
    await server?.close();
  });

  it('a service found on the New chat page: a menu click shows a spinner that turns into the card answering it', async () => {
    const { page } = carol;
    // The "New chat" page lists the services.
    await page.getByRole('link', { name: /New chat/ }).click();
    await page.getByRole('region', { name: 'Services' }).getByRole('button', { name: 'Shop' }).click();
    const menu = page.getByRole('navigation', { name: 'Shop menu' });
    const release = gate('offer');
    await menu.getByRole('button', { name: 'Offers' }).click();
    // Acknowledged at once; the worker holds the answer.
    await until('the acknowledged spinner', async () => (await status(page).getAttribute('data-status')) === 'acked');
    expect(await status(page).textContent()).toContain('Working on it');
    await screenshot(page, 'services-01-pending');
    release();
    const card = page.getByTestId('reply-card');
    await card.waitFor();
    expect(await card.getByRole('link', { name: 'Autumn sale' }).getAttribute('href')).toBe('https://shop.example.com/sale');
    expect(await card.textContent()).toContain('Everything 20% off until Sunday');
    await until('the card image decoded', () => card.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 120));
    await until('the spinner gone', async () => (await status(page).count()) === 0);
    await screenshot(page, 'services-02-card');
  });

  it('a submenu item is answered with an image, a video and an audio clip, each rendered', async () => {
    const { page } = carol;
    const menu = page.getByRole('navigation', { name: 'Shop menu' });
    await menu.getByRole('button', { name: /More/ }).click();
    await menu.getByRole('menuitem', { name: 'Media' }).click();
    const image = page.getByTestId('reply-image');
    await image.waitFor();
    await until('the image decoded', () => image.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 80));
    expect(await image.locator('img').getAttribute('alt')).toBe('The shop front');
    expect(await page.getByTestId('reply-video').locator('video').getAttribute('src')).toBe(`${media.url}/tour.webm`);
    const audio = page.getByTestId('reply-audio').locator('audio');
    // The browser read the clip: half a second of audio.
    await until('the audio metadata', () => audio.evaluate((a: HTMLAudioElement) => Math.abs(a.duration - 0.5) < 0.05));
    expect(await page.getByTestId('reply-audio').textContent()).toContain('Our jingle');
    await until('the spinner gone', async () => (await status(page).count()) === 0);
    await screenshot(page, 'services-03-media');
  });

  it('an image the service holds in the file store renders, fetched with the session token', async () => {
    const { page } = carol;
    const menu = page.getByRole('navigation', { name: 'Shop menu' });
    await menu.getByRole('button', { name: /More/ }).click();
    await menu.getByRole('menuitem', { name: 'Opening hours' }).click();
    const image = page.getByTestId('reply-image').filter({ hasText: 'Opening hours' });
    await until('the stored image decoded', () => image.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 90));
    // An object URL of the authenticated download, not a link anyone could open.
    expect(await image.locator('img').getAttribute('src')).toMatch(/^blob:/);
  });

  it('a stalled server: no acknowledgement within the set time shows the failure prompt, and trying again gets the answer', async () => {
    const { page } = carol;
    await startDirectChat(page, 'slow');
    // The menu shows once the profile (with its 1 s set time) is loaded.
    await page.getByRole('navigation', { name: 'Slow menu' }).waitFor();
    let stalled = true;
    const { released } = await stallWrites(server, 3000);
    void released.then(() => (stalled = false));
    const started = Date.now();
    const input = page.getByLabel(/^Message to/);
    await input.fill('anyone?');
    await input.press('Enter');
    await until('the failure prompt', async () => (await status(page).getAttribute('data-status')) === 'failed', 5000);
    // The client's own timer gave up while the server could not answer at all.
    expect(stalled).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await status(page).textContent()).toContain('Request failed, try again.');
    await screenshot(page, 'services-04-failed');
    await released;
    await status(page).getByRole('button', { name: 'Try again' }).click();
    await page.getByTestId('messages').getByText('pong: anyone?').waitFor();
    await until('the spinner gone', async () => (await status(page).count()) === 0);
  });
});

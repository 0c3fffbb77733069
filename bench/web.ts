/**
 * npm run bench:web [-- --runs 5]
 *
 * The web app's weight and speed:
 *  1. size: the built JavaScript + CSS (web/dist/assets), gzip level 9 as a server or CDN would
 *     send it, next to the baseline of Preact's own runtime (preact + hooks) gzipped the same way.
 *  2. time to interactive chat view, median of --runs, in headless Chromium on loopback against an
 *     in-process server (SQLite, a conversation with 60 messages). Each run uses a fresh browser
 *     context (cold cache, new device):
 *     - open chat: navigate to /c/<id> with a stored session → newest message shown, composer
 *       enabled and the event stream connected (what a returning user waits for);
 *     - log in: click "Log in" on the login page → conversation list shown and stream connected.
 *     Baseline, measured in the same run: a fresh context navigating to /healthz (no JavaScript).
 * Goals (issue 4): under 100 KB gzip, under 500 ms.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { startTestServer } from '../test/support/server.js';
import { buildWeb, webDist } from '../web/build.js';
import { chromiumPath, launchChromium } from '../e2e/support/browser.js';
import { existsSync } from 'node:fs';

const GOAL_KB = 100;
const GOAL_MS = 500;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Math.max(1, Number(values.runs));

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
const gz = (buf: Buffer) => gzipSync(buf, { level: 9 }).length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${Math.round(x)} ms`;

await buildWeb({ ifStale: true, quiet: true });

// ── 1. size ─────────────────────────────────────────────────────────────────────────────────────
const assets = join(webDist, 'assets');
let js = 0;
let css = 0;
let raw = 0;
for (const file of readdirSync(assets)) {
  const buf = readFileSync(join(assets, file));
  raw += buf.length;
  if (file.endsWith('.js')) js += gz(buf);
  else if (file.endsWith('.css')) css += gz(buf);
}
const require = createRequire(import.meta.url);
const preactFloor = gz(Buffer.concat([readFileSync(require.resolve('preact')), readFileSync(require.resolve('preact/hooks'))]));
const total = js + css;
const result: Record<string, unknown> = { gzipKB: { js: kb(js), css: kb(css), total: kb(total), raw: kb(raw), preactBaseline: kb(preactFloor) } };
console.log(`size (gzip -9)      JS ${kb(js)} KB + CSS ${kb(css)} KB = ${kb(total)} KB  (raw ${kb(raw)} KB; goal < ${GOAL_KB} KB: ${total < GOAL_KB * 1024 ? 'met' : 'MISSED'})`);
console.log(`  baseline          Preact + hooks runtime alone: ${kb(preactFloor)} KB gzip → the app is ${(total / preactFloor).toFixed(1)}× the framework floor`);

// ── 2. time to interactive ──────────────────────────────────────────────────────────────────────
if (!existsSync(chromiumPath)) {
  console.log(`time to interactive: skipped, Chromium is not installed at ${chromiumPath} (apt-get install -y chromium)`);
  console.log(JSON.stringify(result));
  process.exit(0);
}

const server = await startTestServer();
let browser: Browser | undefined;
try {
  browser = await launchChromium();
  const alice = await server.user('alice', 'Alice');
  const bob = await server.user('bob', 'Bob');
  const conv = await alice.openDirect('bob');
  for (let i = 1; i <= 60; i++) await (i % 2 ? alice : bob).send(conv.id, { text: `message ${i}: the quick brown fox 敏捷的棕色狐狸` });
  const lastText = 'message 60: the quick brown fox 敏捷的棕色狐狸';

  const ready = (text: string) =>
    `(() => {
      const conn = document.querySelector('.conn')?.getAttribute('data-state') === 'open';
      const input = document.querySelector('#composer-input');
      const shown = [...document.querySelectorAll('article.msg .text')].some((e) => e.textContent === ${JSON.stringify(text)});
      return conn && input && !input.disabled && shown ? performance.now() : 0;
    })()`;

  const openChat: number[] = [];
  const logIn: number[] = [];
  const baseline: number[] = [];
  // One unmeasured round warms up the server's code paths and the browser process.
  for (let i = 0; i <= runs; i++) {
    const measured = i > 0;
    {
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto('/healthz');
      if (measured) baseline.push(Date.now() - t0);
      await context.close();
    }
    {
      const client = server.client();
      const session = await client.login('alice', 'password-alice', `bench ${i}`);
      const context = await browser.newContext({ baseURL: server.url });
      await context.addInitScript((s: string) => localStorage.setItem('parley.session', s), JSON.stringify({ token: session.token, deviceId: session.deviceId, me: session.account }));
      const page = await context.newPage();
      await page.goto(`/c/${conv.id}`, { waitUntil: 'commit' });
      const at = (await (await page.waitForFunction(ready(lastText), undefined, { polling: 'raf', timeout: 20_000 })).jsonValue()) as number;
      if (measured) openChat.push(at);
      await context.close();
    }
    {
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await page.goto('/login');
      await page.getByLabel('Handle').fill('alice');
      await page.getByLabel('Password').fill('password-alice');
      await page.evaluate(() => ((window as unknown as { t0: number }).t0 = performance.now()));
      await page.getByRole('button', { name: 'Log in' }).click();
      const at = (await (
        await page.waitForFunction(
          `(() => document.querySelector('.conn')?.getAttribute('data-state') === 'open' && document.querySelector('[data-testid="conversation-list"] a') ? performance.now() - window.t0 : 0)()`,
          undefined,
          { polling: 'raf', timeout: 20_000 },
        )
      ).jsonValue()) as number;
      if (measured) logIn.push(at);
      await context.close();
    }
  }
  const openMedian = median(openChat);
  result.openChatMs = { median: Math.round(openMedian), runs: openChat.map(Math.round) };
  result.logInMs = { median: Math.round(median(logIn)), runs: logIn.map(Math.round) };
  result.baselineHealthzMs = { median: Math.round(median(baseline)), runs: baseline };
  console.log(`open chat → ready   median ${ms(openMedian)} of ${runs} [${openChat.map(ms).join(', ')}]  (goal < ${GOAL_MS} ms: ${openMedian < GOAL_MS ? 'met' : 'MISSED'})`);
  console.log(`log in → list ready median ${ms(median(logIn))} [${logIn.map(ms).join(', ')}]`);
  console.log(`  baseline          fresh context → /healthz (no JS): median ${ms(median(baseline))} → open chat is ${(openMedian / Math.max(1, median(baseline))).toFixed(1)}× a bare page load`);
  console.log(JSON.stringify(result));
} finally {
  await browser?.close();
  await server.close();
}

/**
 * npm run bench:web [-- --runs 5]
 *
 * The web app's weight and speed:
 *  1. size: the built JavaScript + CSS (web/dist/assets), gzip level 9 as a server or CDN would
 *     send it, next to the baseline of Preact's own runtime (preact + hooks) gzipped the same way.
 *  2. time to interactive chat view, median of --runs, in headless Chromium on loopback against an
 *     in-process server (SQLite, a conversation with 60 messages). Each run uses a fresh browser
 *     context (cold cache, new device):
 *     - open chat: navigate to /c/<id> with a stored session → the newest message is shown and the
 *       message box takes input ("shown"), and then also the event stream is connected ("live");
 *     - log in: click "Log in" on the login page → the conversation list is shown, then also live.
 *     Times are the page's own clock (performance.now(), from navigation start or from the click).
 *     Baseline, measured in the same run: a fresh context navigating to /healthz (no JavaScript),
 *     until its response has arrived.
 * Goals (issue 4): under 100 KB gzip, under 500 ms.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
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

const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
const server = await startTestServer();
let browser: Browser | undefined;
try {
  browser = await launchChromium();
  const alice = await server.user('alice', 'Alice');
  const bob = await server.user('bob', 'Bob');
  const conv = await alice.openDirect('bob');
  for (let i = 1; i <= 60; i++) await (i % 2 ? alice : bob).send(conv.id, { text: `message ${i}: the quick brown fox 敏捷的棕色狐狸` });
  const lastText = 'message 60: the quick brown fox 敏捷的棕色狐狸';

  // "shown": the newest message is on screen and the message box takes input; "live": and the
  // event stream is connected, so what others send appears by itself.
  const shown = (text: string) =>
    `(() => {
      const input = document.querySelector('#composer-input');
      const ok = input && !input.disabled && [...document.querySelectorAll('article.msg .text')].some((e) => e.textContent === ${JSON.stringify(text)});
      return ok ? performance.now() : 0;
    })()`;
  const live = `(() => document.querySelector('.conn')?.getAttribute('data-state') === 'open' ? performance.now() : 0)()`;
  const at = async (page: import('playwright-core').Page, expression: string) => (await (await page.waitForFunction(expression, undefined, { polling: 'raf', timeout: 20_000 })).jsonValue()) as number;

  const openShown: number[] = [];
  const openLive: number[] = [];
  const logInShown: number[] = [];
  const logInLive: number[] = [];
  const baseline: number[] = [];
  // One unmeasured round warms up the server's code paths and the browser process.
  for (let i = 0; i <= runs; i++) {
    const measured = i > 0;
    {
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await page.goto('/healthz', { waitUntil: 'commit' });
      const t = (await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).responseEnd)) as number;
      if (measured) baseline.push(t);
      await context.close();
    }
    {
      const client = server.client();
      const session = await client.login('alice', 'password-alice', `bench ${i}`);
      const context = await browser.newContext({ baseURL: server.url });
      await context.addInitScript((s: string) => localStorage.setItem('parley.session', s), JSON.stringify({ token: session.token, deviceId: session.deviceId, me: session.account }));
      const page = await context.newPage();
      await page.goto(`/c/${conv.id}`, { waitUntil: 'commit' });
      const a = await at(page, shown(lastText));
      const b = await at(page, live);
      if (measured) openShown.push(a), openLive.push(Math.max(a, b));
      await context.close();
    }
    {
      const context = await browser.newContext({ baseURL: server.url });
      const page = await context.newPage();
      await page.goto('/login');
      await page.getByLabel('Handle').fill('alice');
      await page.getByLabel('Password').fill('password-alice');
      const t0 = (await page.evaluate(() => performance.now())) as number;
      await page.getByRole('button', { name: 'Log in' }).click();
      const a = await at(page, `(() => document.querySelector('[data-testid="conversation-list"] a') ? performance.now() : 0)()`);
      const b = await at(page, live);
      if (measured) logInShown.push(a - t0), logInLive.push(Math.max(a, b) - t0);
      await context.close();
    }
  }
  const line = (label: string, xs: number[], goal?: number) => {
    const m = median(xs);
    console.log(`${label.padEnd(34)} median ${ms(m).padStart(7)}  [${xs.map(ms).join(', ')}]${goal ? `  (goal < ${goal} ms: ${m < goal ? 'met' : 'MISSED'})` : ''}`);
    return { median: Math.round(m), runs: xs.map(Math.round) };
  };
  console.log(`time to interactive, ${runs} runs, fresh browser context each (cold cache, new device); load average before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(1)).join(' ')}:`);
  result.openChatShownMs = line('open /c/<id> → chat shown', openShown, GOAL_MS);
  result.openChatLiveMs = line('open /c/<id> → chat shown + live', openLive);
  result.logInListMs = line('log in → conversation list', logInShown);
  result.logInLiveMs = line('log in → list + live', logInLive);
  result.baselineMs = line('baseline: /healthz response (no JS)', baseline);
  console.log(`  ratio: chat shown is ${(median(openShown) / Math.max(1, median(baseline))).toFixed(1)}× the bare navigation`);
  console.log(JSON.stringify(result));
} finally {
  await browser?.close();
  await server.close();
}

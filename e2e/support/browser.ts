import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inCi } from '../../test/support/services.js';

/** Debian's Chromium (`apt-get install chromium`); the tests never download a browser. */
export const chromiumPath = '/usr/bin/chromium';
export const artifactsDir = new URL('../artifacts/', import.meta.url);

/**
 * Whether the browser tests can run. Outside CI a missing Chromium skips them with a message;
 * under CI=true it is a failure, so a green CI run always means they really ran.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  const message = `Chromium is not installed at ${chromiumPath}`;
  if (inCi) throw new Error(`${message} — CI must run the browser tests (.ci/run installs it with apt-get install chromium)`);
  console.warn(`SKIPPED: ${message}; run \`apt-get install -y chromium\` to run the e2e tests.`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export async function newPage(browser: Browser, baseURL: string, viewport = { width: 1100, height: 760 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'en-US' });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, artifactsDir).pathname, fullPage: false });
}

/** Signs up through the UI and waits for the conversation list. */
export async function signUp(page: Page, handle: string, displayName: string, password = `password-${handle}`): Promise<void> {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('conversation-list').waitFor();
}

export async function logIn(page: Page, handle: string, password = `password-${handle}`): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('conversation-list').waitFor();
}

/** Opens (or creates) the direct chat with `handle` from the "New chat" page. */
export async function startDirectChat(page: Page, handle: string): Promise<void> {
  await page.getByRole('link', { name: /New chat/ }).click();
  await page.getByLabel('Their handle').fill(handle);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByLabel(/^Message to/).waitFor();
}

/** Polls until `fn` returns a truthy value (or `fn` stops throwing). */
export async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

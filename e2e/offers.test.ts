/**
 * Offers in the web app, in Chromium against a real server: a provider publishes from one browser
 * context with data sealed in that browser; a user whose interest matches sees the offer with a
 * live countdown, accepts, gets a voucher and opens the sealed data in their browser (the
 * provider's browser released its key share to this device). A window not started yet says so;
 * an answer that reaches the server after the deadline is refused and the page says why; the
 * provider's dashboard shows who won and who was late, and the credit from a redemption.
 *
 * The server runs on a settable clock (test/offers/helpers.ts): the late answer is one the
 * network delays past the deadline, which the test makes happen by moving the server's clock
 * forward while that request is held. The browsers keep real time.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffersApi } from '../sdk/index.js';
import { SettableClock } from '../test/offers/helpers.js';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { chromiumAvailable, launchChromium, newPage, screenshot, signUp, until } from './support/browser.js';

const run = chromiumAvailable();

async function openOffers(page: Page, tab: 'Inbox' | 'Interests' | 'Vouchers' | 'My offers'): Promise<void> {
  await page.getByRole('link', { name: /^Offers/ }).first().click();
  await page.getByRole('navigation', { name: 'Offers' }).getByRole('link', { name: tab }).click();
  await page.getByRole('heading', { name: `Offers: ${tab}` }).waitFor();
}

async function addInterest(page: Page, name: string, predicate: string): Promise<void> {
  await openOffers(page, 'Interests');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Predicate').fill(predicate);
  await page.getByRole('button', { name: 'Save interest' }).click();
}

/** A datetime-local value `ms` from now, in the browser's own time zone. */
function localInput(page: Page, ms: number): Promise<string> {
  return page.evaluate((offset) => {
    const d = new Date(Date.now() + offset);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  }, ms);
}

async function publish(page: Page, fields: { name: string; attributes: string; within?: string; window?: [string, string]; data: string; cap?: number }): Promise<void> {
  await openOffers(page, 'My offers');
  const form = page.getByRole('form', { name: 'Publish an offer' });
  await form.getByLabel('Offer name').fill(fields.name);
  await form.getByLabel('Attributes').fill(fields.attributes);
  if (fields.window) {
    await form.getByLabel('in a window').check();
    await form.getByLabel('From', { exact: true }).fill(fields.window[0]);
    await form.getByLabel('To', { exact: true }).fill(fields.window[1]);
  } else {
    await form.getByLabel('Time to answer').fill(fields.within ?? '1h');
  }
  if (fields.cap) await form.getByLabel(/^Vouchers/).fill(String(fields.cap));
  await form.getByLabel('Target data').fill(fields.data);
  await form.getByRole('button', { name: 'Publish' }).click();
  await page.getByTestId('published-offer').filter({ hasText: fields.name }).waitFor();
}

const inboxOffer = (page: Page, name: string) => page.getByTestId('offer').filter({ has: page.getByRole('heading', { name }) });

describe.skipIf(!run)('offers in the web app', { timeout: 120_000 }, () => {
  const clock = new SettableClock();
  let server: TestServer;
  let browser: Browser;
  let provider: { context: BrowserContext; page: Page };
  let ann: { context: BrowserContext; page: Page };
  let ben: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({}, clock), launchChromium()]);
    provider = await newPage(browser, server.url);
    ann = await newPage(browser, server.url);
    ben = await newPage(browser, server.url);
    await Promise.all([signUp(provider.page, 'pat', 'Pat Provider'), signUp(ann.page, 'ann', 'Ann'), signUp(ben.page, 'ben', 'Ben')]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a predicate the server refuses shows its reason and the path it names; a valid one is listed', async () => {
    await addInterest(ann.page, 'cheap docs', '{ "category": "doc", "price": { "$regex": "^1" } }');
    const error = ann.page.getByTestId('predicate-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/unknown or disallowed operator \$regex.*price\.\$regex/);
    expect(await ann.page.getByLabel('Predicate').getAttribute('aria-invalid')).toBe('true');
    expect(await ann.page.getByTestId('interest').count()).toBe(0);

    await ann.page.getByLabel('Predicate').fill('{ "category": "doc", "price": { "$lte": 100 } }');
    await ann.page.getByRole('button', { name: 'Save interest' }).click();
    await ann.page.getByTestId('interest').filter({ hasText: 'cheap docs' }).waitFor();
    expect(await ann.page.getByTestId('predicate-error').count()).toBe(0);
    await screenshot(ann.page, '30-offers-interests');

    await addInterest(ben.page, 'any doc', '{ "category": "doc" }');
    await ben.page.getByTestId('interest').filter({ hasText: 'any doc' }).waitFor();
  });

  it('a matching user sees the offer counting down, accepts in time, and opens the data sealed in the provider’s browser', async () => {
    await publish(provider.page, { name: 'Spec sheet', attributes: '{ "category": "doc", "price": 80 }', within: '1h', data: 'The door code is 4711.', cap: 5 });

    await until('the offers badge', async () => (await ann.page.getByTestId('offers-badge').textContent()) === '1');
    await openOffers(ann.page, 'Inbox');
    const offer = inboxOffer(ann.page, 'Spec sheet');
    const countdown = offer.getByTestId('countdown');
    const first = await countdown.textContent();
    expect(first).toMatch(/^Closes in (59:[0-5]\d|1:00:00|00:59:[0-5]\d|01:00:00)$/);
    await until('the countdown moves', async () => (await countdown.textContent()) !== first);
    expect(await offer.textContent()).toContain('From Pat Provider (@pat)');
    await screenshot(ann.page, '31-offers-inbox');

    await offer.getByRole('button', { name: 'Accept' }).click();
    const outcome = offer.getByTestId('offer-outcome');
    await until('the voucher outcome', async () => /you got a voucher/.test((await outcome.textContent()) ?? ''));

    await openOffers(ann.page, 'Vouchers');
    const voucher = ann.page.getByTestId('voucher').filter({ hasText: 'Spec sheet' });
    await voucher.getByRole('button', { name: 'Open' }).click();
    // The provider's page is online: its browser seals its share to Ann's device key at once.
    const data = voucher.getByTestId('voucher-data');
    await data.waitFor();
    expect(await data.textContent()).toBe('The door code is 4711.');
    await screenshot(ann.page, '32-offers-voucher-open');

    await voucher.getByRole('button', { name: 'Redeem' }).click();
    await until('redeemed', async () => (await voucher.getAttribute('data-status')) === 'redeemed');

    // The provider sees the winner, the released share and the credit.
    const published = provider.page.getByTestId('published-offer').filter({ hasText: 'Spec sheet' });
    await published.getByRole('button', { name: 'Recipients' }).click();
    const annRow = published.locator('[data-testid="recipient"][data-handle="ann"]');
    await until('Ann won', async () => (await annRow.getAttribute('data-outcome')) === 'voucher' && /released/.test((await annRow.textContent()) ?? ''));
    expect(await annRow.textContent()).toContain('accept');
    // Ben matched too and has not answered.
    expect(await published.locator('[data-testid="recipient"][data-handle="ben"]').textContent()).toContain('waiting');
    await until('credit after the redemption', async () => (await provider.page.getByTestId('credit-redemptions').textContent()) === '1');
    expect(Number(await provider.page.getByTestId('credit-points').textContent())).toBeGreaterThan(0);
    await screenshot(provider.page, '33-offers-provider-dashboard');
  });

  it('a window that has not started says so and cannot be accepted yet', async () => {
    const [from, to] = await Promise.all([localInput(provider.page, 2 * 3600_000), localInput(provider.page, 3 * 3600_000)]);
    await publish(provider.page, { name: 'Evening sale', attributes: '{ "category": "doc", "price": 20 }', window: [from, to], data: 'Later.' });
    await openOffers(ann.page, 'Inbox');
    const offer = inboxOffer(ann.page, 'Evening sale');
    await offer.waitFor();
    expect(await offer.getByTestId('countdown').textContent()).toMatch(/^Not yet open — opens in (1:59:[0-5]\d|01:59:[0-5]\d|02:00:00)$/);
    expect(await offer.getByRole('button', { name: 'Accept' }).isDisabled()).toBe(true);
  });

  it('an answer that reaches the server after the deadline is refused and the page says why; the provider sees it late', async () => {
    await publish(provider.page, { name: 'Flash deal', attributes: '{ "category": "doc", "price": 50 }', within: '10m', data: 'Too late for some.' });
    const pat = server.client();
    await pat.login('pat', 'password-pat', 'e2e check');
    const flash = (await new OffersApi(pat).list('provider')).find((o) => o.name === 'Flash deal')!;

    await openOffers(ben.page, 'Inbox');
    const offer = inboxOffer(ben.page, 'Flash deal');
    await offer.waitFor();
    expect(await offer.getByTestId('countdown').textContent()).toMatch(/^Closes in/);
    // Ben clicks in time by his clock, but the request reaches the server a second after the deadline.
    await ben.page.route('**/v1/offers/*/answer', async (route) => {
      clock.set(new Date(Date.parse(flash.deadline.closesAt) + 1000).toISOString());
      clock.flow();
      await route.continue();
    });
    await offer.getByRole('button', { name: 'Accept' }).click();
    const outcome = offer.getByTestId('offer-outcome');
    await until('the refusal', async () => /Too late/.test((await outcome.textContent()) ?? ''));
    expect(await outcome.textContent()).toMatch(/^Too late: your answer reached the server at .+, after the deadline .+\.$/);
    expect(await outcome.getAttribute('role')).toBe('alert');
    await screenshot(ben.page, '34-offers-too-late');

    const published = provider.page.getByTestId('published-offer').filter({ hasText: 'Flash deal' });
    await published.getByRole('button', { name: 'Recipients' }).click();
    await until('Ben late on the dashboard', async () => (await published.locator('[data-testid="recipient"][data-handle="ben"]').getAttribute('data-outcome')) === 'too_late');
    expect(await published.getByText('too late').count()).toBe(1);

    // After a reload the inbox still says what happened (the server's recorded answer).
    await ben.page.reload();
    await openOffers(ben.page, 'Inbox');
    await until('the recorded refusal', async () => /^Refused: your answer reached the server at/.test((await inboxOffer(ben.page, 'Flash deal').getByTestId('offer-outcome').textContent()) ?? ''));
  });
});

/**
 * Ordering in the web app, in Chromium against a real server: a provider publishes a service and
 * sees its credit with every input; a user orders from a high-credit provider (ordered at once,
 * listed, cancelled), from a medium-credit one (the verification dialog: a wrong code is refused
 * without saying why, the code from the im notice places the order, and the provider's page sees
 * it live) and from a low-credit one (refused with the reason); the operator sees every
 * provider's inputs and adjusts a score.
 *
 * Accounts and the other providers' services are made with the SDK (test/orders/helpers.ts); the
 * code is read the way the server tests read it, from the buyer's im notice on the event stream.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, imCode, provider, user, type User } from '../test/orders/helpers.js';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { chromiumAvailable, launchChromium, logIn, newPage, screenshot, until } from './support/browser.js';

const run = chromiumAvailable();

async function openOrders(page: Page, tab: 'Catalogue' | 'My orders' | 'My services' | 'Provider credit'): Promise<void> {
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.getByRole('navigation', { name: 'Orders' }).getByRole('link', { name: tab }).click();
  await page.getByRole('heading', { name: `Orders: ${tab}` }).waitFor();
}

/** Orders `name` from the catalogue through `channel` and returns the dialog that opens. */
async function order(page: Page, name: string, channel: 'im' | 'sms' | 'email' = 'im') {
  await openOrders(page, 'Catalogue');
  const service = page.getByTestId('catalogue-service').filter({ has: page.getByRole('heading', { name }) });
  if (channel !== 'im') await service.getByLabel(`Confirm ${name} through`).selectOption(channel);
  await service.getByRole('button', { name: `Order ${name}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByTestId('order-dialog').waitFor();
  return dialog;
}

const text = async (locator: { textContent(): Promise<string | null> }) => (await locator.textContent()) ?? '';

describe.skipIf(!run)('ordering in the web app', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let operator: User;
  let buyer: User;
  let medium: User;
  let low: User;
  let buyerTab: { context: BrowserContext; page: Page };
  let providerTab: { context: BrowserContext; page: Page };
  let operatorTab: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    // A failure cap of 2 wrong codes per account, so the account lockout is reached in a few tries.
    [server, browser] = await Promise.all([startTestServer({ orderAccountFailureCap: 2 }), launchChromium()]);
    operator = await user(server, 'ops'); // the first account: the administrator
    buyer = await user(server, 'buyer');
    // New providers score 50 (medium); the operator's adjustment puts the others in their bands.
    const high = await provider(server, operator, 25, 'news');
    medium = await provider(server, operator, 0, 'jokes');
    low = await provider(server, operator, -25, 'lotto');
    await high.orders.publish({ code: 'NEWS', name: 'Daily news', price: 499, currency: 'EUR', period: 'monthly', description: 'The morning headlines.' });
    await low.orders.publish({ code: 'LOTTO', name: 'Lucky numbers', price: 199, currency: 'EUR', period: 'monthly' });
    [buyerTab, providerTab, operatorTab] = await Promise.all([newPage(browser, server.url), newPage(browser, server.url), newPage(browser, server.url)]);
    await Promise.all([logIn(buyerTab.page, buyer.handle), logIn(providerTab.page, medium.handle), logIn(operatorTab.page, operator.handle)]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a provider publishes and edits a service and sees its credit with every input', async () => {
    const page = providerTab.page;
    await openOrders(page, 'My services');
    expect(await text(page.getByTestId('credit-score'))).toBe('50');
    const inputs = await text(page.getByTestId('credit-inputs'));
    for (const label of ['Orders placed', 'Completed orders', 'Cancelled within 24 h', 'Complaints', 'Failed or abandoned verifications', 'Refunds', 'Account age (days)']) expect(inputs).toContain(label);

    const form = page.getByRole('form', { name: 'Publish a service' });
    await form.getByLabel('Code').fill('JOKES');
    await form.getByLabel('Service name').fill('Joke of the day');
    await form.getByLabel('All-in price').fill('0.99');
    await form.getByLabel('Period').selectOption('once');
    await form.getByRole('button', { name: 'Publish service' }).click();
    const service = page.getByTestId('my-service').filter({ hasText: 'JOKES' });
    await service.waitFor();

    await service.getByRole('button', { name: 'Edit Joke of the day' }).click();
    await service.getByLabel(/All-in price/).fill('1.49');
    await service.getByRole('button', { name: 'Save' }).click();
    await until('the new price', async () => (await text(service)).includes('€1.49 once'));
    await screenshot(page, '40-orders-provider');
  });

  it('from a high-credit provider the order is placed at once, listed with how to cancel, and cancelled', async () => {
    const page = buyerTab.page;
    await openOrders(page, 'Catalogue');
    const newsProvider = page.getByTestId('catalogue-provider').filter({ hasText: 'Daily news' });
    expect(await text(newsProvider.getByTestId('credit-band'))).toMatch(/High credit/);
    await screenshot(page, '41-orders-catalogue');

    const dialog = await order(page, 'Daily news');
    const outcome = await text(dialog.getByTestId('order-outcome'));
    expect(outcome).toMatch(/Ordered: Daily news from Provider news\d+_\d+, €4\.99 per month/);
    expect(outcome).toContain('STOP NEWS');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await openOrders(page, 'My orders');
    const subscription = page.getByTestId('subscriptions').getByTestId('order').filter({ hasText: 'Daily news' });
    expect(await text(subscription.getByTestId('order-status'))).toBe('Active subscription');
    await subscription.getByRole('button', { name: 'Cancel Daily news' }).click();
    const listed = page.getByTestId('my-orders').getByTestId('order').filter({ hasText: 'Daily news' });
    await until('the cancelled order', async () => (await text(listed.getByTestId('order-status'))) === 'Cancelled');
    expect(await page.getByTestId('subscriptions').count()).toBe(0);
    expect((await buyer.orders.list())[0]).toMatchObject({ status: 'cancelled', service: { code: 'NEWS' } });
  });

  it('from a medium-credit provider the dialog asks for the code: a wrong one is refused without saying why, the right one places the order', async () => {
    const page = buyerTab.page;
    // The provider's page is open, to see the order arrive live.
    await openOrders(providerTab.page, 'My services');

    // SMS asked for, but the buyer has no verified phone: the code comes here (im), and the dialog says so.
    const dialog = await order(page, 'Joke of the day', 'sms');
    expect(await text(dialog.getByTestId('order-quote'))).toContain('€1.49 once, all taxes and fees included');
    expect(await text(dialog)).toContain('no verified phone number');
    const orderId = (await dialog.getByTestId('order-dialog').getAttribute('data-order-id'))!;
    const code = await until('the code', () => imCode(buyer, orderId));
    await until('the im notice in the dialog', async () => (await text(dialog.getByTestId('order-notice'))).includes(code));

    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await dialog.getByLabel('Code').fill(wrong);
    await dialog.getByRole('button', { name: 'Confirm order' }).click();
    const error = dialog.getByTestId('code-error');
    await error.waitFor();
    expect(await error.getAttribute('data-code')).toBe('ORDER_CODE_REJECTED');
    expect(await text(error)).toMatch(/wrong, expired or already used/);
    await screenshot(page, '42-orders-verification');

    // Closed, then reopened from My orders, where the order waits for its code; a new code replaces the first.
    await dialog.getByRole('button', { name: 'Close' }).click();
    await openOrders(page, 'My orders');
    await page.getByTestId('my-orders').getByTestId('order').filter({ hasText: 'Joke of the day' }).getByRole('button', { name: 'Enter code' }).click();
    const codeNotices = async () => (await events(buyer, 'order.notice')).filter((e) => e.data.orderId === orderId).length;
    expect(await codeNotices()).toBe(1);
    await dialog.getByRole('button', { name: 'Send a new code' }).click();
    await until('the resend is said', async () => (await text(dialog)).includes('the earlier code no longer works'));
    await until('the second code', async () => (await codeNotices()) === 2);
    const code2 = await imCode(buyer, orderId);
    expect(await dialog.getByTestId('code-error').count()).toBe(0);

    await dialog.getByLabel('Code').fill(code2);
    await dialog.getByRole('button', { name: 'Confirm order' }).click();
    const outcome = dialog.getByTestId('order-outcome');
    await outcome.waitFor();
    expect(await text(outcome)).toMatch(/Ordered: Joke of the day from Provider jokes\d+_\d+, €1\.49 once/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect((await buyer.orders.get(orderId)).status).toBe('completed');

    const sold = providerTab.page.getByTestId('sold-order').filter({ hasText: 'JOKES' });
    await until('the provider sees the order live', async () => (await text(sold.getByTestId('order-status'))) === 'Ordered');
    await until('the provider’s record counts it', async () => (await text(providerTab.page.getByTestId('credit-inputs'))).includes('Orders placed1'));
  });

  it('too many wrong codes from the account lock it: the dialog says how long to wait', async () => {
    const page = buyerTab.page;
    const dialog = await order(page, 'Joke of the day');
    const orderId = (await dialog.getByTestId('order-dialog').getAttribute('data-order-id'))!;
    const code = await until('the code', () => imCode(buyer, orderId));
    const error = dialog.getByTestId('code-error');
    for (const k of [1, 2]) {
      await dialog.getByLabel('Code').fill(String((Number(code) + k) % 1_000_000).padStart(6, '0'));
      await dialog.getByRole('button', { name: 'Confirm order' }).click();
      await until(`wrong code ${k} refused`, async () => (await error.getAttribute('data-code')) === 'ORDER_CODE_REJECTED' && (await dialog.getByRole('button', { name: 'Confirm order' }).isEnabled()));
    }
    await dialog.getByLabel('Code').fill(code);
    await dialog.getByRole('button', { name: 'Confirm order' }).click();
    await until('the lockout', async () => (await error.getAttribute('data-code')) === 'ORDER_CODES_LOCKED');
    expect(await text(error)).toMatch(/Too many wrong codes from your account\. Try again in (1 min( \d s)?|5\d s) \(at /);
    expect(await dialog.getByRole('button', { name: 'Confirm order' }).isDisabled()).toBe(true);
    expect((await buyer.orders.get(orderId)).status).toBe('pending');
    await dialog.getByRole('button', { name: 'Decline' }).click();
    await until('declined', async () => (await text(dialog.getByTestId('order-outcome'))).includes('you declined it'));
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('from a low-credit provider the order is refused with the reason', async () => {
    const page = buyerTab.page;
    await openOrders(page, 'Catalogue');
    expect(await text(page.getByTestId('catalogue-provider').filter({ hasText: 'Lucky numbers' }).getByTestId('credit-band'))).toMatch(/Low credit/);
    const dialog = await order(page, 'Lucky numbers');
    expect(await dialog.getByRole('heading', { name: 'Order refused' }).count()).toBe(1);
    const outcome = await text(dialog.getByTestId('order-outcome'));
    expect(outcome).toContain('the provider’s credit is too low for orders (PROVIDER_CREDIT_LOW)');
    expect(outcome).toContain('Nothing was charged');
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect((await buyer.orders.list()).find((o) => o.service.code === 'LOTTO')).toMatchObject({ status: 'refused', refusal: 'PROVIDER_CREDIT_LOW' });
  });

  it('the operator sees every provider’s credit inputs and adjusts a score', async () => {
    const page = operatorTab.page;
    await openOrders(page, 'Provider credit');
    const row = (p: User) => page.getByTestId('provider-row').filter({ hasText: `@${p.handle}` });
    // The table fills in after the page shows: wait for it before counting (count() does not wait).
    await page.getByTestId('provider-row').nth(2).waitFor();
    expect(await page.getByTestId('provider-row').count()).toBe(3);
    // Every input of every provider in one table: placed, completed, ≤ 24 h, complaints, failed verifications, refunds, age, adjustment.
    expect((await row(medium).locator('td').allTextContents()).slice(1, 9)).toEqual(['1', '1', '0', '0', '1', '0', '0', '0']);
    expect(await text(row(low).locator('td').first())).toMatch(/^25\s*low$/);

    const card = (p: User) => page.getByTestId('provider-credit').filter({ hasText: `@${p.handle}` });
    await row(low).getByRole('button', { name: `Details for @${low.handle}` }).click();
    await row(medium).getByRole('button', { name: `Details for @${medium.handle}` }).click();
    expect(await text(card(low).getByTestId('credit-score'))).toBe('25');
    expect(await text(card(low).getByTestId('credit-adjustment'))).toContain('-25');
    const inputs = await text(card(medium).getByTestId('credit-inputs'));
    expect(inputs).toContain('Orders placed1');
    expect(inputs).toContain('Completed orders1');
    await screenshot(page, '43-orders-operator');

    const form = card(low).getByRole('form', { name: `Adjust the credit of ${low.handle}` });
    await form.getByLabel(/Adjustment/).fill('0');
    await form.getByLabel('Reason').fill('appeal granted');
    await form.getByRole('button', { name: 'Set adjustment' }).click();
    await until('the new score', async () => (await text(card(low).getByTestId('credit-score'))) === '50');
    expect((await operator.orders.credit(low.handle)).adjustment).toMatchObject({ points: 0, reason: 'appeal granted' });
  });
});

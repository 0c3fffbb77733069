/**
 * The web app in a real browser (Debian's Chromium through playwright-core) against a real server:
 * two people chat in two browser contexts, receipts reach "read", a deadline passes while the
 * reader's tab is closed and the SMS fallback shows up, and a network drop loses nothing.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { chromiumAvailable, launchChromium, newPage, screenshot, signUp, until } from './support/browser.js';

const run = chromiumAvailable();

const message = (page: Page, text: string) => page.locator('article.msg', { hasText: text });
const tickOf = (page: Page, text: string) => message(page, text).locator('[data-tick]').first().getAttribute('data-tick');

async function send(page: Page, text: string): Promise<void> {
  const input = page.getByLabel(/^Message to/);
  await input.fill(text);
  await input.press('Enter');
}

async function openConversation(page: Page, name: RegExp | string): Promise<void> {
  await page.getByTestId('conversation-list').getByRole('link', { name }).click();
  await page.getByLabel(/^Message to/).waitFor();
}

async function messageAction(page: Page, text: string, action: string): Promise<void> {
  await message(page, text).getByRole('button', { name: 'Message actions' }).click();
  await page.getByRole('menuitem', { name: action }).click();
}

describe.skipIf(!run)('web app in Chromium', { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
    alice = await newPage(browser, server.url);
    bob = await newPage(browser, server.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('two people chat: optimistic send, ticks up to read, typing, reply, edit and delete', async () => {
    await signUp(alice.page, 'alice', 'Alice');
    await screenshot(alice.page, '01-empty-list');
    await signUp(bob.page, 'bob', '李雷 Bob');

    await alice.page.getByRole('link', { name: /New chat/ }).click();
    await screenshot(alice.page, '02-new-chat');
    await alice.page.getByLabel('Their handle').fill('bob');
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await send(alice.page, 'Hello Bob! 你好，世界');
    await message(alice.page, 'Hello Bob!').waitFor();

    // Bob's tab is open on his list: the message is delivered there and counted unread.
    await until('delivered tick', async () => (await tickOf(alice.page, 'Hello Bob!')) === 'delivered');
    const unread = bob.page.getByTestId('conversation-list').getByRole('link', { name: /^Alice/ }).getByTestId('unread-count');
    expect(await unread.textContent()).toBe('1');
    await screenshot(bob.page, '03-list-unread');

    await openConversation(bob.page, /^Alice/);
    await message(bob.page, '你好，世界').waitFor();
    expect(await message(bob.page, 'Hello Bob!').locator('.text').textContent()).toBe('Hello Bob! 你好，世界');
    await until('read tick', async () => (await tickOf(alice.page, 'Hello Bob!')) === 'read');

    // Typing shows on the other side.
    await bob.page.getByLabel(/^Message to/).pressSequentially('typing…', { delay: 20 });
    await until('typing indicator', () => alice.page.getByTestId('typing').isVisible());
    await bob.page.getByLabel(/^Message to/).fill('');

    // Reply with a quote.
    await messageAction(bob.page, 'Hello Bob!', 'Reply');
    await send(bob.page, 'Hi Alice, replying here');
    const reply = message(alice.page, 'Hi Alice, replying here');
    await reply.waitFor();
    expect(await reply.locator('blockquote').textContent()).toContain('Hello Bob!');

    // Edit and delete reach the other side.
    await send(alice.page, 'Typo mesage');
    await message(bob.page, 'Typo mesage').waitFor();
    await messageAction(alice.page, 'Typo mesage', 'Edit');
    await alice.page.getByLabel(/^Message to/).fill('Fixed message');
    await alice.page.getByLabel(/^Message to/).press('Enter');
    await message(bob.page, 'Fixed message').locator('.edited').waitFor();
    await send(alice.page, 'Delete me');
    await message(bob.page, 'Delete me').waitFor();
    await messageAction(alice.page, 'Delete me', 'Delete');
    await until('deleted on the other side', async () => (await bob.page.getByText('This message was deleted.').count()) === 1);

    await screenshot(alice.page, '04-chat-alice');
    await screenshot(bob.page, '05-chat-bob');
  });

  it('groups: create, manage members, see who read a message', async () => {
    await server.user('carol', 'Carol');
    await server.user('dave', 'Dave');
    await alice.page.getByRole('link', { name: /New chat/ }).click();
    await alice.page.getByLabel('Group name').fill('Team 团队');
    await alice.page.getByLabel('Members').fill('bob, carol');
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.getByRole('heading', { name: 'Team 团队' }).waitFor();
    await send(alice.page, 'Standup in 5');

    await openConversation(bob.page, /^Team 团队/);
    await message(bob.page, 'Standup in 5').waitFor();
    await until('read by 1 of 2', async () => (await message(alice.page, 'Standup in 5').getByRole('button', { name: /Read by/ }).textContent()) === 'Read by 1 of 2');
    await message(alice.page, 'Standup in 5').getByRole('button', { name: /Read by/ }).click();
    const receipts = alice.page.getByTestId('receipt-list');
    await until('receipts list', async () => (await receipts.locator('li').count()) === 2);
    expect(await receipts.locator('li', { hasText: 'Bob' }).locator('.receipt-state').textContent()).toBe('Read');
    expect(await receipts.locator('li', { hasText: 'Carol' }).locator('.receipt-state').textContent()).toBe('Sent');
    await screenshot(alice.page, '06-group-receipts');
    await alice.page.keyboard.press('Escape');

    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByLabel('Add by handle').fill('dave');
    await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
    const members = alice.page.getByTestId('member-list');
    await until('dave added', async () => (await members.locator('li').count()) === 4);
    await members.locator('li', { hasText: 'Carol' }).getByRole('button', { name: /Remove/ }).click();
    await until('carol removed', async () => (await members.locator('li').count()) === 3);
    await members.locator('li', { hasText: 'Dave' }).getByRole('button', { name: 'Make owner' }).click();
    await until('dave is owner', async () => (await members.locator('li', { hasText: 'Dave' }).locator('.role').textContent()) === 'owner');
    await screenshot(alice.page, '07-group-members');
    await alice.page.keyboard.press('Escape');
    // Bob's open tab follows the membership changes.
    await until('bob sees 3 members', async () => (await bob.page.getByTestId('chat-subtitle').textContent()) === '3 members');
  });

  it('a deadline passes while the reader is away: the sender sees "unread" and "SMS sent", the outbox has the SMS', async () => {
    // Bob binds and verifies a phone number; the code is in the outbox, which Alice (admin) reads.
    await bob.page.getByRole('link', { name: 'Settings' }).click();
    await bob.page.getByLabel('Mobile number').fill('+49 151 12345678');
    await bob.page.getByRole('button', { name: 'Send code' }).click();
    await bob.page.getByLabel('Code').waitFor();
    await alice.page.getByRole('link', { name: 'Outbox' }).click();
    const codeRow = alice.page.getByTestId('outbox').locator('tr', { hasText: 'verification code' }).first();
    const code = await until('verification code in the outbox', async () => /\b(\d{6})\b/.exec((await codeRow.textContent()) ?? '')?.[1]);
    await screenshot(alice.page, '08-outbox-code');
    await bob.page.getByLabel('Code').fill(code);
    await bob.page.getByRole('button', { name: 'Verify' }).click();
    await until('phone verified', async () => (await bob.page.getByTestId('phone-status').textContent())?.includes('verified') && !(await bob.page.getByTestId('phone-status').textContent())?.includes('not verified'));
    await screenshot(bob.page, '09-settings');

    // Bob closes his tab; Alice sends an urgent message that must be read within 1 s.
    await bob.page.close();
    await openConversation(alice.page, /^李雷 Bob/);
    await alice.page.getByRole('button', { name: 'Send options' }).click();
    await alice.page.getByLabel('Tell me if unread after').selectOption('custom');
    await alice.page.getByLabel('Custom deadline').fill('1s');
    await alice.page.getByLabel('Priority').selectOption('urgent');
    await send(alice.page, 'Urgent: call me back');
    const status = message(alice.page, 'Urgent: call me back').getByTestId('message-status');
    await until('"unread" and "SMS sent" on the message', async () => {
      const text = (await status.textContent()) ?? '';
      return /Unread after 1 s/.test(text) && /SMS (sent|delivered)/.test(text);
    });
    await screenshot(alice.page, '10-unread-sms-sent');
    // Back to plain messages for the rest.
    await alice.page.getByLabel('Tell me if unread after').selectOption('');
    await alice.page.getByLabel('Priority').selectOption('normal');
    await alice.page.getByRole('button', { name: 'Send options' }).click();

    // "Send as SMS now" on an ordinary message nobody has read.
    await send(alice.page, 'Are you there?');
    await until('sent', async () => (await tickOf(alice.page, 'Are you there?')) === 'sent');
    await messageAction(alice.page, 'Are you there?', 'Send as SMS now');
    await until('"SMS sent" after the command', async () => /SMS (sent|delivered)/.test((await message(alice.page, 'Are you there?').getByTestId('message-status').textContent()) ?? ''));

    const outbox = await (await createAdminClient()).outbox({ channel: 'sms' });
    const fallbacks = outbox.filter((item) => item.purpose === 'fallback');
    expect(fallbacks.map((item) => item.recipient)).toEqual(['+4915112345678', '+4915112345678']);
    expect(fallbacks.some((item) => item.body.includes('Urgent: call me back'))).toBe(true);
    expect(fallbacks.some((item) => item.body.includes('Are you there?'))).toBe(true);

    // Bob comes back: the message is there and Alice's tick turns to read.
    bob.page = await bob.context.newPage();
    bob.page.on('dialog', (d) => void d.accept());
    await bob.page.goto('/');
    await openConversation(bob.page, /^Alice/);
    await message(bob.page, 'Are you there?').waitFor();
    await until('read after coming back', async () => (await tickOf(alice.page, 'Urgent: call me back')) === 'read' && (await tickOf(alice.page, 'Are you there?')) === 'read');
  });

  async function createAdminClient() {
    const client = server.client();
    await client.login('alice', 'password-alice', 'e2e check');
    return client;
  }

  it('a network drop and back loses nothing and duplicates nothing', async () => {
    await alice.context.setOffline(true);
    await until('alice shows offline', async () => (await alice.page.locator('.conn').getAttribute('data-state')) !== 'open');

    const fromBob = ['while offline 1', 'while offline 2', 'while offline 3'];
    for (const text of fromBob) await send(bob.page, text);
    const fromAlice = ['queued offline A', 'queued offline B'];
    for (const text of fromAlice) await send(alice.page, text);
    await message(alice.page, 'queued offline B').waitFor();
    expect(await alice.page.locator('article.msg.pending').count()).toBe(2);
    await screenshot(alice.page, '11-offline');

    await alice.context.setOffline(false);
    await until('alice back online', async () => (await alice.page.locator('.conn').getAttribute('data-state')) === 'open');
    for (const text of [...fromBob, ...fromAlice]) {
      await until(`"${text}" once on both sides`, async () => (await message(alice.page, text).count()) === 1 && (await message(bob.page, text).count()) === 1);
    }
    await until('no pending messages left', async () => (await alice.page.locator('article.msg.pending').count()) === 0);
    // Still exactly once after everything settled, and on the server too.
    await new Promise((r) => setTimeout(r, 500));
    for (const text of [...fromBob, ...fromAlice]) {
      expect(await message(alice.page, text).count(), text).toBe(1);
      expect(await message(bob.page, text).count(), text).toBe(1);
    }
    const admin = await createAdminClient();
    const direct = (await admin.conversations()).find((c) => c.kind === 'direct')!;
    const history = await admin.history(direct.id, { limit: 200 });
    for (const text of [...fromBob, ...fromAlice]) expect(history.messages.filter((m) => m.text === text), text).toHaveLength(1);
    const ids = await alice.page.locator('article.msg[data-message-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-message-id')));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('history scrolls back page by page without gaps or repeats', async () => {
    const erin = await server.user('erin', 'Erin');
    const conv = await erin.openDirect('alice');
    for (let i = 1; i <= 120; i++) await erin.send(conv.id, { text: `history #${i}` });
    await alice.page.goto(`/c/${conv.id}`);
    await message(alice.page, 'history #120').waitFor();
    const list = alice.page.getByTestId('messages');
    await until('the beginning of the conversation', async () => {
      await list.evaluate((el) => (el.scrollTop = 0));
      return (await alice.page.getByText('This is the beginning of the conversation.').count()) === 1;
    });
    const texts = await alice.page.locator('article.msg .text').allTextContents();
    expect(texts).toEqual(Array.from({ length: 120 }, (_, i) => `history #${i + 1}`));
  });

  it('fits a phone-width screen and works from the keyboard', async () => {
    const phone = await newPage(browser, server.url, { width: 390, height: 780 });
    await phone.page.goto('/login');
    // Focus order: handle → password → log in; Enter submits.
    await phone.page.getByLabel('Handle').focus();
    await phone.page.keyboard.type('bob');
    await phone.page.keyboard.press('Tab');
    await phone.page.keyboard.type('password-bob');
    await phone.page.keyboard.press('Tab');
    expect(await phone.page.evaluate(() => document.activeElement?.textContent)).toBe('Log in');
    await screenshot(phone.page, '12-phone-login');
    await phone.page.keyboard.press('Enter');
    await phone.page.getByTestId('conversation-list').waitFor();
    // Bob's other tab had the chat open, so everything is read there and here.
    await until('no unread on the new device', async () => (await phone.page.getByTestId('unread-count').count()) === 0);
    await screenshot(phone.page, '13-phone-list');
    await openConversation(phone.page, /^Alice/);
    expect(await phone.page.getByTestId('conversation-list').isVisible()).toBe(false);
    expect(await phone.page.getByRole('link', { name: 'Back to chats' }).isVisible()).toBe(true);
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    expect(await phone.page.locator('[role="log"][aria-live="polite"]').count()).toBe(1);
    await screenshot(phone.page, '14-phone-chat');

    // Bob revokes the phone's session from his other tab: the phone is signed out at once.
    await bob.page.getByRole('link', { name: 'Settings' }).click();
    const devices = bob.page.getByTestId('device-list');
    await until('two devices', async () => (await devices.locator('li').count()) === 2);
    await devices.locator('li', { hasNotText: 'this device' }).getByRole('button', { name: 'Revoke' }).click();
    await until('the phone is signed out', async () => (await phone.page.getByText('This device was signed out').count()) === 1);
    expect(new URL(phone.page.url()).pathname).toBe('/login');
    await phone.context.close();
  });
});

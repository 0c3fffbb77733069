import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryReport } from '../../src/channels/channel.js';
import { SmtpEmailChannel, SmtpSendError } from '../../src/channels/email/smtp.js';
import { systemClock } from '../../src/scheduler/clock.js';

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** A real SMTP server (smtp-server) on loopback; AUTH PLAIN/LOGIN without TLS, as a local relay would. */
async function startServer(extra: Partial<SMTPServerOptions> = {}): Promise<{ server: SMTPServer; port: number; received: Received[]; next(): Promise<Received> }> {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === 'p@ss') callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      else if (address.address.startsWith('busy@')) callback(Object.assign(new Error('4.2.1 Mailbox busy, try later'), { responseCode: 450 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail: Received = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(mail);
        waiters.shift()?.(mail);
        callback();
      });
    },
    ...extra,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.server.address() as AddressInfo).port, received, next: () => new Promise((resolve) => waiters.push(resolve)) };
}

/** Just enough MIME to check what nodemailer wrote: unfolded headers, RFC 2047 words, base64/quoted-printable bodies. */
function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoded = raw.slice(split + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const bytes =
    cte === 'base64'
      ? Buffer.from(encoded.replace(/\s+/g, ''), 'base64')
      : cte === 'quoted-printable'
        ? Buffer.from(encoded.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1')
        : Buffer.from(encoded, 'utf8');
  return { headers, body: bytes.toString('utf8').replace(/\r\n$/, '') };
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
    );
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ channel: SmtpEmailChannel; reports: DeliveryReport[]; nextReport(): Promise<DeliveryReport>; smtp: Awaited<ReturnType<typeof startServer>> }> {
  const smtp = await startServer();
  cleanups.push(() => new Promise<void>((resolve) => smtp.server.close(() => resolve())));
  const channel = new SmtpEmailChannel({ url: `smtp://mailer:${encodeURIComponent('p@ss')}@127.0.0.1:${smtp.port}`, from: 'Parley <noreply@parley.test>' }, systemClock);
  cleanups.push(() => channel.close());
  const reports: DeliveryReport[] = [];
  const waiters: ((r: DeliveryReport) => void)[] = [];
  channel.onDeliveryReport((r) => {
    reports.push(r);
    waiters.shift()?.(r);
  });
  return { channel, reports, nextReport: () => new Promise((resolve) => waiters.push(resolve)), smtp };
}

describe('SMTP channel against a loopback smtp-server', () => {
  it('delivers from/to/subject/body intact, with UTF-8 Chinese text, and reports delivered', async () => {
    const { channel, smtp, nextReport } = await setup();
    const mail = smtp.next();
    const report = nextReport();
    const text = '您好！您有一条未读的紧急消息。\n请打开 Parley 查看。 — Grüße, €5';
    const result = await channel.send({ to: 'li.wei@example.cn', subject: '未读消息 from Ana', text, purpose: 'fallback' });
    const got = await mail;
    expect(got.user).toBe('mailer');
    expect(got.from).toBe('noreply@parley.test');
    expect(got.to).toEqual(['li.wei@example.cn']);
    const { headers, body } = parseMail(got.raw);
    expect(decodeWords(headers.get('subject')!)).toBe('未读消息 from Ana');
    expect(headers.get('from')).toBe('Parley <noreply@parley.test>');
    expect(headers.get('to')).toBe('li.wei@example.cn');
    expect(headers.get('content-type')).toMatch(/text\/plain; charset=utf-8/i);
    expect(headers.get('message-id')).toBe(`<${result.id}>`);
    expect(headers.get('x-parley-purpose')).toBe('fallback');
    expect(body.replace(/\r\n/g, '\n')).toBe(text);
    expect(await report).toMatchObject({ id: result.id, status: 'delivered' });
    expect((await report).detail).toMatch(/^250/);
  });

  it('a recipient refused with 550 rejects send() and reports failed under the id in the error', async () => {
    const { channel, smtp, reports, nextReport } = await setup();
    const report = nextReport();
    const error = await channel.send({ to: 'nobody@example.com', subject: 'x', text: 'x', purpose: 'fallback' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SmtpSendError);
    const e = error as SmtpSendError;
    expect(e).toMatchObject({ permanent: true, responseCode: 550 });
    expect(e.message).toMatch(/No such user/);
    expect(await report).toMatchObject({ id: e.id, status: 'failed' });
    expect(reports[0]!.detail).toMatch(/550/);
    expect(smtp.received).toHaveLength(0);
  });

  it('a temporary refusal (4xx) rejects without a failed report, so the caller may retry', async () => {
    const { channel, reports, nextReport } = await setup();
    await expect(channel.send({ to: 'busy@example.com', subject: 'x', text: 'x', purpose: 'fallback' })).rejects.toMatchObject({ permanent: false, responseCode: 450 });
    // The next send's report is the first report at all.
    const report = nextReport();
    const { id } = await channel.send({ to: 'ok@example.com', subject: 'x', text: 'x', purpose: 'fallback' });
    expect(await report).toMatchObject({ id, status: 'delivered' });
    expect(reports).toHaveLength(1);
  });

  it('wrong SMTP credentials reject send() as a temporary (configuration) failure without a report', async () => {
    const smtp = await startServer();
    cleanups.push(() => new Promise<void>((resolve) => smtp.server.close(() => resolve())));
    const channel = new SmtpEmailChannel({ url: `smtp://mailer:wrong@127.0.0.1:${smtp.port}`, from: 'noreply@parley.test' }, systemClock);
    cleanups.push(() => channel.close());
    const reports: DeliveryReport[] = [];
    channel.onDeliveryReport((r) => reports.push(r));
    const error = await channel.send({ to: 'a@example.com', subject: 'x', text: 'x', purpose: 'test' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SmtpSendError);
    expect(error).toMatchObject({ permanent: false, responseCode: 535 });
    expect((error as Error).message).toMatch(/Invalid username or password/);
    expect(smtp.received).toHaveLength(0);
    // A report would have been emitted on the next timer tick; one round trip later there is none.
    await new Promise<void>((resolve) => systemClock.after(0, resolve));
    expect(reports).toHaveLength(0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { Channels } from '../../src/channels/channel.js';
import { createChannels, HttpSmsChannel, SmppSmsChannel, SmtpEmailChannel } from '../../src/channels/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/scheduler/clock.js';
import type { Db } from '../../src/storage/db.js';
import { TestSmsc } from './smsc.js';

/** None of the non-outbox backends touches the database. */
const noDb = undefined as unknown as Db;
const opened: Channels[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await Promise.all([c.sms.close(), c.email.close()]);
});

describe('channel configuration', () => {
  it('PARLEY_SMS_CHANNEL=smpp with PARLEY_SMPP_* binds to the SMSC and sends from PARLEY_SMS_FROM', async () => {
    const smsc = await new TestSmsc('esme', 'pw').start();
    try {
      const { config } = loadConfig(
        {},
        {
          PARLEY_SMS_CHANNEL: 'smpp',
          PARLEY_SMPP_URL: smsc.url(),
          PARLEY_SMPP_SYSTEM_TYPE: 'VMA',
          PARLEY_SMPP_WINDOW: '5',
          PARLEY_SMS_FROM: '+4930123456',
          PARLEY_EMAIL_CHANNEL: 'smtp',
          PARLEY_SMTP_URL: 'smtp://127.0.0.1:1',
          PARLEY_EMAIL_FROM: 'noreply@parley.test',
          PARLEY_LOG_LEVEL: 'silent',
        },
      );
      const channels = createChannels(config, noDb, systemClock);
      opened.push(channels);
      expect(channels.sms).toBeInstanceOf(SmppSmsChannel);
      expect(channels.email).toBeInstanceOf(SmtpEmailChannel);
      const { id } = await channels.sms.send({ to: '+4915112345678', text: 'configured', purpose: 'test' });
      expect(smsc.lastBind).toMatchObject({ system_id: 'esme', password: 'pw', system_type: 'VMA' });
      expect(smsc.stored[0]).toMatchObject({ messageId: id, source: '4930123456', sourceTon: 1 });
    } finally {
      await Promise.all(opened.splice(0).map((c) => Promise.all([c.sms.close(), c.email.close()])));
      await smsc.stop();
    }
  });

  it('PARLEY_SMS_CHANNEL=http builds the HTTP gateway channel', () => {
    const { config } = loadConfig({}, { PARLEY_SMS_CHANNEL: 'http', PARLEY_SMS_HTTP_URL: 'https://sms.example.com/send', PARLEY_SMS_HTTP_AUTH: 'Bearer x' });
    const channels = createChannels({ ...config, emailChannel: 'smtp', smtpUrl: 'smtp://127.0.0.1:1', emailFrom: 'a@b.c' }, noDb, systemClock);
    opened.push(channels);
    expect(channels.sms).toBeInstanceOf(HttpSmsChannel);
  });

  it('rejects bad URLs and a backend without its settings', () => {
    expect(() => loadConfig({}, { PARLEY_SMPP_URL: 'http://smsc:2775' })).toThrow(ConfigError);
    expect(() => loadConfig({}, { PARLEY_SMTP_URL: 'mail.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({}, { PARLEY_SMS_CHANNEL: 'carrier-pigeon' })).toThrow(/one of outbox, smpp, http/);
    const { config } = loadConfig({}, { PARLEY_SMS_CHANNEL: 'smpp' });
    expect(() => createChannels(config, noDb, systemClock)).toThrow(/needs PARLEY_SMPP_URL/);
    const mail = loadConfig({}, { PARLEY_EMAIL_CHANNEL: 'smtp', PARLEY_SMTP_URL: 'smtp://127.0.0.1:25' }).config;
    expect(() => createChannels({ ...mail, smsChannel: 'http', smsHttpUrl: 'http://127.0.0.1:1' }, noDb, systemClock)).toThrow(/PARLEY_EMAIL_FROM/);
  });
});

import { ConfigError, type Config } from '../config.js';
import type { Clock } from '../scheduler/clock.js';
import type { Db } from '../storage/db.js';
import type { Channels, EmailChannel, SmsChannel } from './channel.js';
import { OutboxEmailChannel } from './email/outbox.js';
import { SmtpEmailChannel } from './email/smtp.js';
import { HttpSmsChannel } from './sms/http.js';
import { OutboxSmsChannel } from './sms/outbox.js';
import { SmppSmsChannel } from './sms/smpp.js';

export type { Channels, SmsChannel, EmailChannel, SmsMessage, EmailMessage } from './channel.js';
export { HttpSmsChannel } from './sms/http.js';
export { SmppSmsChannel } from './sms/smpp.js';
export { SmtpEmailChannel } from './email/smtp.js';

export type ChannelConfig = Pick<
  Config,
  | 'logLevel'
  | 'smsChannel'
  | 'smsFrom'
  | 'smppUrl'
  | 'smppSystemType'
  | 'smppWindow'
  | 'smppEnquireLinkMs'
  | 'smsHttpUrl'
  | 'smsHttpMethod'
  | 'smsHttpTemplate'
  | 'smsHttpAuth'
  | 'smsHttpIdPath'
  | 'smsHttpWebhookSecret'
  | 'smsHttpReportIdPath'
  | 'smsHttpReportStatusPath'
  | 'emailChannel'
  | 'smtpUrl'
  | 'emailFrom'
>;

/** Connection trouble of the SMPP session, one JSON line on stderr (the channels have no logger of their own). */
function channelLog(config: Pick<Config, 'logLevel'>): ((event: string, detail?: Record<string, unknown>) => void) | undefined {
  if (['silent', 'fatal', 'error'].includes(config.logLevel)) return undefined;
  const noisy = new Set(['smpp.bound', 'smpp.throttled', 'smpp.notification_ignored']);
  return (event, detail) => {
    if (noisy.has(event) && !['debug', 'trace', 'info'].includes(config.logLevel)) return;
    process.stderr.write(`${JSON.stringify({ time: Date.now(), msg: event, ...detail })}\n`);
  };
}

function createSms(config: ChannelConfig, db: Db, clock: Clock): SmsChannel {
  switch (config.smsChannel) {
    case 'outbox':
      return new OutboxSmsChannel(db, clock);
    case 'smpp':
      if (!config.smppUrl) throw new ConfigError('PARLEY_SMS_CHANNEL=smpp needs PARLEY_SMPP_URL (smpp://system_id:password@host:port)');
      // Binds in the background (createChannels stays synchronous): sends queue until bound.
      return new SmppSmsChannel(
        { url: config.smppUrl, systemType: config.smppSystemType, sourceAddr: config.smsFrom, window: config.smppWindow, enquireLinkMs: config.smppEnquireLinkMs, log: channelLog(config) },
        clock,
      );
    case 'http':
      if (!config.smsHttpUrl) throw new ConfigError('PARLEY_SMS_CHANNEL=http needs PARLEY_SMS_HTTP_URL');
      return new HttpSmsChannel(
        {
          url: config.smsHttpUrl,
          method: config.smsHttpMethod === 'PUT' ? 'PUT' : 'POST',
          template: config.smsHttpTemplate,
          auth: config.smsHttpAuth,
          idPath: config.smsHttpIdPath,
          from: config.smsFrom,
          webhookSecret: config.smsHttpWebhookSecret,
          reportIdPath: config.smsHttpReportIdPath,
          reportStatusPath: config.smsHttpReportStatusPath,
        },
        clock,
      );
    default:
      throw new ConfigError(`unknown SMS channel ${config.smsChannel}`);
  }
}

function createEmail(config: ChannelConfig, db: Db, clock: Clock): EmailChannel {
  switch (config.emailChannel) {
    case 'outbox':
      return new OutboxEmailChannel(db, clock);
    case 'smtp':
      if (!config.smtpUrl || !config.emailFrom) throw new ConfigError('PARLEY_EMAIL_CHANNEL=smtp needs PARLEY_SMTP_URL and PARLEY_EMAIL_FROM');
      return new SmtpEmailChannel({ url: config.smtpUrl, from: config.emailFrom }, clock);
    default:
      throw new ConfigError(`unknown e-mail channel ${config.emailChannel}`);
  }
}

export function createChannels(config: ChannelConfig, db: Db, clock: Clock): Channels {
  return { sms: createSms(config, db, clock), email: createEmail(config, db, clock) };
}

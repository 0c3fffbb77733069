import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { newId } from '../../ids.js';
import type { Clock } from '../../scheduler/clock.js';
import type { DeliveryReport, EmailChannel, EmailMessage, SendResult } from '../channel.js';

/**
 * E-mail over SMTP through nodemailer. send() resolves when the server accepted the message (its
 * 250 after DATA) with the message's Message-ID (without angle brackets) as id, and a `delivered`
 * report follows — SMTP tells no more than "accepted for delivery". A permanent refusal (5xx, or
 * every recipient rejected) rejects send() with an SmtpSendError and emits a `failed` report for
 * the id in that error; temporary ones (4xx, connection trouble) only reject, so the caller may retry.
 */
export interface SmtpOptions {
  /** smtp://user:pass@host:587 or smtps://…:465; nodemailer URL options (e.g. ?pool=true) apply. */
  url: string;
  /** From header, e.g. `Parley <noreply@example.com>`. */
  from: string;
}

export class SmtpSendError extends Error {
  override name = 'SmtpSendError';
  constructor(
    message: string,
    /** The Message-ID the e-mail would have had; a `failed` report quotes it when permanent. */
    readonly id: string,
    readonly permanent: boolean,
    readonly responseCode?: number,
  ) {
    super(message);
  }
}

function domainOf(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  const domain = address.split('@')[1]?.trim();
  return domain && /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'parley.invalid';
}

export class SmtpEmailChannel implements EmailChannel {
  readonly name = 'smtp';
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly domain: string;
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];

  constructor(
    private readonly options: SmtpOptions,
    private readonly clock: Clock,
  ) {
    if (!/^smtps?:\/\//.test(options.url)) throw new Error('SMTP URL must start with smtp:// or smtps://');
    if (!options.from) throw new Error('an e-mail From address is required for the SMTP channel');
    this.transport = nodemailer.createTransport(options.url);
    this.domain = domainOf(options.from);
  }

  async send(message: EmailMessage): Promise<SendResult> {
    const id = `${newId()}@${this.domain}`;
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: `<${id}>`,
        headers: { 'X-Parley-Purpose': message.purpose },
      });
      if (info.accepted.length === 0) throw Object.assign(new Error(`recipient rejected: ${info.response}`), { responseCode: 550 });
      this.report({ id, status: 'delivered', detail: info.response, at: this.clock.now() });
      return { id };
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number; response?: string };
      // Permanent for this message: the server refused its envelope or content with a 5xx. A 5xx to
      // AUTH or EHLO is our configuration's fault, not the message's.
      const aboutMessage = e.code === 'EENVELOPE' || e.code === 'EMESSAGE' || e.code === undefined;
      const permanent = aboutMessage && typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
      const detail = e.response ?? e.message;
      if (permanent) this.report({ id, status: 'failed', detail, at: this.clock.now() });
      throw new SmtpSendError(`SMTP ${permanent ? 'refused' : 'failed'}: ${detail}`, id, permanent, e.responseCode);
    }
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reportHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  /** Reported after the caller has send()'s outcome, like the other channels. */
  private report(report: DeliveryReport): void {
    this.clock.after(0, () => {
      for (const handler of this.reportHandlers) handler(report);
    });
  }
}

SmtpEmailChannel satisfies new (options: SmtpOptions, clock: Clock) => EmailChannel;

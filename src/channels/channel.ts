/**
 * Outbound channels. One interface per kind, one file per backend, each checked with `satisfies`.
 * The fallback issue adds SMPP, an HTTP SMS gateway and SMTP behind these same interfaces.
 */
export interface SmsMessage {
  /** E.164 number. */
  to: string;
  text: string;
  /** Why it is sent (verification, fallback, order…), for the outbox view and logs. */
  purpose: string;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  purpose: string;
}

export interface SendResult {
  /** The channel's id for the message (the outbox row id, the SMSC's message id, …). */
  id: string;
}

export interface SmsChannel {
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
  close(): Promise<void>;
}

export interface EmailChannel {
  readonly name: string;
  send(message: EmailMessage): Promise<SendResult>;
  close(): Promise<void>;
}

export interface Channels {
  sms: SmsChannel;
  email: EmailChannel;
}

/**
 * Outbound channels. One interface per kind, one file per backend, each checked with `satisfies`.
 * Sending resolves once the channel has accepted the message (the SMSC's submit_sm_resp, the SMTP
 * server's 250, the outbox row); the final fate arrives later as a delivery report.
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
  /** The channel's id for the message (the outbox row id, the SMSC's message id, …); delivery reports quote it. */
  id: string;
  /** Parts the text was split into (long SMS), 1 otherwise. */
  parts?: number;
}

export interface DeliveryReport {
  /** The SendResult.id of the message this reports on. */
  id: string;
  status: 'delivered' | 'failed';
  /** Channel-specific detail (e.g. SMPP stat UNDELIV / err 001). */
  detail?: string;
  at: number;
}

/** A mobile-originated SMS (deliver_sm that is not a receipt, or an HTTP gateway callback). */
export interface InboundSms {
  from: string;
  to: string;
  text: string;
  at: number;
}

export interface SmsChannel {
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
  onDeliveryReport(handler: (report: DeliveryReport) => void): void;
  onInbound(handler: (sms: InboundSms) => void): void;
  close(): Promise<void>;
}

export interface EmailChannel {
  readonly name: string;
  send(message: EmailMessage): Promise<SendResult>;
  onDeliveryReport(handler: (report: DeliveryReport) => void): void;
  close(): Promise<void>;
}

export interface Channels {
  sms: SmsChannel;
  email: EmailChannel;
}

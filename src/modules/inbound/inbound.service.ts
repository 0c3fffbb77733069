import type { Channels, InboundSms } from '../../channels/channel.js';
import type { WebhookRequest, WebhookResponse } from '../../channels/sms/http.js';
import { HttpSmsChannel } from '../../channels/sms/http.js';

export type InboundSmsHandler = (sms: InboundSms) => Promise<void> | void;

/**
 * Mobile-originated SMS (SMPP deliver_sm, or the HTTP gateway's callback) and gateway delivery
 * reports enter here. Features subscribe with `onSms` (ordering by SMS keyword uses it); an SMS
 * nobody handles is dropped after being logged.
 */
export class InboundService {
  private readonly handlers: InboundSmsHandler[] = [];

  constructor(
    private readonly channels: Channels,
    private readonly log: (msg: string, detail: Record<string, unknown>) => void,
  ) {
    channels.sms.onInbound((sms) => void this.dispatch(sms));
  }

  onSms(handler: InboundSmsHandler): void {
    this.handlers.push(handler);
  }

  /** The HTTP gateway's delivery-report webhook; 404 when the SMS channel is not the HTTP gateway. */
  gatewayReport(req: WebhookRequest): WebhookResponse {
    const gateway = this.channels.sms;
    if (!(gateway instanceof HttpSmsChannel)) return { status: 404, body: { ok: false, error: 'the SMS channel is not an HTTP gateway' } };
    return gateway.handleDeliveryReport(req);
  }

  /** The HTTP gateway's inbound-SMS webhook. */
  gatewayInbound(req: WebhookRequest): WebhookResponse {
    const gateway = this.channels.sms;
    if (!(gateway instanceof HttpSmsChannel)) return { status: 404, body: { ok: false, error: 'the SMS channel is not an HTTP gateway' } };
    return gateway.handleInbound(req);
  }

  private async dispatch(sms: InboundSms): Promise<void> {
    if (this.handlers.length === 0) {
      this.log('inbound SMS without a handler', { from: sms.from, to: sms.to, chars: sms.text.length });
      return;
    }
    for (const handler of this.handlers) {
      try {
        await handler(sms);
      } catch (err) {
        this.log('inbound SMS handler failed', { from: sms.from, error: (err as Error).message });
      }
    }
  }
}

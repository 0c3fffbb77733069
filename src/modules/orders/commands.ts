import type { InteractionChannel } from '../../protocol/orders.js';

/** What a user can text to the short code or write to the orders service account. */
export type OrderCommand =
  | { kind: 'order'; service: string; channel?: InteractionChannel }
  | { kind: 'code'; code: string }
  | { kind: 'stop'; service: string | null }
  | { kind: 'resend' }
  | { kind: 'help' };

const CHANNELS: Record<string, InteractionChannel> = { IM: 'im', CHAT: 'im', SMS: 'sms', EMAIL: 'email' };

/** ORDER <code> [IM|SMS|EMAIL], a 6-digit code (optionally after YES), STOP/CANCEL [code], RESEND; anything else is help. */
export function parseCommand(text: string): OrderCommand {
  const words = text.trim().toUpperCase().split(/\s+/).filter(Boolean);
  const [first, second, third] = words;
  if (first === 'ORDER' && second && /^[A-Z0-9]{2,20}$/.test(second) && words.length <= 3) {
    if (third === undefined) return { kind: 'order', service: second };
    const channel = CHANNELS[third];
    if (channel) return { kind: 'order', service: second, channel };
  }
  if (first && /^\d{6}$/.test(first) && words.length === 1) return { kind: 'code', code: first };
  if (first === 'YES' && second && /^\d{6}$/.test(second) && words.length === 2) return { kind: 'code', code: second };
  if ((first === 'STOP' || first === 'CANCEL' || first === 'UNSUBSCRIBE') && words.length <= 2) return { kind: 'stop', service: second ?? null };
  if (first === 'RESEND' && words.length === 1) return { kind: 'resend' };
  return { kind: 'help' };
}

export const HELP_TEXT = 'Send ORDER <code> to order (add SMS, EMAIL or IM to choose where the answer goes), the 6-digit code to confirm, STOP <code> to cancel, RESEND for a new code.';

import { createHmac, timingSafeEqual } from 'node:crypto';
import { newId } from '../../ids.js';
import type { Clock } from '../../scheduler/clock.js';
import type { DeliveryReport, InboundSms, SendResult, SmsChannel, SmsMessage } from '../channel.js';
import { countParts } from './encoding.js';

/**
 * SMS through a generic HTTP SMS gateway.
 *
 * send() renders the JSON body template — string values may contain the placeholders {to}, {text},
 * {from} and {id} (our reference for the message), substituted inside the parsed JSON so any text
 * stays valid JSON — and sends it with the configured method and auth header. A 2xx answer resolves
 * with the gateway's message id, read from the JSON response at `idPath` (dot path, e.g.
 * `messages.0.id`), or with our reference when the gateway returns none. 429 and 5xx answers and
 * network errors are retried with backoff (Retry-After honoured); other answers reject.
 *
 * The gateway's delivery reports and inbound SMS arrive as webhooks: the HTTP transport mounts
 * `handleDeliveryReport` / `handleInbound`, which check the shared secret (HMAC-SHA256 of the raw
 * body in `X-Signature`, optionally `sha256=`-prefixed, or the secret itself as a Bearer token or in
 * `X-Webhook-Secret`) and accept JSON or form-encoded bodies.
 */
export interface HttpSmsOptions {
  url: string;
  method?: 'POST' | 'PUT';
  /** JSON with {to}, {text}, {from}, {id} placeholders in string values. */
  template?: string;
  /** `Bearer abc…` (sent as Authorization) or `Header-Name: value`. */
  auth?: string;
  /** Where the gateway's message id is in its JSON answer (dot path); empty: use our reference. */
  idPath?: string;
  from?: string;
  /** Webhook secret; empty disables the webhooks (they answer 404). */
  webhookSecret?: string;
  /** Dot paths of the message id and the status in a delivery-report webhook body. */
  reportIdPath?: string;
  reportStatusPath?: string;
  timeoutMs?: number;
  /** Further tries after a 429/5xx/network failure. */
  retries?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export const DEFAULT_HTTP_SMS_TEMPLATE = '{"to":"{to}","text":"{text}","from":"{from}","reference":"{id}"}';

export interface WebhookRequest {
  /** The raw request body, as received (the signature covers these bytes). */
  body: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface WebhookResponse {
  status: 200 | 400 | 401 | 404;
  body: { ok: boolean; error?: string };
}

const DELIVERED = new Set(['delivered', 'delivrd', 'success', 'successful', 'ok', 'done']);
const FAILED = new Set(['failed', 'failure', 'undelivered', 'undeliv', 'undeliverable', 'rejected', 'rejectd', 'expired', 'error', 'deleted', 'unknown']);

/** Reads a dot path (`a.b.0.c`) out of parsed JSON. */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.replace(/^\$\.?/, '').split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function render(template: unknown, values: Record<string, string>): unknown {
  if (typeof template === 'string') return template.replace(/\{(to|text|from|id)\}/g, (_, key: string) => values[key] ?? '');
  if (Array.isArray(template)) return template.map((item) => render(item, values));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, render(v, values)]));
  return template;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(value) ? value[0] : value;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    body: string,
  ) {
    super(`SMS gateway answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

export class HttpSmsChannel implements SmsChannel {
  readonly name = 'http';
  private readonly template: unknown;
  private readonly authHeader: [string, string] | undefined;
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];
  private readonly inboundHandlers: ((sms: InboundSms) => void)[] = [];
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly options: HttpSmsOptions,
    private readonly clock: Clock,
  ) {
    if (!/^https?:\/\//.test(options.url)) throw new Error('HTTP SMS gateway URL must start with http:// or https://');
    try {
      this.template = JSON.parse(options.template || DEFAULT_HTTP_SMS_TEMPLATE);
    } catch (err) {
      throw new Error(`HTTP SMS body template is not valid JSON: ${(err as Error).message}`);
    }
    const auth = options.auth?.trim();
    if (auth) {
      const named = /^([A-Za-z0-9-]+):\s*(.+)$/.exec(auth);
      this.authHeader = named && !/^(bearer|basic)$/i.test(named[1]!) ? [named[1]!, named[2]!] : ['authorization', auth];
    }
  }

  async send(message: SmsMessage): Promise<SendResult> {
    if (this.closed) throw new Error('HTTP SMS channel is closed');
    const reference = newId();
    const body = JSON.stringify(render(this.template, { to: message.to, text: message.text, from: this.options.from ?? '', id: reference }));
    const retries = this.options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.post(body);
        const id = this.options.idPath === '' ? undefined : readPath(answer, this.options.idPath ?? 'id');
        return { id: id === undefined || id === null || id === '' ? reference : String(id), parts: countParts(message.text) };
      } catch (err) {
        const status = err instanceof HttpStatusError ? err.status : undefined;
        const retryable = status === undefined ? !this.closed : status === 429 || status >= 500;
        if (!retryable || attempt >= retries) throw err;
        const backoff = Math.min(this.options.retryMaxMs ?? 10_000, (this.options.retryMinMs ?? 500) * 2 ** attempt);
        const wait = err instanceof HttpStatusError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, 60_000) : backoff;
        await new Promise<void>((resolve) => this.clock.after(wait, resolve));
      }
    }
  }

  private async post(body: string): Promise<unknown> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = this.clock.after(this.options.timeoutMs ?? 10_000, () => controller.abort(new Error('SMS gateway did not answer in time')));
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (this.authHeader) headers[this.authHeader[0]] = this.authHeader[1];
      const res = await fetch(this.options.url, { method: this.options.method ?? 'POST', headers, body, signal: controller.signal });
      const text = await res.text();
      if (!res.ok) {
        const retryAfter = res.headers.get('retry-after');
        const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined;
        throw new HttpStatusError(res.status, seconds, text);
      }
      try {
        return text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        return undefined; // a gateway that answers plain text: no id to read
      }
    } finally {
      timer.cancel();
      this.controllers.delete(controller);
    }
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reportHandlers.push(handler);
  }

  onInbound(handler: (sms: InboundSms) => void): void {
    this.inboundHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers) controller.abort(new Error('HTTP SMS channel closed'));
  }

  /**
   * The gateway's delivery-report webhook. Body fields at `reportIdPath` (default `id`) and
   * `reportStatusPath` (default `status`); delivered/DELIVRD/success → delivered,
   * failed/UNDELIV/rejected/expired… → failed, anything else (queued, sent…) is acknowledged and ignored.
   */
  handleDeliveryReport(req: WebhookRequest): WebhookResponse {
    const parsed = this.verify(req);
    if ('status' in parsed) return parsed;
    const id = readPath(parsed.fields, this.options.reportIdPath ?? 'id');
    const rawStatus = readPath(parsed.fields, this.options.reportStatusPath ?? 'status');
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof rawStatus !== 'string' || id === '') {
      return { status: 400, body: { ok: false, error: 'delivery report needs an id and a status' } };
    }
    const word = rawStatus.trim().toLowerCase();
    const status = DELIVERED.has(word) ? 'delivered' : FAILED.has(word) ? 'failed' : undefined;
    if (status) {
      const report: DeliveryReport = { id: String(id), status, detail: rawStatus, at: this.clock.now() };
      for (const handler of this.reportHandlers) handler(report);
    }
    return { status: 200, body: { ok: true } };
  }

  /** The gateway's inbound-SMS webhook: fields `from`, `to`, `text`. */
  handleInbound(req: WebhookRequest): WebhookResponse {
    const parsed = this.verify(req);
    if ('status' in parsed) return parsed;
    const { from, to, text } = parsed.fields as Record<string, unknown>;
    if (typeof from !== 'string' || typeof text !== 'string') return { status: 400, body: { ok: false, error: 'inbound SMS needs from and text' } };
    const sms: InboundSms = { from, to: typeof to === 'string' ? to : '', text, at: this.clock.now() };
    for (const handler of this.inboundHandlers) handler(sms);
    return { status: 200, body: { ok: true } };
  }

  private verify(req: WebhookRequest): WebhookResponse | { fields: unknown } {
    const secret = this.options.webhookSecret;
    if (!secret) return { status: 404, body: { ok: false, error: 'webhook disabled (no secret configured)' } };
    const raw = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const signature = header(req.headers, 'x-signature')?.trim().replace(/^sha256=/i, '');
    const bearer = /^Bearer\s+(.+)$/i.exec(header(req.headers, 'authorization') ?? '')?.[1] ?? header(req.headers, 'x-webhook-secret');
    const expected = createHmac('sha256', secret).update(raw).digest('hex');
    const authentic = (signature !== undefined && safeEqual(signature.toLowerCase(), expected)) || (bearer !== undefined && safeEqual(bearer.trim(), secret));
    if (!authentic) return { status: 401, body: { ok: false, error: 'bad or missing signature' } };
    const text = raw.toString('utf8');
    const type = header(req.headers, 'content-type') ?? '';
    try {
      if (/x-www-form-urlencoded/i.test(type)) return { fields: Object.fromEntries(new URLSearchParams(text)) };
      return { fields: JSON.parse(text) as unknown };
    } catch {
      return { status: 400, body: { ok: false, error: 'body is not valid JSON' } };
    }
  }
}

HttpSmsChannel satisfies new (options: HttpSmsOptions, clock: Clock) => SmsChannel;

import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryReport, InboundSms } from '../../src/channels/channel.js';
import { HttpSmsChannel, type HttpSmsOptions } from '../../src/channels/sms/http.js';
import { systemClock } from '../../src/scheduler/clock.js';

interface GatewayRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server standing in for the SMS gateway; `answer` decides each response. */
async function startGateway(answer: (req: GatewayRequest, n: number) => { status: number; body?: unknown; headers?: Record<string, string> }) {
  const requests: GatewayRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      const { status, body, headers } = answer(request, requests.length);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/sms`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(answer: Parameters<typeof startGateway>[0], options: Partial<HttpSmsOptions> = {}) {
  const gateway = await startGateway(answer);
  cleanups.push(gateway.close);
  const channel = new HttpSmsChannel({ url: gateway.url, from: 'Parley', webhookSecret: 'whsec_test', retryMinMs: 10, ...options }, systemClock);
  cleanups.push(() => channel.close());
  const reports: DeliveryReport[] = [];
  const inbound: InboundSms[] = [];
  channel.onDeliveryReport((r) => reports.push(r));
  channel.onInbound((s) => inbound.push(s));
  return { gateway, channel, reports, inbound };
}

describe('HTTP SMS gateway channel against a node:http gateway', () => {
  it('posts the rendered template with the auth header and returns the gateway id from the JSON path', async () => {
    const { gateway, channel } = await setup(() => ({ status: 200, body: { messages: [{ id: 'gw-42', status: 'queued' }] } }), {
      template: '{"sms":{"destination":"{to}","body":"{text}","sender":"{from}"},"ref":"{id}","flash":false}',
      auth: 'Bearer sk_live_123',
      idPath: 'messages.0.id',
    });
    const text = 'Quote " and backslash \\ and newline\nand 中文 {to}';
    const result = await channel.send({ to: '+8613800138000', text, purpose: 'fallback' });
    expect(result).toEqual({ id: 'gw-42', parts: 1 });
    expect(gateway.requests).toHaveLength(1);
    const req = gateway.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/sms');
    expect(req.headers.authorization).toBe('Bearer sk_live_123');
    expect(req.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req.body) as { sms: Record<string, string>; ref: string; flash: boolean };
    expect(body.sms).toEqual({ destination: '+8613800138000', body: text, sender: 'Parley' });
    expect(body.ref).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.flash).toBe(false);
  });

  it('sends a named auth header with PUT and falls back to its own reference when the gateway returns no id', async () => {
    const { gateway, channel } = await setup(() => ({ status: 202 }), { method: 'PUT', auth: 'X-Api-Key: k-123' });
    const result = await channel.send({ to: '+4915112345678', text: '中'.repeat(100), purpose: 'test' });
    const req = gateway.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.headers['x-api-key']).toBe('k-123');
    expect(req.headers.authorization).toBeUndefined();
    const body = JSON.parse(req.body) as Record<string, string>;
    expect(result).toEqual({ id: body.reference, parts: 2 });
  });

  it('retries 503 and 429 (honouring Retry-After) and then succeeds once', async () => {
    const { gateway, channel } = await setup((_req, n) =>
      n === 1 ? { status: 503, body: { error: 'down' } } : n === 2 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200, body: { id: 'ok-3' } },
    );
    const result = await channel.send({ to: '+4915112345678', text: 'retry me', purpose: 'test' });
    expect(result.id).toBe('ok-3');
    expect(gateway.requests).toHaveLength(3);
    expect(new Set(gateway.requests.map((r) => JSON.parse(r.body).reference as string)).size).toBe(1);
  });

  it('a 400 is not retried and rejects with the gateway message', async () => {
    const { gateway, channel } = await setup(() => ({ status: 400, body: { error: 'invalid number' } }));
    await expect(channel.send({ to: '+1', text: 'x', purpose: 'test' })).rejects.toThrow(/HTTP 400.*invalid number/);
    expect(gateway.requests).toHaveLength(1);
  });

  it('delivery-report webhook: HMAC signature or shared secret accepted, anything else 401', async () => {
    const { channel, reports } = await setup(() => ({ status: 200, body: { id: 'gw-1' } }));
    const { id } = await channel.send({ to: '+4915112345678', text: 'hi', purpose: 'test' });
    const body = JSON.stringify({ id, status: 'DELIVRD' });
    const signature = createHmac('sha256', 'whsec_test').update(body).digest('hex');

    expect(channel.handleDeliveryReport({ body, headers: {} }).status).toBe(401);
    expect(channel.handleDeliveryReport({ body, headers: { 'x-signature': 'sha256=' + '0'.repeat(64) } }).status).toBe(401);
    expect(channel.handleDeliveryReport({ body: body.replace('DELIVRD', 'UNDELIV'), headers: { 'x-signature': signature } }).status).toBe(401);
    expect(channel.handleDeliveryReport({ body, headers: { authorization: 'Bearer nope' } }).status).toBe(401);
    expect(reports).toHaveLength(0);

    expect(channel.handleDeliveryReport({ body, headers: { 'x-signature': `sha256=${signature}` } })).toEqual({ status: 200, body: { ok: true } });
    expect(reports).toEqual([expect.objectContaining({ id: 'gw-1', status: 'delivered', detail: 'DELIVRD' })]);

    const failed = 'id=gw-1&status=undelivered';
    expect(channel.handleDeliveryReport({ body: failed, headers: { authorization: 'Bearer whsec_test', 'content-type': 'application/x-www-form-urlencoded' } }).status).toBe(200);
    expect(reports[1]).toMatchObject({ id: 'gw-1', status: 'failed', detail: 'undelivered' });

    // Intermediate states are acknowledged and ignored; malformed bodies are 400.
    expect(channel.handleDeliveryReport({ body: JSON.stringify({ id, status: 'queued' }), headers: { 'x-webhook-secret': 'whsec_test' } }).status).toBe(200);
    expect(channel.handleDeliveryReport({ body: '{"status":"delivered"}', headers: { 'x-webhook-secret': 'whsec_test' } }).status).toBe(400);
    expect(channel.handleDeliveryReport({ body: 'not json', headers: { 'x-webhook-secret': 'whsec_test' } }).status).toBe(400);
    expect(reports).toHaveLength(2);
  });

  it('reads report fields from configured paths; webhooks without a secret are disabled', async () => {
    const { channel, reports } = await setup(() => ({ status: 200 }), { reportIdPath: 'data.messageId', reportStatusPath: 'data.state' });
    const body = JSON.stringify({ data: { messageId: 'm-9', state: 'failed' } });
    expect(channel.handleDeliveryReport({ body: Buffer.from(body), headers: { 'X-Webhook-Secret': 'whsec_test' } }).status).toBe(200);
    expect(reports).toEqual([expect.objectContaining({ id: 'm-9', status: 'failed' })]);

    const open = await setup(() => ({ status: 200 }), { webhookSecret: '' });
    expect(open.channel.handleDeliveryReport({ body, headers: {} }).status).toBe(404);
  });

  it('inbound webhook reaches onInbound', async () => {
    const { channel, inbound } = await setup(() => ({ status: 200 }));
    const body = JSON.stringify({ from: '+4915112345678', to: '12345', text: 'STOP 停止' });
    expect(channel.handleInbound({ body, headers: { 'x-signature': createHmac('sha256', 'whsec_test').update(body).digest('hex') } }).status).toBe(200);
    expect(inbound).toEqual([expect.objectContaining({ from: '+4915112345678', to: '12345', text: 'STOP 停止' })]);
  });
});

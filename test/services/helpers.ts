import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { CreateServiceBody, CreatedService, EventData, ParleyClient, StreamEvent } from '../../sdk/index.js';
import { createNodeClient } from '../../sdk/node.js';
import type { ParleyStream, StreamOptions } from '../../sdk/stream.js';
import { freshStorage, type TestServer } from '../support/server.js';

export type User = ParleyClient & { accountId: string; handle: string };

/** Creates a service through the admin API and returns it with a client logged in as the service (its token). */
export async function createService(server: { url: string }, admin: ParleyClient, body: CreateServiceBody): Promise<CreatedService & { client: ParleyClient }> {
  const created = await admin.createService(body);
  return { ...created, client: createNodeClient({ baseUrl: server.url, token: created.token }) };
}

/** Opens a stream and waits until it is live. */
export async function openStream(client: ParleyClient, options: StreamOptions = {}): Promise<ParleyStream> {
  const stream = client.stream(options);
  await stream.waitForState('open');
  return stream;
}

/** Collects every event of a stream. */
export function collect(stream: ParleyStream): StreamEvent[] {
  const events: StreamEvent[] = [];
  stream.on('event', (e) => void events.push(e));
  return events;
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface WebhookReceiver {
  url: string;
  calls: { headers: IncomingMessage['headers']; body: string }[];
  /** Decides each answer: status and body. */
  answer: (body: string, call: number) => { status: number; body?: string } | Promise<{ status: number; body?: string }>;
  close(): Promise<void>;
}

/** A real HTTP server on loopback standing in for the service's webhook endpoint. */
export async function webhookReceiver(answer: WebhookReceiver['answer']): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', calls: [], answer, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      receiver.calls.push({ headers: req.headers, body });
      const out = await receiver.answer(body, receiver.calls.length);
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}

export function rows(server: TestServer) {
  return server.app.services.storage.db.selectFrom('service_requests').selectAll().execute();
}

type AnyData = EventData['message.new'] & EventData['task.failed'] & EventData['task.progress'] & EventData['task.ack'];
/** An event's data with every field these tests read; check `type` first. */
export const d = (e: StreamEvent): AnyData => e.data as AnyData;

/** A fresh database for a `parley serve` child process: its environment, and how to drop it. */
export async function childStorage(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const storage = await freshStorage();
  return { env: { DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '' }, drop: storage.drop };
}

/**
 * Stalls the server's database for `ms`, as a long lock or a slow disk would. PostgreSQL: another
 * connection locks the tables requests are written to. SQLite: a transaction holds the server's one
 * connection, so every statement of the server waits for it (a lock held by another process would
 * not do: SQLite refuses a read transaction's upgrade at once instead of waiting).
 */
export async function stallWrites(server: TestServer, ms: number): Promise<{ released: Promise<unknown> }> {
  if (server.app.services.storage.engine === 'postgres') {
    const client = new pg.Client({ connectionString: server.config.databaseUrl });
    await client.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE conversations, service_requests IN EXCLUSIVE MODE');
    const released = new Promise<void>((resolve) =>
      setTimeout(async () => {
        await client.query('COMMIT');
        await client.end();
        resolve();
      }, ms),
    );
    return { released };
  }
  let holding = () => {};
  const held = new Promise<void>((resolve) => (holding = resolve));
  const released = server.app.services.storage.db.transaction().execute(async () => {
    holding();
    await new Promise((resolve) => setTimeout(resolve, ms));
  });
  await held;
  return { released };
}

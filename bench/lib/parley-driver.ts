import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createNodeClient, type ParleyClient } from '../../sdk/node.js';
import type { ParleyStream } from '../../sdk/stream.js';
import type { EventType, StreamEvent } from '../../src/protocol/events.js';
import type { Driver, Flight, FlowSink } from './flow.js';
import { keepAliveFetch } from './http-fetch.js';
import { forEachLimited } from './pool.js';

/**
 * Parley as the system under test, driven through the SDK exactly as an app would: each device
 * holds one WebSocket stream that acknowledges what it receives (the SDK's auto-ack, which marks
 * messages delivered); messages are sent and marked read over that socket (`socket`, the SDK's
 * stream.send/markRead) or over HTTP (`http`, client.send/markRead).
 */
export type Transport = 'socket' | 'http';


const PASSWORD = 'bench-password';
/**
 * Idle keep-alive sockets are closed by the client well before the server's keep-alive timeout
 * (72 s in Fastify): otherwise a request sent just as the server closes the socket dies with
 * ECONNRESET. (Node's Agent honours the server's `Keep-Alive: timeout` hint only when it has a
 * timeout of its own.)
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

function isEvent<T extends EventType>(event: StreamEvent, type: T): event is StreamEvent<T> {
  return event.type === type;
}

interface Device {
  handle: string;
  client: ParleyClient;
  agent: http.Agent;
  stream: ParleyStream | undefined;
}

interface Pair {
  conversationId: string;
  sender: Device;
  recipient: Device;
}

export interface ParleySetupOptions {
  baseUrl: string;
  /** Several nodes of one cluster: device i talks to baseUrls[i % n] (so a pair's two devices sit on different nodes). */
  baseUrls?: string[];
  clients: number;
  /** Concurrent registrations/logins; scrypt makes each take tens of ms of a core. */
  authConcurrency: number;
  /** HTTP connections a device may open, at least the send window so sends don't queue in the client. */
  socketsPerDevice: number;
  transport: Transport;
  log: (line: string) => void;
}

export interface ParleySetupTimings {
  registerAndLoginS: number;
  openConversationsS: number;
  connectStreamsS: number;
}

/**
 * The recipient's read marker. At most one markRead is in flight per conversation; when it returns,
 * the next one names the newest message received meanwhile. Read receipts are watermarks, so one
 * call covers everything before it, as a chat app marks read up to what is on screen.
 */
class ReadMarker {
  private newestSeq = 0;
  private newestId = '';
  private markedSeq = 0;
  private busy = false;
  private scheduled = false;

  constructor(
    private readonly markRead: (upToMessageId: string) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  saw(messageId: string, seq: number): void {
    if (seq > this.newestSeq) {
      this.newestSeq = seq;
      this.newestId = messageId;
    }
    this.kick();
  }

  private kick(): void {
    if (this.busy || this.scheduled || this.newestSeq <= this.markedSeq) return;
    // Waiting for the rest of this I/O turn lets one call cover a burst of messages.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.busy || this.newestSeq <= this.markedSeq) return;
    this.busy = true;
    const seq = this.newestSeq;
    this.markRead(this.newestId).then(
      () => {
        this.markedSeq = Math.max(this.markedSeq, seq);
        this.busy = false;
        this.kick();
      },
      (error: unknown) => {
        this.onError(error);
        setTimeout(() => {
          this.busy = false;
          this.kick();
        }, 100);
      },
    );
  }
}

export class ParleyDriver implements Driver {
  readonly name = 'parley';
  /** Stream reconnects and error frames seen; a healthy run has none. */
  reconnects = 0;
  streamErrors = 0;
  readErrors = 0;
  lastReadError: string | undefined;
  private sink: FlowSink | undefined;

  private constructor(
    private readonly devices: Device[],
    private readonly pairList: Pair[],
    private readonly transport: Transport,
  ) {}

  get pairs(): number {
    return this.pairList.length;
  }

  /** Registers and logs in `clients` users, opens a direct conversation per pair and one stream per device. */
  static async setUp(options: ParleySetupOptions): Promise<{ driver: ParleyDriver; timings: ParleySetupTimings }> {
    const devices: Device[] = Array.from({ length: options.clients }, (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: options.socketsPerDevice, timeout: IDLE_SOCKET_TIMEOUT_MS });
      const urls = options.baseUrls ?? [options.baseUrl];
      const client = createNodeClient({ baseUrl: urls[i % urls.length]!, fetch: keepAliveFetch(agent) });
      return { handle: `bench${i}`, client, agent, stream: undefined };
    });

    let t = performance.now();
    let done = 0;
    await forEachLimited(devices, options.authConcurrency, async (device) => {
      await device.client.register({ handle: device.handle, displayName: device.handle, password: PASSWORD });
      await device.client.login(device.handle, PASSWORD, `${device.handle}-bench`);
      if (++done % 100 === 0) options.log(`  ${done}/${devices.length} users registered and logged in`);
    });
    const registerAndLoginS = (performance.now() - t) / 1000;

    t = performance.now();
    const pairList: Pair[] = [];
    const pairIndexes = Array.from({ length: options.clients / 2 }, (_, k) => k);
    await forEachLimited(pairIndexes, 16, async (k) => {
      const sender = devices[2 * k]!;
      const recipient = devices[2 * k + 1]!;
      const conversation = await sender.client.openDirect(recipient.handle);
      pairList[k] = { conversationId: conversation.id, sender, recipient };
    });
    const openConversationsS = (performance.now() - t) / 1000;

    t = performance.now();
    const driver = new ParleyDriver(devices, pairList, options.transport);
    await forEachLimited(devices, 50, async (device) => {
      device.stream = device.client.stream();
      await device.stream.waitForState('open', 30_000);
    });
    const connectStreamsS = (performance.now() - t) / 1000;
    driver.listen();
    return { driver, timings: { registerAndLoginS, openConversationsS, connectStreamsS } };
  }

  /**
   * Opens the HTTP connections the phases will use (a sender up to its window, a recipient one),
   * a few devices at a time. Keep-alive sockets from registration may have been closed as idle,
   * and a thousand devices reconnecting at once to a busy server is a connection storm (listen
   * queue overflow, SYN retries), not the steady state this benchmark measures.
   */
  async warmConnections(socketsPerSender: number): Promise<void> {
    if (this.transport !== 'http') return;
    await forEachLimited(this.pairList, 25, async (pair) => {
      await Promise.all([...Array.from({ length: socketsPerSender }, () => pair.sender.client.me()), pair.recipient.client.me()]);
    });
  }

  attach(sink: FlowSink): void {
    this.sink = sink;
  }

  send(flight: Flight, text: string): void {
    const pair = this.pairList[flight.pair]!;
    const input = { text, clientId: flight.id, receipt: { read: true } };
    const sent = this.transport === 'socket' ? pair.sender.stream!.send(pair.conversationId, input) : pair.sender.client.send(pair.conversationId, input);
    sent.then(
      (message) => this.sink!.accepted(flight, message.seq),
      (error: unknown) => this.sink!.failed(flight, error),
    );
  }

  async close(): Promise<void> {
    for (const device of this.devices) {
      device.stream?.close();
      device.agent.destroy();
    }
  }

  private listen(): void {
    this.pairList.forEach((pair, index) => {
      const { client, stream } = pair.recipient;
      const markRead = (upTo: string) => (this.transport === 'socket' ? stream!.markRead(pair.conversationId, upTo) : client.markRead(pair.conversationId, upTo));
      const marker = new ReadMarker(markRead, (error) => {
        this.readErrors++;
        this.lastReadError = error instanceof Error ? error.message : String(error);
      });
      pair.recipient.stream!.on('event', (event) => {
        if (!isEvent(event, 'message.new')) return;
        const { message } = event.data;
        if (message.conversationId !== pair.conversationId || message.clientId === null) return;
        this.sink!.delivered(message.clientId);
        marker.saw(message.id, message.seq);
      });
      pair.sender.stream!.on('event', (event) => {
        if (!isEvent(event, 'receipt')) return;
        const receipt = event.data;
        if (receipt.state === 'read' && receipt.conversationId === pair.conversationId) this.sink!.readUpTo(index, receipt.upToSeq);
      });
    });
    for (const device of this.devices) {
      device.stream!.on('state', (state) => {
        if (state === 'connecting') this.reconnects++;
      });
      device.stream!.on('error', () => this.streamErrors++);
    }
  }
}

import smpp from 'smpp';
import type { Clock, TimerHandle } from '../../scheduler/clock.js';
import type { DeliveryReport, InboundSms, SendResult, SmsChannel, SmsMessage } from '../channel.js';
import { concatUdh, segment } from './encoding.js';

/**
 * SMS over SMPP 3.4 as an ESME bound as transceiver (`smpp` package).
 *
 * - Connects at construction and keeps the session up: enquire_link every `enquireLinkMs`, a session
 *   that doesn't answer a request within `responseTimeoutMs` (or drops) is destroyed and re-bound
 *   with exponential backoff.
 * - send() splits and encodes the text (see ./encoding.ts), submits every part with
 *   registered_delivery=1 through a window of at most `window` unacknowledged submit_sm, and resolves
 *   when the SMSC has acknowledged every part: id = the first part's SMSC message id.
 * - A submit the SMSC never acknowledged (connection lost, or no response in time) is submitted
 *   again on the next session; ESME_RTHROTTLED and ESME_RMSGQFUL pause submitting with exponential
 *   backoff and retry the part; other error statuses reject send().
 * - deliver_sm is always answered. Delivery receipts (esm_class message type 0x04) become delivery
 *   reports quoting send()'s id (a multipart message is delivered when every part is, failed when
 *   one part fails); other deliver_sm are mobile-originated SMS (concatenated ones reassembled).
 */
export interface SmppOptions {
  /** smpp://system_id:password@host:port (ssmpp:// for TLS). */
  url: string;
  systemType?: string;
  /** Sender: alphanumeric sender id, short code or +E.164 number; empty lets the SMSC choose. */
  sourceAddr?: string;
  /** Most submit_sm awaiting their submit_sm_resp at once. */
  window?: number;
  enquireLinkMs?: number;
  /** How long a bind, submit_sm or enquire_link may wait for its response before the session is dropped. */
  responseTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  throttleMinMs?: number;
  throttleMaxMs?: number;
  /** Throttling answers (RTHROTTLED/RMSGQFUL) tolerated per part before send() rejects. */
  maxThrottleRetries?: number;
  /** send() rejects when the message is not fully acknowledged after this long (e.g. no SMSC reachable). */
  sendTimeoutMs?: number;
  /** Sent messages remembered for mapping delivery receipts (oldest forgotten first). */
  maxTracked?: number;
  /** Parts of an inbound concatenated SMS are kept this long waiting for the rest. */
  inboundAssemblyMs?: number;
  log?: (event: string, detail?: Record<string, unknown>) => void;
}

const DEFAULTS = {
  window: 10,
  enquireLinkMs: 30_000,
  responseTimeoutMs: 10_000,
  reconnectMinMs: 500,
  reconnectMaxMs: 30_000,
  throttleMinMs: 200,
  throttleMaxMs: 10_000,
  maxThrottleRetries: 10,
  sendTimeoutMs: 10 * 60_000,
  maxTracked: 100_000,
  inboundAssemblyMs: 5 * 60_000,
} as const;

const STATUS = {
  ROK: 0x00,
  RMSGQFUL: 0x14,
  RTHROTTLED: 0x58,
} as const;

/** esm_class message-type bits (SMPP 3.4 §5.2.12). */
const ESM_TYPE_MASK = 0x3c;
const ESM_DELIVERY_RECEIPT = 0x04;
const ESM_UDHI = 0x40;

/** message_state TLV values (SMPP 3.4 §5.2.28) → receipt stat words. */
const MESSAGE_STATES = ['SCHEDULED', 'ENROUTE', 'DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'ACCEPTD', 'UNKNOWN', 'REJECTD', 'SKIPPED'];
const FINAL_FAILED = new Set(['EXPIRED', 'DELETED', 'UNDELIV', 'UNDELIVERABLE', 'REJECTD', 'REJECTED', 'UNKNOWN', 'FAILED', 'SKIPPED']);
const FINAL_DELIVERED = new Set(['DELIVRD', 'DELIVERED']);

export function smppStatusName(status: number): string {
  const name = Object.entries(smpp.errors).find(([, code]) => code === status)?.[0];
  return `${name ?? 'status'} (0x${status.toString(16).padStart(8, '0')})`;
}

interface Outgoing {
  parts: Part[];
  acked: number;
  done: boolean;
  deadline: TimerHandle;
  resolve(result: SendResult): void;
  reject(err: Error): void;
  tracking: Tracking;
}

interface Part {
  msg: Outgoing;
  index: number;
  /** Global submission order, so retried parts go out before newer ones and in their own order. */
  order: number;
  fields: Record<string, unknown>;
  throttled: number;
}

/** Delivery-receipt bookkeeping of one sent message. */
interface Tracking {
  /** send()'s id: the first part's SMSC id, once known. */
  id?: string;
  total: number;
  deliveredParts: Set<string>;
  finished: boolean;
  /** A final report computed before the first part's id was known. */
  pending?: Omit<DeliveryReport, 'id'>;
}

interface InFlight {
  part: Part;
  timer: TimerHandle;
}

interface Assembly {
  parts: (string | undefined)[];
  received: number;
  timer: TimerHandle;
}

/** `+4915…` → international (TON 1, NPI 1); other digits → unknown/ISDN; anything else → alphanumeric. */
function addressOf(addr: string): { ton: number; npi: number; addr: string } {
  if (addr === '') return { ton: 0, npi: 0, addr };
  if (/^\+\d+$/.test(addr)) return { ton: 1, npi: 1, addr: addr.slice(1) };
  if (/^\d+$/.test(addr)) return { ton: 0, npi: 1, addr };
  return { ton: 5, npi: 0, addr };
}

function messageText(pdu: smpp.PDU): { text: string; udh: Buffer[] } {
  const pick = (value: unknown): smpp.DecodedMessage | undefined =>
    value && typeof value === 'object' && 'message' in value ? (value as smpp.DecodedMessage) : undefined;
  const short = pick(pdu.short_message);
  const payload = pick(pdu.message_payload);
  const chosen = short && short.message.length > 0 ? short : (payload ?? short);
  const message = chosen?.message ?? '';
  return { text: typeof message === 'string' ? message : message.toString('latin1'), udh: chosen?.udh ?? [] };
}

export class SmppSmsChannel implements SmsChannel {
  readonly name = 'smpp';
  private readonly opts: Required<Omit<SmppOptions, 'log' | 'systemType' | 'sourceAddr'>> & Pick<SmppOptions, 'log'>;
  private readonly host: string;
  private readonly port: number;
  private readonly tls: boolean;
  private readonly systemId: string;
  private readonly password: string;
  private readonly systemType: string;
  private readonly source: { ton: number; npi: number; addr: string };

  private session: smpp.Session | undefined;
  private bound = false;
  private closed = false;
  private reconnectAttempt = 0;
  private reconnectTimer: TimerHandle | undefined;
  private bindTimer: TimerHandle | undefined;
  private enquireTimer: TimerHandle | undefined;
  private enquireWait: TimerHandle | undefined;
  private throttleTimer: TimerHandle | undefined;

  private readonly fresh: Part[] = [];
  private freshHead = 0;
  /** Parts to submit again (connection lost, throttled), kept in submission order. */
  private readonly retry: Part[] = [];
  private readonly inflight = new Map<number, InFlight>();
  private readonly pendingMessages = new Set<Outgoing>();
  private nextOrder = 0;
  private concatRef = Math.floor(Math.random() * 256);

  private readonly tracked = new Map<string, Tracking>();
  private readonly assemblies = new Map<string, Assembly>();
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];
  private readonly inboundHandlers: ((sms: InboundSms) => void)[] = [];

  private readyState: 'pending' | 'bound' | 'failed' = 'pending';
  private readonly readyPromise: Promise<void>;
  private settleReady!: (err?: Error) => void;

  constructor(
    options: SmppOptions,
    private readonly clock: Clock,
  ) {
    const url = new URL(options.url);
    if (url.protocol !== 'smpp:' && url.protocol !== 'ssmpp:') throw new Error(`SMPP URL must start with smpp:// or ssmpp://, got ${url.protocol}//`);
    this.tls = url.protocol === 'ssmpp:';
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port ? Number(url.port) : this.tls ? 3550 : 2775;
    this.systemId = decodeURIComponent(url.username);
    this.password = decodeURIComponent(url.password);
    this.systemType = options.systemType ?? '';
    this.source = addressOf(options.sourceAddr ?? '');
    this.opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof this.opts;
    if (this.opts.window < 1) throw new Error('SMPP window must be at least 1');
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => {
        if (this.readyState !== 'pending') return;
        this.readyState = err ? 'failed' : 'bound';
        if (err) reject(err);
        else resolve();
      };
    });
    // Nobody has to wait for ready(); a refused bind must not become an unhandled rejection.
    this.readyPromise.catch(() => {});
    this.connect();
  }

  /** Resolves at the first successful bind; rejects if the SMSC refuses the first bind (bad credentials) or the channel closes first. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Whether a session is bound right now. */
  get isBound(): boolean {
    return this.bound;
  }

  send(message: SmsMessage): Promise<SendResult> {
    if (this.closed) return Promise.reject(new Error('SMPP channel is closed'));
    let segments: ReturnType<typeof segment>;
    try {
      segments = segment(message.text);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const { dataCoding, parts: payloads } = segments;
    const dest = addressOf(message.to);
    const ref = payloads.length > 1 ? (this.concatRef = (this.concatRef + 1) & 0xff) : 0;
    return new Promise<SendResult>((resolve, reject) => {
      const msg: Outgoing = {
        parts: [],
        acked: 0,
        done: false,
        resolve,
        reject,
        tracking: { total: payloads.length, deliveredParts: new Set(), finished: false },
        deadline: this.clock.after(this.opts.sendTimeoutMs, () => this.fail(msg, new Error(`SMPP send not acknowledged within ${this.opts.sendTimeoutMs} ms`))),
      };
      payloads.forEach((payload, index) => {
        const multipart = payloads.length > 1;
        msg.parts.push({
          msg,
          index,
          order: this.nextOrder++,
          throttled: 0,
          fields: {
            service_type: '',
            source_addr_ton: this.source.ton,
            source_addr_npi: this.source.npi,
            source_addr: this.source.addr,
            dest_addr_ton: dest.ton,
            dest_addr_npi: dest.npi,
            destination_addr: dest.addr,
            esm_class: multipart ? ESM_UDHI : 0,
            registered_delivery: 1,
            data_coding: dataCoding,
            // A Buffer is written as is by the smpp package: the UDH and encoding are ours.
            short_message: multipart ? Buffer.concat([concatUdh(ref, payloads.length, index + 1), payload]) : payload,
          },
        });
      });
      this.pendingMessages.add(msg);
      this.fresh.push(...msg.parts);
      this.pump();
    });
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reportHandlers.push(handler);
  }

  onInbound(handler: (sms: InboundSms) => void): void {
    this.inboundHandlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of [this.reconnectTimer, this.bindTimer, this.enquireTimer, this.enquireWait, this.throttleTimer]) timer?.cancel();
    for (const { timer } of this.inflight.values()) timer.cancel();
    this.inflight.clear();
    for (const assembly of this.assemblies.values()) assembly.timer.cancel();
    this.assemblies.clear();
    for (const msg of [...this.pendingMessages]) this.fail(msg, new Error('SMPP channel closed before the SMSC acknowledged the message'));
    this.settleReady(new Error('SMPP channel closed before binding'));
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    await new Promise<void>((resolve) => {
      if (session.socket.destroyed) return resolve();
      session.socket.once('close', () => resolve());
      if (this.bound) {
        const give = this.clock.after(1000, () => session.destroy());
        const sent = session.unbind({}, () => {
          give.cancel();
          session.destroy();
        });
        if (!sent) session.destroy();
      } else {
        session.destroy();
      }
    });
    this.bound = false;
  }

  // ── connection ─────────────────────────────────────────────────────────────

  private log(event: string, detail?: Record<string, unknown>): void {
    this.opts.log?.(event, detail);
  }

  private connect(): void {
    if (this.closed) return;
    this.reconnectTimer = undefined;
    const session = smpp.connect({ host: this.host, port: this.port, tls: this.tls });
    this.session = session;
    session.on(this.tls ? 'secureConnect' : 'connect', () => this.bind(session));
    session.on('error', (err: Error) => {
      // Socket errors close the socket anyway; after a PDU parse error the package stops reading, so drop the session.
      this.log('smpp.error', { message: err.message });
      session.destroy();
    });
    session.on('close', () => this.onClose(session));
    session.on('deliver_sm', (pdu: smpp.PDU) => this.onDeliverSm(session, pdu));
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: smpp.PDU) => {
      this.log('smpp.unbind_by_smsc');
      session.send(pdu.response(), () => session.destroy());
    });
    // Neither connected nor bound in time: drop it and try again.
    this.bindTimer = this.clock.after(this.opts.responseTimeoutMs, () => {
      if (this.session === session && !this.bound) {
        this.log('smpp.bind_timeout');
        session.destroy();
      }
    });
  }

  private bind(session: smpp.Session): void {
    session.bind_transceiver(
      { system_id: this.systemId, password: this.password, system_type: this.systemType, interface_version: 0x34 },
      (pdu) => {
        if (this.session !== session || this.closed) return;
        this.bindTimer?.cancel();
        if (pdu.command_status !== STATUS.ROK) {
          const err = new Error(`SMPP bind refused: ${smppStatusName(pdu.command_status)}`);
          this.log('smpp.bind_refused', { status: pdu.command_status });
          this.settleReady(err);
          // Credentials rarely fix themselves within seconds: retry at the slowest pace.
          this.reconnectAttempt = Math.max(this.reconnectAttempt, 30);
          session.destroy();
          return;
        }
        this.bound = true;
        this.reconnectAttempt = 0;
        this.log('smpp.bound', { host: this.host, port: this.port });
        this.settleReady();
        this.enquireTimer = this.clock.every(this.opts.enquireLinkMs, () => this.enquireLink(session));
        this.pump();
      },
    );
  }

  private enquireLink(session: smpp.Session): void {
    if (this.session !== session || !this.bound || this.enquireWait) return;
    const wait = this.clock.after(this.opts.responseTimeoutMs, () => {
      this.log('smpp.enquire_link_timeout');
      session.destroy();
    });
    this.enquireWait = wait;
    const sent = session.enquire_link({}, () => {
      wait.cancel();
      if (this.enquireWait === wait) this.enquireWait = undefined;
    });
    if (!sent) wait.cancel();
  }

  private onClose(session: smpp.Session): void {
    if (this.session !== session) return;
    this.session = undefined;
    const wasBound = this.bound;
    this.bound = false;
    for (const timer of [this.bindTimer, this.enquireTimer, this.enquireWait]) timer?.cancel();
    this.enquireWait = undefined;
    // Whatever the SMSC never acknowledged goes out again on the next session, in its order.
    for (const { part, timer } of this.inflight.values()) {
      timer.cancel();
      this.requeue(part);
    }
    this.inflight.clear();
    if (this.closed) return;
    const delay = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** Math.min(this.reconnectAttempt, 30));
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.reconnectAttempt++;
    this.log('smpp.disconnected', { wasBound, reconnectInMs: jittered });
    this.reconnectTimer = this.clock.after(jittered, () => this.connect());
  }

  // ── sending ────────────────────────────────────────────────────────────────

  private requeue(part: Part): void {
    if (part.msg.done) return;
    let i = this.retry.length;
    while (i > 0 && this.retry[i - 1]!.order > part.order) i--;
    this.retry.splice(i, 0, part);
  }

  private nextPart(): Part | undefined {
    while (this.retry.length > 0) {
      const part = this.retry.shift()!;
      if (!part.msg.done) return part;
    }
    while (this.freshHead < this.fresh.length) {
      const part = this.fresh[this.freshHead++]!;
      if (this.freshHead > 1024 && this.freshHead * 2 > this.fresh.length) {
        this.fresh.splice(0, this.freshHead);
        this.freshHead = 0;
      }
      if (!part.msg.done) return part;
    }
    return undefined;
  }

  private pump(): void {
    while (this.bound && !this.closed && !this.throttleTimer && this.inflight.size < this.opts.window) {
      const part = this.nextPart();
      if (!part) return;
      if (!this.submit(part)) return;
    }
  }

  private submit(part: Part): boolean {
    const session = this.session!;
    // A new PDU per attempt: the package numbers it when sending.
    const pdu = new smpp.PDU('submit_sm', part.fields);
    const sent = session.send(pdu, (resp) => this.onSubmitResp(session, pdu.sequence_number, resp));
    if (!sent) {
      this.requeue(part);
      return false;
    }
    const timer = this.clock.after(this.opts.responseTimeoutMs, () => {
      if (this.session !== session) return;
      // The SMSC may or may not have the message; an unanswered session is no use either way.
      this.log('smpp.submit_timeout', { sequence: pdu.sequence_number });
      session.destroy();
    });
    this.inflight.set(pdu.sequence_number, { part, timer });
    return true;
  }

  private onSubmitResp(session: smpp.Session, sequence: number, resp: smpp.PDU): void {
    if (this.session !== session) return;
    const entry = this.inflight.get(sequence);
    if (!entry) return;
    this.inflight.delete(sequence);
    entry.timer.cancel();
    const { part } = entry;
    const status = resp.command_status;
    if (status === STATUS.ROK) {
      this.accepted(part, String(resp.message_id ?? ''));
    } else if (status === STATUS.RTHROTTLED || status === STATUS.RMSGQFUL) {
      part.throttled++;
      if (part.throttled > this.opts.maxThrottleRetries) {
        this.fail(part.msg, new Error(`SMPP submit_sm still refused after ${this.opts.maxThrottleRetries} retries: ${smppStatusName(status)}`));
      } else {
        this.requeue(part);
        const delay = Math.min(this.opts.throttleMaxMs, this.opts.throttleMinMs * 2 ** (part.throttled - 1));
        this.log('smpp.throttled', { status, retryInMs: delay });
        this.throttleTimer?.cancel();
        this.throttleTimer = this.clock.after(delay, () => {
          this.throttleTimer = undefined;
          this.pump();
        });
      }
    } else {
      this.fail(part.msg, new Error(`SMPP submit_sm refused: ${smppStatusName(status)}`));
    }
    this.pump();
  }

  private accepted(part: Part, smscId: string): void {
    const msg = part.msg;
    if (msg.done) return;
    const tracking = msg.tracking;
    this.track(smscId, tracking);
    if (part.index === 0) {
      tracking.id = smscId;
      if (tracking.pending) this.emitReport({ ...tracking.pending, id: smscId });
    }
    msg.acked++;
    if (msg.acked === msg.parts.length) {
      msg.done = true;
      msg.deadline.cancel();
      this.pendingMessages.delete(msg);
      msg.resolve({ id: tracking.id!, parts: msg.parts.length });
    }
  }

  private fail(msg: Outgoing, err: Error): void {
    if (msg.done) return;
    msg.done = true;
    msg.deadline.cancel();
    this.pendingMessages.delete(msg);
    msg.reject(err);
  }

  // ── delivery receipts ──────────────────────────────────────────────────────

  private track(smscId: string, tracking: Tracking): void {
    this.tracked.set(smscId, tracking);
    while (this.tracked.size > this.opts.maxTracked) this.tracked.delete(this.tracked.keys().next().value!);
  }

  /** Some SMSCs quote the id in decimal in receipts when submit_sm_resp gave it in hex, or the other way round. */
  private lookup(smscId: string): Tracking | undefined {
    const direct = this.tracked.get(smscId);
    if (direct) return direct;
    try {
      if (/^\d{1,20}$/.test(smscId)) {
        const hex = BigInt(smscId).toString(16);
        return this.tracked.get(hex) ?? this.tracked.get(hex.toUpperCase());
      }
      if (/^[0-9a-f]{1,16}$/i.test(smscId)) return this.tracked.get(BigInt(`0x${smscId}`).toString());
    } catch {
      // not a number after all
    }
    return undefined;
  }

  private emitReport(report: DeliveryReport): void {
    // After the current I/O callback, so a send() whose response came in the same packet as its receipt resolves first.
    this.clock.after(0, () => {
      for (const handler of this.reportHandlers) {
        try {
          handler(report);
        } catch (err) {
          this.log('smpp.report_handler_error', { message: (err as Error).message });
        }
      }
    });
  }

  private onDeliverSm(session: smpp.Session, pdu: smpp.PDU): void {
    try {
      const type = Number(pdu.esm_class ?? 0) & ESM_TYPE_MASK;
      if (type === ESM_DELIVERY_RECEIPT) this.onReceipt(pdu);
      else if (type !== 0) this.log('smpp.notification_ignored', { esmClass: pdu.esm_class }); // intermediate notifications, SME acks
      else this.onMobileOriginated(pdu);
    } catch (err) {
      this.log('smpp.deliver_sm_error', { message: (err as Error).message });
    } finally {
      session.send(pdu.response());
    }
  }

  private onReceipt(pdu: smpp.PDU): void {
    const { text } = messageText(pdu);
    const tlvId = typeof pdu.receipted_message_id === 'string' ? pdu.receipted_message_id.replace(/\0+$/, '') : '';
    const smscId = tlvId || /\bid:(\S+)/i.exec(text)?.[1];
    const statWord =
      /\bstat:(\w+)/i.exec(text)?.[1]?.toUpperCase() ?? (typeof pdu.message_state === 'number' ? MESSAGE_STATES[pdu.message_state] : undefined);
    if (!smscId || !statWord) {
      this.log('smpp.receipt_unparsed', { text });
      return;
    }
    const status = FINAL_DELIVERED.has(statWord) ? 'delivered' : FINAL_FAILED.has(statWord) ? 'failed' : undefined;
    if (!status) return; // ACCEPTD, ENROUTE…: not final
    const err = /\berr:(\w+)/i.exec(text)?.[1];
    const detail = `stat:${statWord}${err ? ` err:${err}` : ''}`;
    const at = this.clock.now();
    const tracking = this.lookup(smscId);
    if (!tracking) {
      // Sent before a restart, or forgotten: report under the SMSC id, which is send()'s id for one-part messages.
      this.emitReport({ id: smscId, status, detail, at });
      return;
    }
    if (tracking.finished) return; // a repeated receipt
    let report: Omit<DeliveryReport, 'id'> | undefined;
    if (status === 'failed') {
      report = { status, detail: tracking.total > 1 ? `part ${smscId}: ${detail}` : detail, at };
    } else {
      tracking.deliveredParts.add(smscId);
      if (tracking.deliveredParts.size >= tracking.total) report = { status, detail: tracking.total > 1 ? `${tracking.total} parts ${detail}` : detail, at };
    }
    if (!report) return;
    tracking.finished = true;
    if (tracking.id === undefined) tracking.pending = report;
    else this.emitReport({ ...report, id: tracking.id });
  }

  // ── mobile-originated SMS ──────────────────────────────────────────────────

  private onMobileOriginated(pdu: smpp.PDU): void {
    const { text, udh } = messageText(pdu);
    const from = Number(pdu.source_addr_ton) === 1 ? `+${String(pdu.source_addr).replace(/^\+/, '')}` : String(pdu.source_addr ?? '');
    const to = Number(pdu.dest_addr_ton) === 1 ? `+${String(pdu.destination_addr).replace(/^\+/, '')}` : String(pdu.destination_addr ?? '');
    const concat = this.concatInfo(pdu, udh);
    if (!concat || concat.total <= 1) {
      this.emitInbound({ from, to, text, at: this.clock.now() });
      return;
    }
    const key = `${from}|${to}|${concat.ref}|${concat.total}`;
    let assembly = this.assemblies.get(key);
    if (!assembly) {
      assembly = {
        parts: new Array<string | undefined>(concat.total).fill(undefined),
        received: 0,
        timer: this.clock.after(this.opts.inboundAssemblyMs, () => {
          this.assemblies.delete(key);
          this.log('smpp.inbound_incomplete', { from, to, ref: concat.ref });
        }),
      };
      this.assemblies.set(key, assembly);
    }
    if (concat.seq < 1 || concat.seq > concat.total || assembly.parts[concat.seq - 1] !== undefined) return;
    assembly.parts[concat.seq - 1] = text;
    assembly.received++;
    if (assembly.received === concat.total) {
      assembly.timer.cancel();
      this.assemblies.delete(key);
      this.emitInbound({ from, to, text: assembly.parts.join(''), at: this.clock.now() });
    }
  }

  /** Concatenation from the UDH (IEI 0x00 8-bit ref, 0x08 16-bit ref) or the sar_* TLVs. */
  private concatInfo(pdu: smpp.PDU, udh: Buffer[]): { ref: number; total: number; seq: number } | undefined {
    for (const ie of udh) {
      if (ie[0] === 0x00 && ie.length >= 5) return { ref: ie[2]!, total: ie[3]!, seq: ie[4]! };
      if (ie[0] === 0x08 && ie.length >= 6) return { ref: (ie[2]! << 8) | ie[3]!, total: ie[4]!, seq: ie[5]! };
    }
    if (typeof pdu.sar_total_segments === 'number' && typeof pdu.sar_segment_seqnum === 'number') {
      return { ref: Number(pdu.sar_msg_ref_num ?? 0), total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
    }
    return undefined;
  }

  private emitInbound(sms: InboundSms): void {
    for (const handler of this.inboundHandlers) {
      try {
        handler(sms);
      } catch (err) {
        this.log('smpp.inbound_handler_error', { message: (err as Error).message });
      }
    }
  }
}

SmppSmsChannel satisfies new (options: SmppOptions, clock: Clock) => SmsChannel;

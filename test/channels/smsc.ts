/**
 * A small SMSC for tests: the `smpp` package's server on loopback, with knobs to misbehave.
 * Not a mock: the channel under test talks real SMPP 3.4 over TCP to it.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import smpp from 'smpp';

export interface ReceivedSubmit {
  source: string;
  sourceTon: number;
  destination: string;
  destTon: number;
  destNpi: number;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** Information elements of the UDH ([iei, len, ...data]), empty without UDHI. */
  udh: Buffer[];
  /** The part's text as the smpp package decodes it (GSM 03.38 for data_coding 0, UTF-16BE for 8). */
  text: string;
}

export interface StoredSubmit extends ReceivedSubmit {
  messageId: string;
}

/** What the SMSC does with the n-th submit_sm it receives (1-based): answer OK, answer an error status, drop the connection, or hold the answer. */
export type SubmitAction = 'ok' | 'drop' | 'hold' | number;

export class TestSmsc extends EventEmitter {
  readonly server: smpp.Server;
  port = 0;
  binds = 0;
  bindFailures = 0;
  lastBind: Record<string, unknown> = {};
  enquireLinks = 0;
  unbinds = 0;
  answerEnquireLink = true;
  received: ReceivedSubmit[] = [];
  stored: StoredSubmit[] = [];
  policy: (submit: ReceivedSubmit, n: number) => SubmitAction = () => 'ok';
  held: (() => void)[] = [];
  private session: smpp.Session | undefined;
  private nextId = 0x5a000;

  constructor(
    readonly systemId = 'parley',
    readonly password = 'secret',
  ) {
    super();
    this.server = smpp.createServer((session) => this.accept(session));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(password = this.password): string {
    return `smpp://${this.systemId}:${password}@127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const session of [...this.server.sessions]) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once `condition` holds, re-checked at every change (no polling, no sleeps). */
  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      if (condition()) return resolve();
      const check = (): void => {
        if (!condition()) return;
        this.off('change', check);
        resolve();
      };
      this.on('change', check);
    });
  }

  private changed(): void {
    this.emit('change');
  }

  /** The currently bound session. */
  get bound(): smpp.Session {
    if (!this.session) throw new Error('no ESME is bound');
    return this.session;
  }

  /** A round trip to the ESME: everything it wrote before answering has arrived once this resolves. */
  ping(): Promise<void> {
    return new Promise((resolve) => this.bound.enquire_link({}, () => resolve()));
  }

  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }

  /** Sends a delivery receipt (esm_class 0x04); `tlv` adds receipted_message_id and message_state. Resolves with deliver_sm_resp's status. */
  receipt(messageId: string, stat: 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'ACCEPTD', options: { tlv?: boolean; err?: string } = {}): Promise<number> {
    const states: Record<string, number> = { DELIVRD: 2, EXPIRED: 3, UNDELIV: 5, ACCEPTD: 6 };
    const text = `id:${messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2401011200 done date:2401011201 stat:${stat} err:${options.err ?? '000'} text:`;
    const fields: Record<string, unknown> = {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '4915112345678',
      destination_addr: 'Parley',
      esm_class: 0x04,
      data_coding: 0,
      short_message: text,
    };
    if (options.tlv) {
      fields.receipted_message_id = messageId;
      fields.message_state = states[stat];
    }
    return new Promise((resolve) => this.bound.deliver_sm(fields, (resp) => resolve(resp.command_status)));
  }

  /** Sends a mobile-originated SMS (UCS-2); with `concat` as one part of a concatenated message. Resolves with deliver_sm_resp's status. */
  mo(from: string, to: string, text: string, concat?: { ref: number; total: number; seq: number }): Promise<number> {
    const fields: Record<string, unknown> = {
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: from,
      dest_addr_ton: 0,
      dest_addr_npi: 1,
      destination_addr: to,
      esm_class: 0,
      data_coding: 0x08,
      short_message: concat ? { udh: Buffer.from([0x05, 0x00, 0x03, concat.ref, concat.total, concat.seq]), message: text } : { message: text },
    };
    return new Promise((resolve) => this.bound.deliver_sm(fields, (resp) => resolve(resp.command_status)));
  }

  private accept(session: smpp.Session): void {
    session.on('error', () => session.destroy());
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
      this.changed();
    });
    session.on('bind_transceiver', (pdu: smpp.PDU) => {
      this.lastBind = { ...pdu };
      if (pdu.system_id !== this.systemId || pdu.password !== this.password) {
        this.bindFailures++;
        session.send(pdu.response({ command_status: smpp.errors.ESME_RINVPASWD }), () => session.close());
        this.changed();
        return;
      }
      this.binds++;
      this.session = session;
      session.send(pdu.response({ system_id: 'TestSMSC' }));
      this.changed();
    });
    session.on('enquire_link', (pdu: smpp.PDU) => {
      this.enquireLinks++;
      if (this.answerEnquireLink) session.send(pdu.response());
      this.changed();
    });
    session.on('unbind', (pdu: smpp.PDU) => {
      this.unbinds++;
      session.send(pdu.response(), () => session.close());
    });
    session.on('submit_sm', (pdu: smpp.PDU) => {
      const sm = pdu.short_message as smpp.DecodedMessage;
      const submit: ReceivedSubmit = {
        source: String(pdu.source_addr),
        sourceTon: Number(pdu.source_addr_ton),
        destination: String(pdu.destination_addr),
        destTon: Number(pdu.dest_addr_ton),
        destNpi: Number(pdu.dest_addr_npi),
        dataCoding: Number(pdu.data_coding),
        esmClass: Number(pdu.esm_class),
        registeredDelivery: Number(pdu.registered_delivery),
        udh: sm.udh ?? [],
        text: String(sm.message),
      };
      this.received.push(submit);
      const action = this.policy(submit, this.received.length);
      const answer = (): void => {
        const messageId = (this.nextId++).toString(16);
        this.stored.push({ ...submit, messageId });
        session.send(pdu.response({ message_id: messageId }));
        this.changed();
      };
      if (action === 'drop') {
        session.destroy();
      } else if (action === 'hold') {
        this.held.push(answer);
      } else if (typeof action === 'number') {
        session.send(pdu.response({ command_status: action }));
      } else {
        answer();
      }
      this.changed();
    });
  }
}

/** Reassembles concatenated parts (8-bit reference UDH) the way a handset would. */
export function reassemble(parts: ReceivedSubmit[]): { text: string; refs: Set<number>; totals: Set<number>; seqs: number[] } {
  const withUdh = parts.map((p) => {
    const ie = p.udh.find((e) => e[0] === 0x00);
    if (!ie) throw new Error('part without a concatenation IE');
    return { ref: ie[2]!, total: ie[3]!, seq: ie[4]!, text: p.text };
  });
  const sorted = [...withUdh].sort((a, b) => a.seq - b.seq);
  return {
    text: sorted.map((p) => p.text).join(''),
    refs: new Set(withUdh.map((p) => p.ref)),
    totals: new Set(withUdh.map((p) => p.total)),
    seqs: sorted.map((p) => p.seq),
  };
}

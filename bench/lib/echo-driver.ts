import WebSocket from 'ws';
import type { Driver, Flight, FlowSink } from './flow.js';
import { forEachLimited } from './pool.js';

/**
 * The same message flow over the bare relay (bench/echo-server.ts), with the same number of
 * WebSocket connections and pairs: the sender numbers its messages itself (there is no server to
 * do it), the recipient's device answers with a read frame for the newest message it received in
 * that I/O turn (a watermark, like Parley's read marker), and the relay carries it back.
 */

type EchoFrame = { t: 'm'; id: string; seq: number; text: string } | { t: 'r'; upTo: number };

interface EchoPair {
  sender: WebSocket;
  recipient: WebSocket;
  nextSeq: number;
}

export class EchoDriver implements Driver {
  readonly name = 'echo';
  private sink: FlowSink | undefined;

  private constructor(private readonly pairList: EchoPair[]) {}

  get pairs(): number {
    return this.pairList.length;
  }

  static async connect(url: string, clients: number): Promise<EchoDriver> {
    const sockets: WebSocket[] = new Array(clients);
    const indexes = Array.from({ length: clients }, (_, i) => i);
    await forEachLimited(indexes, 50, async (i) => {
      const socket = new WebSocket(`${url}/?id=${i}`);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      sockets[i] = socket;
    });
    const pairList = Array.from({ length: clients / 2 }, (_, k) => ({ sender: sockets[2 * k]!, recipient: sockets[2 * k + 1]!, nextSeq: 1 }));
    const driver = new EchoDriver(pairList);
    driver.listen();
    return driver;
  }

  attach(sink: FlowSink): void {
    this.sink = sink;
  }

  send(flight: Flight, text: string): void {
    const pair = this.pairList[flight.pair]!;
    const seq = pair.nextSeq++;
    pair.sender.send(JSON.stringify({ t: 'm', id: flight.id, seq, text } satisfies EchoFrame));
    this.sink!.accepted(flight, seq);
  }

  async close(): Promise<void> {
    for (const pair of this.pairList) {
      pair.sender.terminate();
      pair.recipient.terminate();
    }
  }

  private listen(): void {
    this.pairList.forEach((pair, index) => {
      let newestSeq = 0;
      let scheduled = false;
      pair.recipient.on('message', (data) => {
        const frame = JSON.parse(String(data)) as EchoFrame;
        if (frame.t !== 'm') return;
        this.sink!.delivered(frame.id);
        newestSeq = Math.max(newestSeq, frame.seq);
        if (scheduled) return;
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          pair.recipient.send(JSON.stringify({ t: 'r', upTo: newestSeq } satisfies EchoFrame));
        });
      });
      pair.sender.on('message', (data) => {
        const frame = JSON.parse(String(data)) as EchoFrame;
        if (frame.t === 'r') this.sink!.readUpTo(index, frame.upTo);
      });
    });
  }
}

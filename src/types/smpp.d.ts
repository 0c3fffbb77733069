/**
 * Minimal declarations for the `smpp` package (0.5.x ships none): only what Parley's SMPP channel and
 * its tests use. Facts from node_modules/smpp/lib/{smpp,pdu,defs}.js:
 * - `connect({ host, port, tls })` returns a Session that starts connecting at once and emits
 *   'connect' (plain) or 'secureConnect' (TLS), 'close', 'error', 'pdu' and one event per command name.
 * - `session.<command>(fields, onResponse)` builds a PDU, numbers it and writes it; it returns false
 *   (and writes nothing) when the socket is not writable. Response callbacks of a session whose socket
 *   closes are never called.
 * - `pdu.response(fields)` builds the matching *_resp; a response with a non-zero command_status is
 *   encoded as a bare header (no body).
 * - A Buffer given as short_message is written as is (data_coding and esm_class untouched); on
 *   receipt short_message (and message_payload) is decoded to `{ message, udh? }` by data_coding,
 *   `udh` being the list of information elements `[iei, len, ...data]` when esm_class has 0x40.
 */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  namespace smpp {
    interface DecodedMessage {
      message: string | Buffer;
      udh?: Buffer[];
    }

    interface PDU {
      command: string;
      command_id: number;
      command_status: number;
      sequence_number: number;
      [field: string]: unknown;
      isResponse(): boolean;
      response(fields?: Record<string, unknown>): PDU;
    }

    interface PDUConstructor {
      new (command: string, fields?: Record<string, unknown>): PDU;
    }

    interface ConnectOptions {
      host?: string;
      port?: number;
      tls?: boolean;
      url?: string;
      /** Interval of the package's own enquire_link timer (setInterval); Parley runs its own via Clock. */
      auto_enquire_link_period?: number;
      [option: string]: unknown;
    }

    type ResponseCallback = (pdu: PDU) => void;

    class Session extends EventEmitter {
      socket: Socket;
      send(pdu: PDU, onResponse?: ResponseCallback, onSent?: ResponseCallback): boolean;
      close(callback?: () => void): void;
      destroy(callback?: () => void): void;
      pause(): void;
      resume(): void;
      bind_transceiver(fields: Record<string, unknown>, onResponse?: ResponseCallback): boolean;
      submit_sm(fields: Record<string, unknown>, onResponse?: ResponseCallback): boolean;
      deliver_sm(fields: Record<string, unknown>, onResponse?: ResponseCallback): boolean;
      enquire_link(fields?: Record<string, unknown> | ResponseCallback, onResponse?: ResponseCallback): boolean;
      unbind(fields?: Record<string, unknown> | ResponseCallback, onResponse?: ResponseCallback): boolean;
    }

    interface Server extends NetServer {
      sessions: Session[];
    }

    function connect(options: ConnectOptions, listener?: () => void): Session;
    function createServer(listener: (session: Session) => void): Server;
    function createServer(options: Record<string, unknown>, listener: (session: Session) => void): Server;

    const PDU: PDUConstructor;
    /** ESME_* status names → numeric command_status. */
    const errors: Record<string, number>;
  }

  export = smpp;
}

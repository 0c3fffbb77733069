/**
 * SMS text encoding and splitting, shared by the SMS backends.
 *
 * - Text made only of GSM 03.38 characters (default alphabet plus its extension table) is sent as
 *   GSM-7 (SMPP data_coding 0x00, one septet per octet as SMPP carries it, extension characters
 *   as ESC + code, i.e. two septets); anything else (Chinese, emoji, Cyrillic…) as UCS-2
 *   (data_coding 0x08, UTF-16BE).
 * - One SMS holds 160 septets or 70 UCS-2 code units. Longer text is split into parts of at most
 *   153 septets / 67 code units, each prefixed with a concatenation UDH (IEI 0x00, 8-bit reference),
 *   never splitting an escape pair or a surrogate pair. At most 255 parts.
 */

/** GSM 03.38 default alphabet, index = septet value. 0x1B is the escape to the extension table. */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** GSM 03.38 extension table: character → code after ESC. */
const GSM_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);

const GSM_ESCAPE = 0x1b;
const NOT_GSM = -1;
/** Marks an extension-table code in GSM_SEPTETS: ESC + (value & 0xff), two septets. */
const EXTENDED = 0x100;
/**
 * UTF-16 code unit → septet (basic), EXTENDED | code (extension table) or NOT_GSM. Every GSM 03.38
 * character is in the BMP, so one code unit decides; a table lookup keeps encoding a fallback burst
 * cheap (bench/timers.ts part c).
 */
const GSM_SEPTETS = new Int16Array(0x10000).fill(NOT_GSM);
for (let code = 0; code < GSM_BASIC.length; code++) if (code !== GSM_ESCAPE) GSM_SEPTETS[GSM_BASIC.charCodeAt(code)] = code;
for (const [char, code] of GSM_EXTENSION) GSM_SEPTETS[char.charCodeAt(0)] = EXTENDED | code;
if (GSM_BASIC.length !== 128) throw new Error('GSM 03.38 table must have 128 entries');

export const SMPP_DATA_CODING = { gsm7: 0x00, ucs2: 0x08 } as const;

export type SmsEncoding = 'gsm7' | 'ucs2';

export const SMS_LIMITS = {
  gsm7: { single: 160, part: 153 },
  ucs2: { single: 70, part: 67 },
} as const;

export const MAX_PARTS = 255;

/** Whether every character of `text` exists in GSM 03.38 (basic or extension table). */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (GSM_SEPTETS[text.charCodeAt(i)] === NOT_GSM) return false;
  return true;
}

export function chooseEncoding(text: string): SmsEncoding {
  return isGsm7(text) ? 'gsm7' : 'ucs2';
}

/** Septets of the code unit at `i`: 2 for the extension table, 1 otherwise. The text must be GSM. */
function septetsAt(text: string, i: number): number {
  const septet = GSM_SEPTETS[text.charCodeAt(i)]!;
  if (septet === NOT_GSM) throw new Error(`character U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} is not in GSM 03.38`);
  return septet & EXTENDED ? 2 : 1;
}

/** GSM-7 unpacked (one septet per octet, as SMPP carries data_coding 0). */
export function encodeGsm7(text: string): Buffer {
  let size = 0;
  for (let i = 0; i < text.length; i++) size += septetsAt(text, i);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const septet = GSM_SEPTETS[text.charCodeAt(i)]!;
    if (septet & EXTENDED) {
      out[at++] = GSM_ESCAPE;
      out[at++] = septet & 0xff;
    } else {
      out[at++] = septet;
    }
  }
  return out;
}

export function encodeUcs2(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

export interface SmsSegments {
  encoding: SmsEncoding;
  dataCoding: number;
  /** Each part's payload, without UDH. */
  parts: Buffer[];
  /** Each part's text (what the payload decodes to). */
  texts: string[];
}

/**
 * Splits text into SMS parts (payloads without UDH). A single part may use the full 160/70 units;
 * multipart messages use 153/67 per part so the 6-byte concatenation UDH fits.
 */
export function segment(text: string): SmsSegments {
  const encoding = chooseEncoding(text);
  const limits = SMS_LIMITS[encoding];
  const texts: string[] = [];
  if (encoding === 'gsm7') {
    let total = 0;
    for (let i = 0; i < text.length; i++) total += septetsAt(text, i);
    if (total <= limits.single) {
      texts.push(text);
    } else {
      let start = 0;
      let size = 0;
      for (let i = 0; i < text.length; i++) {
        const septets = septetsAt(text, i);
        if (size + septets > limits.part) {
          texts.push(text.slice(start, i));
          start = i;
          size = 0;
        }
        size += septets;
      }
      if (start < text.length) texts.push(text.slice(start));
    }
  } else if (text.length <= limits.single) {
    texts.push(text);
  } else {
    let start = 0;
    while (start < text.length) {
      let end = Math.min(start + limits.part, text.length);
      // Never end a part between the halves of a surrogate pair.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      texts.push(text.slice(start, end));
      start = end;
    }
  }
  if (texts.length === 0) texts.push('');
  if (texts.length > MAX_PARTS) throw new Error(`SMS text needs ${texts.length} parts; at most ${MAX_PARTS} are possible`);
  const encode = encoding === 'gsm7' ? encodeGsm7 : encodeUcs2;
  return { encoding, dataCoding: SMPP_DATA_CODING[encoding], parts: texts.map(encode), texts };
}

/** Concatenation UDH with an 8-bit reference: UDHL=5, IEI=0x00, IEDL=3, ref, total, seq (1-based). */
export function concatUdh(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

/** Number of SMS the text costs (what SendResult.parts reports). */
export function countParts(text: string): number {
  return segment(text).parts.length;
}

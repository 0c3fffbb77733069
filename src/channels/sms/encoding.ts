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
const GSM_BASIC_CODES: ReadonlyMap<string, number> = new Map(
  [...GSM_BASIC].map((char, code) => [char, code] as [string, number]).filter(([, code]) => code !== GSM_ESCAPE),
);
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
  for (const char of text) {
    if (!GSM_BASIC_CODES.has(char) && !GSM_EXTENSION.has(char)) return false;
  }
  return true;
}

export function chooseEncoding(text: string): SmsEncoding {
  return isGsm7(text) ? 'gsm7' : 'ucs2';
}

/** Septets of one character: 2 for the extension table, 1 otherwise. The character must be GSM. */
function gsmSeptets(char: string): Uint8Array {
  const basic = GSM_BASIC_CODES.get(char);
  if (basic !== undefined) return Uint8Array.of(basic);
  const ext = GSM_EXTENSION.get(char);
  if (ext !== undefined) return Uint8Array.of(GSM_ESCAPE, ext);
  throw new Error(`character U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not in GSM 03.38`);
}

/** GSM-7 unpacked (one septet per octet, as SMPP carries data_coding 0). */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (const char of text) out.push(...gsmSeptets(char));
  return Buffer.from(out);
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
    const units = [...text].map((char) => ({ char, size: gsmSeptets(char).length }));
    const total = units.reduce((n, u) => n + u.size, 0);
    if (total <= limits.single) {
      texts.push(text);
    } else {
      let current = '';
      let size = 0;
      for (const u of units) {
        if (size + u.size > limits.part) {
          texts.push(current);
          current = '';
          size = 0;
        }
        current += u.char;
        size += u.size;
      }
      if (current) texts.push(current);
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

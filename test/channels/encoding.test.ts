import { describe, expect, it } from 'vitest';
import { concatUdh, countParts, encodeGsm7, isGsm7, segment } from '../../src/channels/sms/encoding.js';

describe('SMS encoding and splitting', () => {
  it('GSM-7 text is one septet per character, extension characters ESC + code', () => {
    expect([...encodeGsm7('@A€[')]).toEqual([0x00, 0x41, 0x1b, 0x65, 0x1b, 0x3c]);
    expect(isGsm7('Hello, Ünïcode? no: ï')).toBe(false);
    expect(isGsm7('Grüße {ok} ~ 100€')).toBe(true);
  });

  it('160 septets are one SMS; 161 are split into 153 + 8 with the text kept whole', () => {
    expect(segment('a'.repeat(160)).parts).toHaveLength(1);
    const split = segment('a'.repeat(161));
    expect(split.encoding).toBe('gsm7');
    expect(split.parts.map((p) => p.length)).toEqual([153, 8]);
    expect(split.texts.join('')).toBe('a'.repeat(161));
  });

  it('an escape pair is never cut in two at a part boundary', () => {
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    const { parts, texts } = segment(text);
    expect(texts[0]).toBe('a'.repeat(152));
    expect([...parts[1]!.subarray(0, 2)]).toEqual([0x1b, 0x65]);
  });

  it('Chinese text is UCS-2: 70 characters in one SMS, 71 in 67 + 4, never cutting a surrogate pair', () => {
    expect(segment('中'.repeat(70)).parts).toHaveLength(1);
    const split = segment('中'.repeat(71));
    expect(split.encoding).toBe('ucs2');
    expect(split.dataCoding).toBe(0x08);
    expect(split.parts.map((p) => p.length / 2)).toEqual([67, 4]);
    expect(split.parts[0]!.subarray(0, 2).readUInt16BE(0)).toBe('中'.charCodeAt(0));
    const emoji = segment('中'.repeat(66) + '😀' + '中'.repeat(10));
    expect(emoji.texts[0]).toBe('中'.repeat(66));
    expect(emoji.texts[1]!.startsWith('😀')).toBe(true);
  });

  it('counts parts and builds the concatenation header', () => {
    expect(countParts('')).toBe(1);
    expect(countParts('x'.repeat(153 * 3))).toBe(3);
    expect([...concatUdh(7, 3, 2)]).toEqual([0x05, 0x00, 0x03, 7, 3, 2]);
  });
});

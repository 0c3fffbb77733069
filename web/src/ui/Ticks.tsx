import type { Tick } from '../state.js';

const LABEL: Record<Tick | 'sending' | 'waiting' | 'failed', string> = {
  sending: 'Sending',
  waiting: 'Waiting for the network',
  failed: 'Not sent',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
};

/** ✓ sent, ✓✓ delivered, blue ✓✓ read; a clock while sending. */
export function Ticks(props: { tick: Tick | 'sending' | 'waiting' | 'failed' }) {
  const t = props.tick;
  const glyph = t === 'sending' || t === 'waiting' ? '🕓' : t === 'failed' ? '⚠' : t === 'sent' ? '✓' : '✓✓';
  return (
    <span class={`ticks ticks-${t}`} data-tick={t} title={LABEL[t]}>
      <span aria-hidden="true">{glyph}</span>
      <span class="sr-only">{LABEL[t]}</span>
    </span>
  );
}

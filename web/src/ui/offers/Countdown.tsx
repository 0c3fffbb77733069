import { useEffect, useState } from 'preact/hooks';
import type { OfferView } from '../../../../sdk/index.js';

/** The current time, re-rendering the caller every `everyMs`. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** "1 d 02:03:04", "02:03:04" or "03:04". */
export function remaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  const clock = h > 0 || d > 0 ? `${two(h)}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
  return d > 0 ? `${d} d ${clock}` : clock;
}

export type Phase = 'not-open' | 'open' | 'passed' | 'closed' | 'withdrawn';

/** Where an offer stands by this browser's clock; the server's receipt time of an answer decides. */
export function phaseOf(offer: OfferView, now: number): Phase {
  if (offer.status === 'withdrawn') return 'withdrawn';
  if (offer.status === 'closed') return 'closed';
  if (now < Date.parse(offer.deadline.opensAt)) return 'not-open';
  return now <= Date.parse(offer.deadline.closesAt) ? 'open' : 'passed';
}

/** A live countdown to the deadline (or to the opening of a window not started yet). */
export function Countdown(props: { offer: OfferView }) {
  const now = useNow();
  const { opensAt, closesAt } = props.offer.deadline;
  const phase = phaseOf(props.offer, now);
  const text =
    phase === 'not-open'
      ? `Not yet open — opens in ${remaining(Date.parse(opensAt) - now)}`
      : phase === 'open'
        ? `Closes in ${remaining(Date.parse(closesAt) - now)}`
        : phase === 'passed'
          ? 'Deadline passed'
          : phase === 'closed'
            ? 'Closed'
            : 'Withdrawn';
  return (
    <span class={`countdown countdown-${phase}`} data-testid="countdown" data-phase={phase}>
      {text}
    </span>
  );
}

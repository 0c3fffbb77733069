import type { StreamEvent } from '../../protocol/events.js';
import type { Clock } from '../../scheduler/clock.js';
import type { EventLog } from './events.service.js';
import type { StreamHub } from './stream-hub.js';

/**
 * The stream for clients without WebSocket: returns stored events after `after`, waiting up to
 * `timeoutMs` for the next one when none is ready. The listener is attached before reading so an
 * event committed in between wakes the wait instead of being missed.
 */
export async function longPoll(
  deps: { events: EventLog; hub: StreamHub; clock: Clock },
  who: { accountId: string; deviceId: string },
  after: number,
  limit: number,
  timeoutMs: number,
  aborted: AbortSignal,
): Promise<StreamEvent[]> {
  let wake: () => void = () => {};
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const detach = deps.hub.attach(
    who.accountId,
    { deviceId: who.deviceId, onEvents: () => wake(), onEphemeral: () => {}, onRevoked: () => wake(), onMissed: () => wake() },
    false,
  );
  const timer = deps.clock.after(timeoutMs, () => wake());
  aborted.addEventListener('abort', () => wake(), { once: true });
  try {
    const ready = await deps.events.readAfter(who.accountId, after, limit);
    if (ready.length > 0 || timeoutMs === 0) return ready;
    await woken;
    if (aborted.aborted) return [];
    return await deps.events.readAfter(who.accountId, after, limit);
  } finally {
    timer.cancel();
    detach();
  }
}

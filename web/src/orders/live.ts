/**
 * The part of orders that runs whether or not the orders pages were ever opened: it keeps the im
 * notices of orders (the text an SMS would carry, with the code while verifying), which arrive
 * once in the stream. The store (loaded with the pages) follows the other order events itself.
 */
import type { EventData, StreamEvent } from '../../../sdk/index.js';
import { notify, onSessionEnd, onStreamEvent } from '../state.js';

/** order id → its im notices, oldest first (kept in memory for this session). */
export const orderNotices = new Map<string, string[]>();

onStreamEvent.push((event: StreamEvent) => {
  if (event.type !== 'order.notice') return;
  const { orderId, text } = event.data as EventData['order.notice'];
  orderNotices.set(orderId, [...(orderNotices.get(orderId) ?? []), text]);
  notify();
});

onSessionEnd.push(() => orderNotices.clear());

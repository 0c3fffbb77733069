import type { OrdersTable } from '../../storage/schema.js';

/** What the user reads on the chosen channel. Short enough for one SMS where it can be. */

export function formatPrice(row: Pick<OrdersTable, 'price' | 'currency' | 'period'>): string {
  const amount = `${row.currency} ${(Number(row.price) / 100).toFixed(2)}`;
  return row.period === 'monthly' ? `${amount} per month` : `${amount} once`;
}

type OrderFacts = Pick<OrdersTable, 'service_name' | 'service_code' | 'price' | 'currency' | 'period'> & { providerName: string };

export function orderedNotice(o: OrderFacts): string {
  return `Ordered: ${o.service_name} from ${o.providerName}, ${formatPrice(o)}. To cancel, send STOP ${o.service_code}.`;
}

export function verificationNotice(o: OrderFacts, code: string, ttlMs: number): string {
  return `Confirm your order of ${o.service_name} from ${o.providerName}: ${formatPrice(o)}, all taxes and fees included. Your code is ${code} (valid ${Math.round(ttlMs / 60_000)} min). Reply with the code to confirm; ignore it to decline.`;
}

export function refusedNotice(o: OrderFacts, reason: string): string {
  return `Your order of ${o.service_name} from ${o.providerName} was refused (${reason}). Nothing was charged.`;
}

export function cancelledNotice(o: OrderFacts): string {
  return `Cancelled: ${o.service_name} from ${o.providerName}.`;
}

export function lockedNotice(o: OrderFacts): string {
  return `Too many wrong codes: your order of ${o.service_name} was not placed. Order again for a new code.`;
}

import { useEffect } from 'preact/hooks';
import type { OrderView } from '../../../../sdk/index.js';
import { fullTime } from '../../format.js';
import { CHANNEL_TEXT, priceText, refusalText } from '../../orders/format.js';
import { cancel, loadMine, orders, showOrder } from '../../orders/store.js';
import { FormError, Link, useAction } from '../common.js';
import { StatusBadge } from './common.js';

/** My subscriptions (running until cancelled) and every order I made, newest first. */
export function MyOrders() {
  useEffect(() => {
    void loadMine();
  }, []);
  if (!orders.mineLoaded) return orders.error ? <FormError error={orders.error} /> : <p aria-busy="true">Loading your orders…</p>;
  if (orders.mine.length === 0)
    return (
      <p class="empty-list">
        No orders yet. Browse the <Link href="/orders">catalogue</Link>.
      </p>
    );
  const subscriptions = orders.mine.filter((o) => o.status === 'active');
  return (
    <>
      <section class="card" aria-labelledby="subs-title">
        <h3 id="subs-title">Subscriptions</h3>
        {subscriptions.length === 0 ? (
          <p class="hint">No running subscriptions.</p>
        ) : (
          <ul class="order-list" data-testid="subscriptions">
            {subscriptions.map((o) => (
              <li key={o.id}>
                <OrderRow order={o} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="orders-title">
        <h3 id="orders-title">All orders</h3>
        <ul class="order-list" data-testid="my-orders">
          {orders.mine.map((o) => (
            <li key={o.id}>
              <OrderRow order={o} />
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

function OrderRow(props: { order: OrderView }) {
  const o = props.order;
  const stop = useAction(() => cancel(o.id));
  return (
    <article class="order" data-testid="order" data-order-id={o.id} aria-label={`${o.service.name}: ${o.status}`}>
      <div class="order-head">
        <h4>
          {o.service.name} <code>{o.service.code}</code>
        </h4>
        <StatusBadge order={o} />
      </div>
      <p>
        {o.provider.displayName} (@{o.provider.handle}) · {priceText(o)}
      </p>
      <p class="hint">
        Ordered {fullTime(o.requestedAt)}
        {o.placedAt && o.placedAt !== o.requestedAt ? `, placed ${fullTime(o.placedAt)}` : ''}
        {o.closedAt ? `, ended ${fullTime(o.closedAt)}` : ''} · notices {CHANNEL_TEXT[o.channel]}
      </p>
      {o.status === 'refused' && <p class="warn">Refused: {refusalText(orders.refusals.get(o.id) ?? o.refusal)}. Nothing was charged.</p>}
      <FormError error={stop.error} />
      <div class="buttons">
        {o.status === 'pending' && (
          <button type="button" class="primary" onClick={() => showOrder(o)}>
            Enter code
          </button>
        )}
        {(o.status === 'active' || o.status === 'pending') && (
          <button type="button" class="danger" disabled={stop.busy} onClick={() => void stop.run()} aria-label={`${o.status === 'pending' ? 'Decline' : 'Cancel'} ${o.service.name}`}>
            {o.status === 'pending' ? 'Decline' : 'Cancel'}
          </button>
        )}
      </div>
    </article>
  );
}

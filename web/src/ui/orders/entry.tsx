/**
 * What the always-loaded app knows of orders: a sidebar link, and a route that loads the orders
 * pages on first visit (live.ts keeps the im notices meanwhile).
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '../../orders/live.js';
import { state, type OrdersTab } from '../../state.js';
import { Link } from '../common.js';

export function OrdersNavLink() {
  return (
    <Link href="/orders" class="nav-link" aria-current={state.route.name === 'orders' ? 'page' : undefined}>
      Orders
    </Link>
  );
}

let page: ComponentType<{ tab: OrdersTab }> | undefined;

export function OrdersRoute(props: { tab: OrdersTab }) {
  const [, setLoaded] = useState(0);
  const [error, setError] = useState('');
  useEffect(() => {
    if (page) return;
    import('./OrdersPage.js').then(
      (m) => {
        page = m.default;
        setLoaded(1);
      },
      (err: Error) => setError(`The orders pages could not be loaded: ${err.message}`),
    );
  }, []);
  const Page = page;
  if (Page) return <Page tab={props.tab} />;
  return error ? (
    <p class="form-error" role="alert">
      {error}
    </p>
  ) : (
    <p aria-busy="true">Loading orders…</p>
  );
}

/**
 * What the always-loaded app knows of orders: a sidebar link, and a route that loads the orders
 * pages on first visit (live.ts keeps the im notices meanwhile).
 */
import '../../orders/live.js';
import { state, type OrdersTab } from '../../state.js';
import { Link } from '../common.js';
import { lazyPage } from '../lazy.js';

export function OrdersNavLink() {
  return (
    <Link href="/orders" class="nav-link" aria-current={state.route.name === 'orders' ? 'page' : undefined}>
      Orders
    </Link>
  );
}

export const OrdersRoute = lazyPage<{ tab: OrdersTab }>(() => import('./OrdersPage.js'), 'orders');

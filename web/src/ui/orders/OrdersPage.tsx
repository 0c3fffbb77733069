import type { OrdersTab } from '../../state.js';
import { state } from '../../state.js';
import { Link } from '../common.js';
import { PageTabs } from '../PageTabs.js';
import { Catalogue } from './Catalogue.js';
import { MyOrders } from './MyOrders.js';
import { OperatorCredit } from './OperatorCredit.js';
import { OrderDialog } from './OrderDialog.js';
import { ProviderPage } from './ProviderPage.js';
import './orders.css';

const TABS: { tab: OrdersTab; href: string; label: string; shown: () => boolean }[] = [
  { tab: 'catalogue', href: '/orders', label: 'Catalogue', shown: () => true },
  { tab: 'mine', href: '/orders/mine', label: 'My orders', shown: () => true },
  { tab: 'provider', href: '/orders/provider', label: 'My services', shown: () => state.session?.me.kind === 'provider' },
  { tab: 'credit', href: '/orders/credit', label: 'Provider credit', shown: () => state.session?.me.isAdmin === true },
];

/** The orders pages (loaded on demand): the catalogue, my orders, the provider's services and the operator's credit view. */
export default function OrdersPage(props: { tab: OrdersTab }) {
  const tabs = TABS.filter((t) => t.shown());
  const current = tabs.find((t) => t.tab === props.tab) ?? tabs[0]!;
  return (
    <section class="page orders-page">
      <header class="page-head">
        <Link href="/" class="back" aria-label="Back to chats">
          ←
        </Link>
        <h2 tabIndex={-1}>Orders: {current.label}</h2>
      </header>
      <PageTabs label="Orders" tabs={tabs.map((t) => ({ key: t.tab, href: t.href, label: t.label }))} current={current.tab} />
      {current.tab === 'catalogue' ? <Catalogue /> : current.tab === 'mine' ? <MyOrders /> : current.tab === 'provider' ? <ProviderPage /> : <OperatorCredit />}
      <OrderDialog />
    </section>
  );
}

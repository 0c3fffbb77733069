import type { OffersTab } from '../../state.js';
import { Link } from '../common.js';
import { PageTabs } from '../PageTabs.js';
import { Inbox } from './Inbox.js';
import { Interests } from './Interests.js';
import { Provider } from './Provider.js';
import { Vouchers } from './Vouchers.js';
import './offers.css';

const TABS: [OffersTab, string, string][] = [
  ['inbox', '/offers', 'Inbox'],
  ['interests', '/offers/interests', 'Interests'],
  ['vouchers', '/offers/vouchers', 'Vouchers'],
  ['provider', '/offers/provider', 'My offers'],
];

/** The offers pages (loaded on demand): inbox, interests, vouchers and the provider's dashboard. */
export default function OffersPage(props: { tab: OffersTab }) {
  const title = TABS.find(([t]) => t === props.tab)![2];
  return (
    <section class="page offers-page">
      <header class="page-head">
        <Link href="/" class="back" aria-label="Back to chats">
          ←
        </Link>
        <h2 tabIndex={-1}>Offers: {title}</h2>
      </header>
      <PageTabs label="Offers" tabs={TABS.map(([key, href, label]) => ({ key, href, label }))} current={props.tab} />
      {props.tab === 'inbox' ? <Inbox /> : props.tab === 'interests' ? <Interests /> : props.tab === 'vouchers' ? <Vouchers /> : <Provider />}
    </section>
  );
}

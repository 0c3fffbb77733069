/**
 * What the always-loaded app knows of offers: a sidebar link with the count of new offers, and a
 * route that loads the offers pages on first visit. Loading the offers code also starts releasing
 * this device's key shares to waiting winners whenever the stream (re)connects.
 */
import { useEffect } from 'preact/hooks';
import { offersBadge, releaseShares } from '../../offers/live.js';
import { state, type OffersTab } from '../../state.js';
import { Link } from '../common.js';
import { lazyPage } from '../lazy.js';

export function OffersNavLink() {
  const conn = state.conn;
  useEffect(() => {
    if (conn === 'open') releaseShares();
  }, [conn]);
  const current = state.route.name === 'offers';
  return (
    <Link href="/offers" class="nav-link" aria-current={current ? 'page' : undefined} aria-label={offersBadge.unseen ? `Offers, ${offersBadge.unseen} new` : undefined}>
      Offers
      {offersBadge.unseen > 0 && (
        <span class="badge" data-testid="offers-badge">
          {offersBadge.unseen}
        </span>
      )}
    </Link>
  );
}

export const OffersRoute = lazyPage<{ tab: OffersTab }>(() => import('./OffersPage.js'), 'offers');

import { useEffect, useState } from 'preact/hooks';
import type { CatalogueServiceView, InteractionChannel } from '../../../../sdk/index.js';
import { BAND_TEXT, CHANNEL_TEXT, priceText } from '../../orders/format.js';
import { loadCatalogue, order, orders } from '../../orders/store.js';
import { FormError, useAction } from '../common.js';
import { BandBadge } from './common.js';

/** Providers' services, grouped by provider with its credit band, each with an order button. */
export function Catalogue() {
  useEffect(() => {
    if (!orders.catalogueLoaded) void loadCatalogue();
  }, []);
  if (!orders.catalogueLoaded) return orders.error ? <FormError error={orders.error} /> : <p aria-busy="true">Loading the catalogue…</p>;
  if (orders.catalogue.length === 0) return <p class="empty-list">No services to order yet.</p>;
  const byProvider = new Map<string, CatalogueServiceView[]>();
  for (const s of orders.catalogue) byProvider.set(s.provider.id, [...(byProvider.get(s.provider.id) ?? []), s]);
  return (
    <>
      <p class="hint">The provider’s credit decides what happens when you order: placed at once, confirmed by you with a 6-digit code, or refused.</p>
      {[...byProvider.values()].map((services) => {
        const p = services[0]!.provider;
        return (
          <section key={p.id} class="card provider-card" data-testid="catalogue-provider" aria-labelledby={`prov-${p.id}`}>
            <header class="order-head">
              <h3 id={`prov-${p.id}`}>
                {p.displayName} <span class="hint">@{p.handle}</span>
              </h3>
              <BandBadge band={services[0]!.providerBand} />
            </header>
            <ul class="service-list">
              {services.map((s) => (
                <li key={s.id}>
                  <ServiceRow service={s} />
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </>
  );
}

function ServiceRow(props: { service: CatalogueServiceView }) {
  const s = props.service;
  const [channel, setChannel] = useState<InteractionChannel>('im');
  const place = useAction(() => order(s.code, channel));
  const selectId = `channel-${s.code}`;
  return (
    <article class="service" data-testid="catalogue-service" aria-label={s.name}>
      <div class="service-text">
        <h4>
          {s.name} <code>{s.code}</code>
        </h4>
        <p class="price">{priceText(s)}, all-in</p>
        {s.description && <p class="description">{s.description}</p>}
      </div>
      <div class="service-actions">
        <label for={selectId}>Confirm through</label>
        <select id={selectId} value={channel} onChange={(e) => setChannel(e.currentTarget.value as InteractionChannel)} aria-label={`Confirm ${s.name} through`}>
          {(Object.keys(CHANNEL_TEXT) as InteractionChannel[]).map((c) => (
            <option key={c} value={c}>
              {c === 'im' ? 'Parley (im)' : c === 'sms' ? 'SMS' : 'E-mail'}
            </option>
          ))}
        </select>
        <button type="button" class="primary" disabled={place.busy} title={BAND_TEXT[s.providerBand]} onClick={() => void place.run()} aria-label={`Order ${s.name}`}>
          {place.busy ? 'Ordering…' : 'Order'}
        </button>
      </div>
      <FormError error={place.error} />
    </article>
  );
}

import { useEffect, useState } from 'preact/hooks';
import type { CatalogueServiceView, OrderView, Period } from '../../../../sdk/index.js';
import { fullTime } from '../../format.js';
import { fromMinor, priceText, toMinor } from '../../orders/format.js';
import { loadProvider, orders, publishService, refund, updateService } from '../../orders/store.js';
import { FormError, useAction } from '../common.js';
import { CreditBreakdown } from './CreditBreakdown.js';
import { StatusBadge } from './common.js';

/** The provider's view: its credit with every input, publishing and editing services, and the orders of them. */
export function ProviderPage() {
  useEffect(() => {
    void loadProvider();
  }, []);
  if (!orders.providerLoaded) return orders.error ? <FormError error={orders.error} /> : <p aria-busy="true">Loading your services…</p>;
  return (
    <>
      <section class="card" aria-labelledby="credit-title">
        <h3 id="credit-title">Your credit</h3>
        {orders.credit && <CreditBreakdown credit={orders.credit} />}
      </section>
      <PublishForm />
      <section class="card" aria-labelledby="services-title">
        <h3 id="services-title">Your services</h3>
        {orders.services.length === 0 ? (
          <p class="hint">Nothing published yet.</p>
        ) : (
          <ul class="service-list" data-testid="my-services">
            {orders.services.map((s) => (
              <li key={s.id}>
                <MyService service={s} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="sold-title">
        <h3 id="sold-title">Orders of your services</h3>
        {orders.sold.length === 0 ? (
          <p class="hint">No orders yet.</p>
        ) : (
          <ul class="order-list" data-testid="sold-orders">
            {orders.sold.map((o) => (
              <li key={o.id}>
                <SoldOrder order={o} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function PublishForm() {
  const [f, setF] = useState({ code: '', name: '', price: '', currency: 'EUR', period: 'monthly' as Period, description: '' });
  const set = (k: keyof typeof f) => (e: { currentTarget: { value: string } }) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = useAction(async () => {
    const currency = f.currency.trim().toUpperCase();
    const price = toMinor(f.price, currency);
    if (price === null) throw new Error(`Give the all-in price as an amount in ${currency}, e.g. 4.99.`);
    await publishService({ code: f.code.trim(), name: f.name.trim(), price, currency, period: f.period, ...(f.description.trim() ? { description: f.description.trim() } : {}) });
    setF({ ...f, code: '', name: '', price: '', description: '' });
  });
  return (
    <form
      class="card"
      aria-labelledby="publish-service-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit.run();
      }}
    >
      <h3 id="publish-service-title">Publish a service</h3>
      <div class="form-row">
        <label>
          Code
          <input name="code" value={f.code} required minLength={2} maxLength={20} pattern="[A-Za-z0-9]+" placeholder="NEWS" onInput={set('code')} />
        </label>
        <label>
          Service name
          <input name="name" value={f.name} required maxLength={100} onInput={set('name')} />
        </label>
      </div>
      <div class="form-row">
        <label>
          All-in price
          <input name="price" value={f.price} required inputMode="decimal" placeholder="4.99" onInput={set('price')} />
        </label>
        <label>
          Currency
          <input name="currency" value={f.currency} required minLength={3} maxLength={3} onInput={set('currency')} />
        </label>
        <label>
          Period
          <select name="period" value={f.period} onChange={set('period')}>
            <option value="monthly">Monthly (subscription)</option>
            <option value="once">Once</option>
          </select>
        </label>
      </div>
      <label>
        Description
        <textarea name="description" rows={2} maxLength={2000} value={f.description} onInput={set('description')} />
      </label>
      <p class="hint">Users order it by its code (in chat and by SMS too: ORDER {f.code.toUpperCase() || 'CODE'}).</p>
      <FormError error={submit.error} />
      <button type="submit" class="primary" disabled={submit.busy}>
        Publish service
      </button>
    </form>
  );
}

function MyService(props: { service: CatalogueServiceView }) {
  const s = props.service;
  const [editing, setEditing] = useState(false);
  const [f, setF] = useState({ name: s.name, price: fromMinor(s.price, s.currency), description: s.description });
  const save = useAction(async () => {
    const price = toMinor(f.price, s.currency);
    if (price === null) throw new Error(`Give the all-in price as an amount in ${s.currency}, e.g. 4.99.`);
    await updateService(s.code, { name: f.name.trim(), price, description: f.description.trim() });
    setEditing(false);
  });
  const toggle = useAction(() => updateService(s.code, { active: !s.active }));
  return (
    <article class="service" data-testid="my-service" aria-label={s.name}>
      <div class="service-text">
        <h4>
          {s.name} <code>{s.code}</code> {!s.active && <span class="order-status status-cancelled">Withdrawn</span>}
        </h4>
        <p class="price">{priceText(s)}</p>
        {s.description && <p class="description">{s.description}</p>}
      </div>
      {editing ? (
        <form
          class="inline-form"
          aria-label={`Edit ${s.code}`}
          onSubmit={(e) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <label>
            Service name
            <input name="name" value={f.name} required maxLength={100} onInput={(e) => setF({ ...f, name: e.currentTarget.value })} />
          </label>
          <label>
            All-in price ({s.currency})
            <input name="price" value={f.price} required inputMode="decimal" onInput={(e) => setF({ ...f, price: e.currentTarget.value })} />
          </label>
          <label>
            Description
            <textarea name="description" rows={2} maxLength={2000} value={f.description} onInput={(e) => setF({ ...f, description: e.currentTarget.value })} />
          </label>
          <FormError error={save.error} />
          <div class="buttons">
            <button type="submit" class="primary" disabled={save.busy}>
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="buttons">
          <button type="button" onClick={() => setEditing(true)} aria-label={`Edit ${s.name}`}>
            Edit
          </button>
          <button type="button" disabled={toggle.busy} onClick={() => void toggle.run()}>
            {s.active ? 'Withdraw' : 'Offer again'}
          </button>
        </div>
      )}
      <FormError error={toggle.error} />
    </article>
  );
}

function SoldOrder(props: { order: OrderView }) {
  const o = props.order;
  const back = useAction(() => refund(o.id));
  return (
    <article class="order" data-testid="sold-order">
      <div class="order-head">
        <h4>
          {o.service.name} <code>{o.service.code}</code>
        </h4>
        <StatusBadge order={o} />
      </div>
      <p class="hint">
        {priceText(o)} · requested {fullTime(o.requestedAt)} · credit {o.score} ({o.band}){o.complained ? ' · the user complained' : ''}
      </p>
      <FormError error={back.error} />
      {(o.status === 'active' || o.status === 'completed') && (
        <button type="button" disabled={back.busy} onClick={() => void back.run()}>
          Refund
        </button>
      )}
    </article>
  );
}

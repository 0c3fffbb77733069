import { useEffect, useState } from 'preact/hooks';
import type { ProviderCreditEntry } from '../../../../sdk/index.js';
import { adjust, loadProviders, orders } from '../../orders/store.js';
import { FormError, useAction } from '../common.js';
import { CreditBreakdown } from './CreditBreakdown.js';

/** The operator's view (administrators): every provider's score and inputs in one table, details and the adjustment on demand. */
export function OperatorCredit() {
  const [open, setOpen] = useState<string[]>([]);
  useEffect(() => {
    void loadProviders();
  }, []);
  if (!orders.providersLoaded) return orders.error ? <FormError error={orders.error} /> : <p aria-busy="true">Loading providers…</p>;
  if (orders.providers.length === 0) return <p class="empty-list">No provider accounts yet.</p>;
  const toggle = (id: string) => setOpen(open.includes(id) ? open.filter((x) => x !== id) : [...open, id]);
  return (
    <>
      <div class="card wide">
        <div class="table-scroll">
          <table class="credit-summary" data-testid="providers-credit">
            <caption>Every provider’s score and the inputs of its record (a provider’s name opens its details and the adjustment)</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Score</th>
                <th scope="col">Placed</th>
                <th scope="col">Completed</th>
                <th scope="col">Cancelled in 24 h</th>
                <th scope="col">Complaints</th>
                <th scope="col">Failed codes</th>
                <th scope="col">Refunds</th>
                <th scope="col">Days old</th>
                <th scope="col">Adjustment</th>
              </tr>
            </thead>
            <tbody>
              {orders.providers.map(({ provider: p, credit: c }) => (
                <tr key={p.id} data-testid="provider-row" class={`band-row-${c.band}`}>
                  <th scope="row">
                    <button type="button" class="link-button" aria-expanded={open.includes(p.id)} aria-label={`Details for @${p.handle}`} onClick={() => toggle(p.id)}>
                      {p.displayName}
                    </button>
                    <span class="hint handle">@{p.handle}</span>
                  </th>
                  <td class="nowrap">
                    <strong>{c.score}</strong> <span class={`band band-${c.band}`}>{c.band}</span>
                  </td>
                  <td>{c.inputs.ordersPlaced}</td>
                  <td>{c.inputs.completedOrders}</td>
                  <td>{c.inputs.cancellationsWithin24h}</td>
                  <td>{c.inputs.complaints}</td>
                  <td>{c.inputs.failedVerifications}</td>
                  <td>{c.inputs.refunds}</td>
                  <td>{c.inputs.accountAgeDays}</td>
                  <td>{c.adjustment.points}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <button type="button" onClick={() => void loadProviders()}>
          Refresh
        </button>
      </div>
      {orders.providers
        .filter((p) => open.includes(p.provider.id))
        .map((p) => (
          <ProviderCredit key={p.provider.id} entry={p} />
        ))}
    </>
  );
}

function ProviderCredit(props: { entry: ProviderCreditEntry }) {
  const { provider: p, credit } = props.entry;
  const [points, setPoints] = useState(String(credit.adjustment.points));
  const [reason, setReason] = useState('');
  const save = useAction(async () => {
    const n = Number(points);
    if (!Number.isInteger(n) || n < -100 || n > 100) throw new Error('The adjustment is a whole number from −100 to 100.');
    if (!reason.trim()) throw new Error('Say why: the reason is kept with the adjustment.');
    await adjust(p.id, n, reason.trim());
    setReason('');
  });
  return (
    <section class="card" data-testid="provider-credit" aria-labelledby={`credit-${p.id}`}>
      <h3 id={`credit-${p.id}`}>
        {p.displayName} <span class="hint">@{p.handle}</span>
      </h3>
      <CreditBreakdown credit={credit} />
      <form
        class="inline-form"
        aria-label={`Adjust the credit of ${p.handle}`}
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <div class="form-row">
          <label>
            Adjustment (−100…100)
            <input name="adjustment" type="number" min={-100} max={100} step={1} value={points} onInput={(e) => setPoints(e.currentTarget.value)} />
          </label>
          <label>
            Reason
            <input name="reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
        </div>
        <FormError error={save.error} />
        <button type="submit" disabled={save.busy}>
          Set adjustment
        </button>
      </form>
    </section>
  );
}

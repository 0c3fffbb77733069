import { useEffect, useState } from 'preact/hooks';
import type { ProviderCreditEntry } from '../../../../sdk/index.js';
import { adjust, loadProviders, orders } from '../../orders/store.js';
import { FormError, useAction } from '../common.js';
import { CreditBreakdown } from './CreditBreakdown.js';

/** The operator's view (administrators): every provider's score with its inputs, and the adjustment. */
export function OperatorCredit() {
  useEffect(() => {
    void loadProviders();
  }, []);
  if (!orders.providersLoaded) return orders.error ? <FormError error={orders.error} /> : <p aria-busy="true">Loading providers…</p>;
  return (
    <>
      <div class="toolbar">
        <button type="button" onClick={() => void loadProviders()}>
          Refresh
        </button>
      </div>
      {orders.providers.length === 0 ? (
        <p class="empty-list">No provider accounts yet.</p>
      ) : (
        orders.providers.map((p) => <ProviderCredit key={p.provider.id} entry={p} />)
      )}
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

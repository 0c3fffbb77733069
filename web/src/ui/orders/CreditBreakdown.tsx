import type { CreditInputs, ProviderCreditView } from '../../../../sdk/index.js';
import { fullTime } from '../../format.js';
import { BandBadge } from './common.js';

const INPUTS: [keyof CreditInputs, string][] = [
  ['ordersPlaced', 'Orders placed'],
  ['completedOrders', 'Completed orders'],
  ['cancellationsWithin24h', 'Cancelled within 24 h'],
  ['complaints', 'Complaints'],
  ['failedVerifications', 'Failed or abandoned verifications'],
  ['refunds', 'Refunds'],
  ['accountAgeDays', 'Account age (days)'],
];

const TERMS: [keyof ProviderCreditView['terms'], string][] = [
  ['base', 'Base'],
  ['experience', 'Experience: 25 × completed ÷ (completed + 20)'],
  ['tenure', 'Tenure: 15 × min(age, 365) ÷ 365'],
  ['penalty', 'Penalty: 100 × (10·complaints + 5·refunds + 3·quick cancellations + 2·failed verifications) ÷ (placed + 50)'],
  ['adjustment', 'Operator adjustment'],
];

/** A provider's score with every input and every term of the formula (docs/orders.md), so anyone allowed to see it sees why. */
export function CreditBreakdown(props: { credit: ProviderCreditView }) {
  const c = props.credit;
  const adj = c.adjustment;
  return (
    <div class="credit" data-testid="credit-breakdown">
      <p class="credit-score">
        Score <strong data-testid="credit-score">{c.score}</strong> of 100 <BandBadge band={c.band} />
      </p>
      <p class="hint">
        High from {c.thresholds.high}, refused below {c.thresholds.low}; between them users confirm with a code.
      </p>
      <table class="credit-table" data-testid="credit-inputs">
        <caption>Inputs</caption>
        <tbody>
          {INPUTS.map(([key, label]) => (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td>{c.inputs[key]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table class="credit-table" data-testid="credit-terms">
        <caption>Terms</caption>
        <tbody>
          {TERMS.map(([key, label]) => (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td>{key === 'penalty' ? `−${c.terms[key]}` : c.terms[key]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {adj.points !== 0 || adj.reason ? (
        <p class="hint" data-testid="credit-adjustment">
          Adjusted by {adj.points > 0 ? '+' : ''}
          {adj.points}
          {adj.reason ? `: “${adj.reason}”` : ''}
          {adj.at ? `, ${fullTime(adj.at)}` : ''}
        </p>
      ) : null}
    </div>
  );
}

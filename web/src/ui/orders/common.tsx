import type { CreditBand, OrderView } from '../../../../sdk/index.js';
import { BAND_TEXT, STATUS_TEXT } from '../../orders/format.js';

export function BandBadge(props: { band: CreditBand }) {
  return (
    <span class={`band band-${props.band}`} data-testid="credit-band" title={BAND_TEXT[props.band]}>
      {BAND_TEXT[props.band]}
    </span>
  );
}

export function StatusBadge(props: { order: OrderView }) {
  return (
    <span class={`order-status status-${props.order.status}`} data-testid="order-status">
      {STATUS_TEXT[props.order.status]}
    </span>
  );
}

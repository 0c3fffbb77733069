import { useEffect, useState } from 'preact/hooks';
import type { OrderView } from '../../../../sdk/index.js';
import { clockTime } from '../../format.js';
import { CHANNEL_TEXT, priceText, refusalText, waitText } from '../../orders/format.js';
import { orderNotices } from '../../orders/live.js';
import { cancel, closeFlow, confirm, orderById, orders, resend, type OrderFlow } from '../../orders/store.js';
import { FormError, Modal, useAction } from '../common.js';

/** The order just placed (or reopened from My orders): its outcome, or the verification form while it waits for a code. */
export function OrderDialog() {
  const flow = orders.flow;
  const order = flow && orderById(flow.orderId);
  if (!flow || !order) return null;
  const title = order.status === 'pending' ? 'Confirm your order' : order.status === 'refused' ? 'Order refused' : order.placedAt ? 'Ordered' : 'Order not placed';
  return (
    <Modal title={title} onClose={closeFlow} class="order-dialog">
      <div data-testid="order-dialog" data-order-id={order.id}>
        {order.status === 'pending' ? <Verification order={order} flow={flow} /> : <Outcome order={order} />}
      </div>
    </Modal>
  );
}

function Outcome(props: { order: OrderView }) {
  const o = props.order;
  const what = `${o.service.name} from ${o.provider.displayName}`;
  if (o.status === 'refused')
    return (
      <div class="outcome outcome-refused" data-testid="order-outcome">
        <p>
          Your order of <strong>{what}</strong> was refused: {refusalText(orders.refusals.get(o.id) ?? o.refusal)}.
        </p>
        <p>Nothing was charged.</p>
      </div>
    );
  if (!o.placedAt)
    return (
      <div class="outcome outcome-refused" data-testid="order-outcome">
        <p>
          Your order of <strong>{what}</strong> was not placed:{' '}
          {o.status === 'expired' ? 'the code expired before it came back.' : o.status === 'failed' ? 'too many wrong codes.' : 'you declined it.'} Nothing was charged.
        </p>
        {o.status !== 'cancelled' && <p>Order again for a new code.</p>}
      </div>
    );
  return (
    <div class="outcome outcome-ordered" data-testid="order-outcome">
      <p>
        Ordered: <strong>{what}</strong>, {priceText(o)}.
      </p>
      {o.period === 'monthly' ? <p>This is a subscription: it runs every month until you cancel it.</p> : <p>A one-off order: nothing more is charged.</p>}
      {o.status === 'active' && (
        <p>
          To cancel: <strong>Cancel</strong> under My orders, or send <code>STOP {o.service.code}</code> to the Orders account or by SMS.
        </p>
      )}
      {o.status === 'cancelled' && <p>You cancelled it since.</p>}
      <p class="hint">A confirmation went out {CHANNEL_TEXT[o.channel]}.</p>
    </div>
  );
}

/** Re-renders every second, for the code's expiry and an account lockout's wait. */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function Verification(props: { order: OrderView; flow: OrderFlow }) {
  const { order: o, flow } = props;
  const now = useNow();
  const [code, setCode] = useState('');
  const [invalid, setInvalid] = useState(false);
  const submit = useAction(async () => {
    if (!/^\d{6}$/.test(code)) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    await confirm(o.id, code);
  });
  const again = useAction(() => resend(o.id));
  const decline = useAction(() => cancel(o.id));
  const expiresIn = o.codeExpiresAt ? Date.parse(o.codeExpiresAt) - now : null;
  const wait = flow.error?.retryAt ? Date.parse(flow.error.retryAt) - now : 0;
  const notices = o.channel === 'im' ? (orderNotices.get(o.id) ?? []) : [];
  const fellBack = flow.requested !== o.channel;
  return (
    <form
      class="verification"
      aria-describedby="quote"
      onSubmit={(e) => {
        e.preventDefault();
        void submit.run();
      }}
    >
      <p id="quote" data-testid="order-quote">
        <strong>{o.service.name}</strong> from {o.provider.displayName}: <strong>{priceText(o)}</strong>, all taxes and fees included.
      </p>
      <p>
        {fellBack ? `You have no verified ${flow.requested === 'sms' ? 'phone number' : 'e-mail address'}, so we` : 'We'} sent a 6-digit code {CHANNEL_TEXT[o.channel]}
        {flow.resent ? ' again (the earlier code no longer works)' : ''}. The order is placed only when you enter it.
      </p>
      {notices.length > 0 && (
        <p class="notice" data-testid="order-notice">
          <span class="hint">From Orders:</span> {notices.at(-1)}
        </p>
      )}
      <label>
        Code
        <input
          name="code"
          inputMode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          value={code}
          aria-invalid={invalid || Boolean(flow.error) || undefined}
          aria-describedby="code-error"
          onInput={(e) => setCode(e.currentTarget.value.replace(/\D/g, ''))}
        />
      </label>
      {invalid && (
        <p class="form-error" id="code-error" role="alert">
          Enter the 6 digits of the code.
        </p>
      )}
      {!invalid && flow.error && (
        <p class="form-error" id="code-error" role="alert" data-testid="code-error" data-code={flow.error.code}>
          {flow.error.text}
          {flow.error.retryAt && (wait > 0 ? ` Try again in ${waitText(wait)} (at ${clockTime(flow.error.retryAt)}).` : ' You can try again now.')}
        </p>
      )}
      {expiresIn !== null && <p class="hint">{expiresIn > 0 ? `The code is valid until ${clockTime(o.codeExpiresAt!)} (${Math.ceil(expiresIn / 1000)} s left).` : 'The code has expired.'}</p>}
      <FormError error={submit.error || again.error || decline.error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={submit.busy || wait > 0}>
          Confirm order
        </button>
        <button type="button" disabled={again.busy} onClick={() => void again.run()}>
          Send a new code
        </button>
        <button type="button" class="danger" disabled={decline.busy} onClick={() => void decline.run()}>
          Decline
        </button>
      </div>
    </form>
  );
}

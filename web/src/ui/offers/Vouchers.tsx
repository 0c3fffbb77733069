import { useEffect } from 'preact/hooks';
import type { VoucherView } from '../../../../sdk/index.js';
import { decide, loadVouchers, offerOf, offers, openVoucher, redeem } from '../../offers/store.js';
import { FormError, useAction } from '../common.js';
import { offerTitle, when } from './common.js';

const STATUS: Record<VoucherView['status'], string> = { issued: 'Issued', accepted: 'Accepted', rejected: 'Rejected', redeemed: 'Redeemed' };

export function Vouchers() {
  useEffect(() => {
    void loadVouchers();
  }, []);
  if (!offers.vouchersLoaded) return <p aria-busy="true">Loading vouchers…</p>;
  if (offers.vouchers.length === 0) return <p class="empty-list">No vouchers yet. Accept an offer in time to get one.</p>;
  return (
    <ul class="offer-list" data-testid="voucher-list">
      {offers.vouchers.map((v) => (
        <li key={v.id}>
          <Voucher voucher={v} />
        </li>
      ))}
    </ul>
  );
}

function Voucher(props: { voucher: VoucherView }) {
  const v = props.voucher;
  const offer = offerOf(v);
  const opened = offers.opened.get(v.id);
  const open = useAction(() => openVoucher(v));
  const act = useAction(async (what: 'accept' | 'reject' | 'redeem') => (what === 'redeem' ? redeem(v) : decide(v.id, what)));
  const live = v.status === 'issued' || v.status === 'accepted';
  const title = offer ? offerTitle(offer) : 'Voucher';
  return (
    <article class="card voucher" data-testid="voucher" data-voucher-id={v.id} data-status={v.status} aria-label={`Voucher for ${title}`}>
      <header class="offer-head">
        <h3>{title}</h3>
        <span class={`voucher-status status-${v.status}`} data-testid="voucher-status">
          {STATUS[v.status]}
        </span>
      </header>
      <p class="hint">
        {offer ? `From ${offer.provider.displayName} (@${offer.provider.handle}) · ` : ''}issued {when(v.issuedAt)} · valid until {when(v.expiresAt)}
      </p>
      {opened?.text !== undefined && (
        <pre class="voucher-data" data-testid="voucher-data">
          {opened.text}
        </pre>
      )}
      {opened?.download && (
        <p>
          <a href={opened.download} download={`${title}.bin`}>
            Save the data ({opened.bytes} bytes)
          </a>
        </p>
      )}
      {opened?.link !== undefined && (
        <p>
          <a href={opened.link} target="_blank" rel="noopener noreferrer" data-testid="voucher-link">
            Open the provider's page
          </a>
        </p>
      )}
      {opened?.waiting && (
        <p class="hint" role="status">
          Waiting for the provider's key share: it is sealed to this device and sent when the provider's device is online. The voucher opens by itself then.
        </p>
      )}
      {opened?.error && (
        <p class="form-error" role="alert">
          {opened.error}
        </p>
      )}
      <FormError error={open.error || act.error} />
      <div class="buttons">
        {v.status !== 'rejected' && opened?.text === undefined && opened?.link === undefined && !opened?.download && (
          <button type="button" class="primary" disabled={open.busy} onClick={() => void open.run()}>
            Open
          </button>
        )}
        {v.status === 'issued' && (
          <>
            <button type="button" class="secondary" disabled={act.busy} onClick={() => void act.run('accept')}>
              Accept voucher
            </button>
            <button type="button" class="danger" disabled={act.busy} onClick={() => void act.run('reject')}>
              Reject
            </button>
          </>
        )}
        {live && (
          <button type="button" class="secondary" disabled={act.busy} onClick={() => void act.run('redeem')}>
            Redeem
          </button>
        )}
      </div>
    </article>
  );
}

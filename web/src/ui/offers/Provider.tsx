import { useEffect, useState } from 'preact/hooks';
import type { OfferBody, OfferRecipientView, OfferView } from '../../../../sdk/index.js';
import { parseDeadline } from '../../format.js';
import { releaseShares } from '../../offers/live.js';
import { loadDashboard, loadPublished, offers, preciseTime, publish, withdraw, type PublishInput } from '../../offers/store.js';
import { FormError, useAction } from '../common.js';
import { isoFromLocal, offerTitle, Tags, when } from './common.js';
import { Countdown } from './Countdown.js';

export function Provider() {
  useEffect(() => {
    void loadPublished();
    releaseShares();
  }, []);
  return (
    <>
      <div class="card" data-testid="credit">
        <h3>Your credit</h3>
        {offers.credit ? (
          <p>
            <strong data-testid="credit-points">{offers.credit.points}</strong> points from <strong data-testid="credit-redemptions">{offers.credit.redemptions}</strong> redeemed voucher
            {offers.credit.redemptions === 1 ? '' : 's'}
          </p>
        ) : (
          <p aria-busy="true">Loading…</p>
        )}
      </div>
      <PublishForm />
      <div class="card">
        <h3>Your offers</h3>
        {!offers.publishedLoaded ? (
          <p aria-busy="true">Loading…</p>
        ) : offers.published.length === 0 ? (
          <p class="hint">Nothing published yet.</p>
        ) : (
          <ul class="offer-list" data-testid="published-offers">
            {offers.published.map((o) => (
              <li key={o.id}>
                <PublishedOffer offer={o} />
              </li>
            ))}
          </ul>
        )}
      </div>
    </>
  );
}

type DeadlineKind = 'within' | 'by' | 'window';

function PublishForm() {
  const [f, setF] = useState({ name: '', identifier: '', tags: '', attributes: '', kind: 'within' as DeadlineKind, within: '1h', by: '', from: '', to: '', cap: '', contact: '', location: '', target: 'data' as 'data' | 'link', data: '', link: '' });
  const set = (k: keyof typeof f) => (e: { currentTarget: { value: string } }) => setF({ ...f, [k]: e.currentTarget.value });
  const submit = useAction(async () => {
    let attributes: Record<string, unknown> | undefined;
    if (f.attributes.trim()) {
      try {
        attributes = JSON.parse(f.attributes) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`The attributes are not JSON: ${(err as Error).message}`);
      }
    }
    let deadline: OfferBody['deadline'];
    if (f.kind === 'within') {
      const ms = parseDeadline(f.within);
      if (ms === null) throw new Error('Give the time to answer as e.g. 30m, 2h or PT1H.');
      deadline = { within: ms };
    } else if (f.kind === 'by') {
      const by = isoFromLocal(f.by);
      if (!by) throw new Error('Give the deadline’s date and time.');
      deadline = { by };
    } else {
      const from = isoFromLocal(f.from);
      const to = isoFromLocal(f.to);
      if (!from || !to) throw new Error('Give both ends of the window.');
      deadline = { from, to };
    }
    const common = {
      ...(f.name.trim() ? { name: f.name.trim() } : {}),
      ...(f.identifier.trim() ? { identifier: f.identifier.trim() } : {}),
      tags: f.tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      ...(attributes ? { attributes } : {}),
      deadline,
      ...(f.cap ? { cap: Number(f.cap) } : {}),
      ...(f.contact.trim() ? { contact: f.contact.trim() } : {}),
      ...(f.location.trim() ? { location: f.location.trim() } : {}),
    };
    const input: PublishInput = f.target === 'link' ? { ...common, link: f.link.trim() } : { ...common, data: f.data };
    await publish(input);
    setF({ ...f, name: '', identifier: '', data: '', link: '' });
  });
  return (
    <form
      class="card publish"
      aria-labelledby="publish-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit.run();
      }}
    >
      <h3 id="publish-title">Publish an offer</h3>
      <div class="form-row">
        <label>
          Offer name
          <input name="name" value={f.name} maxLength={200} onInput={set('name')} />
        </label>
        <label>
          Identifier
          <input name="identifier" value={f.identifier} maxLength={200} onInput={set('identifier')} />
        </label>
      </div>
      <label>
        Tags
        <input name="tags" value={f.tags} placeholder="books, discounts" onInput={set('tags')} />
      </label>
      <label>
        Attributes
        <textarea name="attributes" class="code" rows={2} value={f.attributes} placeholder='{ "category": "doc", "price": 80 }' spellcheck={false} onInput={set('attributes')} />
      </label>
      <fieldset>
        <legend>Answers count</legend>
        <label class="check">
          <input type="radio" name="kind" checked={f.kind === 'within'} onChange={() => setF({ ...f, kind: 'within' })} /> for a time from publishing
        </label>
        <label class="check">
          <input type="radio" name="kind" checked={f.kind === 'by'} onChange={() => setF({ ...f, kind: 'by' })} /> until an instant
        </label>
        <label class="check">
          <input type="radio" name="kind" checked={f.kind === 'window'} onChange={() => setF({ ...f, kind: 'window' })} /> in a window
        </label>
        {f.kind === 'within' && (
          <label>
            Time to answer
            <input name="within" value={f.within} placeholder="30m, 2h, PT1H" onInput={set('within')} />
          </label>
        )}
        {f.kind === 'by' && (
          <label>
            Answer by
            <input name="by" type="datetime-local" step={1} value={f.by} onInput={set('by')} />
          </label>
        )}
        {f.kind === 'window' && (
          <div class="form-row">
            <label>
              From
              <input name="from" type="datetime-local" step={1} value={f.from} onInput={set('from')} />
            </label>
            <label>
              To
              <input name="to" type="datetime-local" step={1} value={f.to} onInput={set('to')} />
            </label>
          </div>
        )}
      </fieldset>
      <div class="form-row">
        <label>
          Vouchers (empty: everyone in time)
          <input name="cap" type="number" min={1} value={f.cap} onInput={set('cap')} />
        </label>
        <label>
          Contact
          <input name="contact" value={f.contact} maxLength={500} onInput={set('contact')} />
        </label>
        <label>
          Location
          <input name="location" value={f.location} maxLength={500} onInput={set('location')} />
        </label>
      </div>
      <fieldset>
        <legend>Winners get</legend>
        <label class="check">
          <input type="radio" name="target" checked={f.target === 'data'} onChange={() => setF({ ...f, target: 'data' })} /> data sealed on this device
        </label>
        <label class="check">
          <input type="radio" name="target" checked={f.target === 'link'} onChange={() => setF({ ...f, target: 'link' })} /> a link to a page
        </label>
        {f.target === 'data' ? (
          <>
            <label>
              Target data
              <textarea name="data" rows={3} value={f.data} required onInput={set('data')} aria-describedby="data-hint" />
            </label>
            <p class="hint" id="data-hint">
              Encrypted here before it leaves the browser; only winners can open it, with a key share this device releases to them. Publish from the device you will keep using.
            </p>
          </>
        ) : (
          <label>
            Link
            <input name="link" type="url" value={f.link} required placeholder="https://…" onInput={set('link')} />
          </label>
        )}
      </fieldset>
      <FormError error={submit.error} />
      <button type="submit" class="primary" disabled={submit.busy}>
        Publish
      </button>
    </form>
  );
}

const OUTCOME: Record<NonNullable<OfferRecipientView['outcome']>, string> = {
  voucher: 'voucher',
  declined: 'declined',
  too_early: 'too early',
  too_late: 'too late',
  cap_reached: 'cap reached',
  withdrawn: 'withdrawn',
};

function PublishedOffer(props: { offer: OfferView }) {
  const o = props.offer;
  const [open, setOpen] = useState(false);
  const dashboard = offers.dashboards.get(o.id);
  const remove = useAction(() => withdraw(o.id));
  useEffect(() => {
    if (open) void loadDashboard(o.id);
  }, [open]);
  return (
    <article class="offer published" data-testid="published-offer" data-offer-id={o.id} aria-labelledby={`pub-${o.id}`}>
      <header class="offer-head">
        <h4 id={`pub-${o.id}`}>{offerTitle(o)}</h4>
        <Countdown offer={dashboard ?? o} />
      </header>
      <Tags tags={o.tags} />
      <p class="hint">
        Until {when(o.deadline.closesAt)} · {o.cap === null ? 'no cap' : `cap ${o.cap}`}
        {dashboard ? ` · ${dashboard.winners} voucher${dashboard.winners === 1 ? '' : 's'} issued` : ''}
      </p>
      <div class="buttons">
        <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide recipients' : 'Recipients'}
        </button>
        {(dashboard ?? o).status === 'open' && (
          <button type="button" class="danger" disabled={remove.busy} onClick={() => void remove.run()}>
            Withdraw
          </button>
        )}
      </div>
      <FormError error={remove.error} />
      {open && dashboard && (
        <div class="table-wrap">
          <table class="recipients" data-testid="recipients">
            <caption class="sr-only">Who was offered {offerTitle(o)}</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Offered</th>
                <th scope="col">Answer</th>
                <th scope="col">Answered</th>
                <th scope="col">Outcome</th>
                <th scope="col">Key share</th>
              </tr>
            </thead>
            <tbody>
              {dashboard.recipients.length === 0 && (
                <tr>
                  <td colSpan={6}>Nobody's interests matched this offer.</td>
                </tr>
              )}
              {dashboard.recipients.map((r) => (
                <tr key={r.accountId} data-testid="recipient" data-handle={r.handle} data-outcome={r.outcome ?? ''}>
                  <td>@{r.handle}</td>
                  <td>{preciseTime(r.offeredAt)}</td>
                  <td>{r.answer ?? '—'}</td>
                  <td>{r.answeredAt ? preciseTime(r.answeredAt) : '—'}</td>
                  <td>{r.outcome ? OUTCOME[r.outcome] : 'waiting'}</td>
                  <td>{r.voucherId ? (r.shareReleased ? 'released' : 'pending') : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

import { useEffect, useState } from 'preact/hooks';
import type { ReceivedOfferView } from '../../../../sdk/index.js';
import { offersBadge } from '../../offers/live.js';
import { answer, loadReceived, offers, preciseTime, type AnswerNote } from '../../offers/store.js';
import { notify } from '../../state.js';
import { Link } from '../common.js';
import { Attributes, deadlineText, offerTitle, Tags } from './common.js';
import { Countdown, phaseOf, useNow } from './Countdown.js';

export function Inbox() {
  useEffect(() => {
    void loadReceived();
  }, []);
  useEffect(() => {
    offersBadge.unseen = 0;
    notify();
  }, [offers.received.length]);
  if (!offers.receivedLoaded) return <p aria-busy="true">Loading offers…</p>;
  if (offers.received.length === 0)
    return (
      <p class="empty-list">
        No offers yet. Offers that match one of your <Link href="/offers/interests">interests</Link> appear here as they are published.
      </p>
    );
  return (
    <ul class="offer-list" data-testid="offer-inbox">
      {offers.received.map((o) => (
        <li key={o.id}>
          <ReceivedOffer offer={o} />
        </li>
      ))}
    </ul>
  );
}

/** The server's recorded answer, said the way the user needs it. */
function recordedNote(o: ReceivedOfferView): AnswerNote | undefined {
  const a = o.myAnswer;
  if (!a) return undefined;
  const at = preciseTime(a.answeredAt);
  switch (a.outcome) {
    case 'voucher':
      return { kind: 'voucher', text: `Accepted at ${at}: you got a voucher.` };
    case 'declined':
      return { kind: 'declined', text: `Declined at ${at}.` };
    case 'too_late':
      return { kind: 'refused', text: `Refused: your answer reached the server at ${at}, after the deadline ${preciseTime(o.deadline.closesAt)}.` };
    case 'cap_reached':
      return { kind: 'refused', text: `Refused at ${at}: every voucher was taken before your answer arrived.` };
    default:
      return { kind: 'refused', text: `Answered ${a.answer} at ${at}.` };
  }
}

function ReceivedOffer(props: { offer: ReceivedOfferView }) {
  const o = props.offer;
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const phase = phaseOf(o, now);
  const note = offers.notes.get(o.id) ?? recordedNote(o);
  const canAnswer = !o.myAnswer && o.status === 'open';
  const run = async (choice: 'accept' | 'decline') => {
    setBusy(true);
    try {
      await answer(o.id, choice);
    } finally {
      setBusy(false);
    }
  };
  return (
    <article class="card offer" data-testid="offer" data-offer-id={o.id} aria-labelledby={`offer-${o.id}`}>
      <header class="offer-head">
        <h3 id={`offer-${o.id}`}>{offerTitle(o)}</h3>
        <Countdown offer={o} />
      </header>
      <p class="hint">
        From {o.provider.displayName} (@{o.provider.handle}) · {o.cap === null ? 'everyone who answers in time' : `first ${o.cap} to accept`}
      </p>
      <Tags tags={o.tags} />
      <Attributes attributes={o.attributes} />
      {(o.contact || o.location) && (
        <p>
          {o.contact && <span>Contact: {o.contact}</span>} {o.location && <span>Location: {o.location}</span>}
        </p>
      )}
      <p class="offer-deadline">{deadlineText(o)}</p>
      {canAnswer && (
        <div class="buttons">
          <button type="button" class="primary" disabled={busy || phase === 'not-open'} onClick={() => void run('accept')} title={phase === 'not-open' ? 'Answers count once the window opens' : undefined}>
            Accept
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => void run('decline')}>
            Decline
          </button>
        </div>
      )}
      {note && (
        <p class={`offer-note note-${note.kind}`} data-testid="offer-outcome" role={note.kind === 'refused' ? 'alert' : 'status'}>
          {note.text}
          {note.kind === 'voucher' && (
            <>
              {' '}
              <Link href="/offers/vouchers">Open your voucher</Link>
            </>
          )}
        </p>
      )}
    </article>
  );
}

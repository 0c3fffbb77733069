import { useEffect, useState } from 'preact/hooks';
import { ParleyError, type InterestView } from '../../../../sdk/index.js';
import { deleteInterest, loadInterests, offers, putInterest } from '../../offers/store.js';
import { errorText } from '../../state.js';
import { FormError, useAction } from '../common.js';
import { isoFromLocal, Tags, when } from './common.js';

const EXAMPLE = '{ "category": "doc", "price": { "$lte": 100 } }';

/** datetime-local wants local time without a zone. */
function localFromIso(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** Why the predicate field was refused: by the browser (not JSON) or by the server (its code and the path it names). */
interface PredicateError {
  text: string;
  path?: string;
}

export function Interests() {
  useEffect(() => {
    void loadInterests();
  }, []);
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [predicate, setPredicate] = useState('');
  const [expires, setExpires] = useState('');
  const [predicateError, setPredicateError] = useState<PredicateError | null>(null);
  const save = useAction(async () => {
    setPredicateError(null);
    let parsed: Record<string, unknown> | undefined;
    if (predicate.trim()) {
      try {
        parsed = JSON.parse(predicate) as Record<string, unknown>;
      } catch (err) {
        setPredicateError({ text: `This is not JSON: ${(err as Error).message}` });
        throw new Error('Fix the predicate first.');
      }
    }
    try {
      await putInterest({
        name: name.trim(),
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        ...(parsed ? { predicate: parsed } : {}),
        ...(expires ? { expiresAt: isoFromLocal(expires)! } : {}),
      });
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'INVALID_PREDICATE') {
        const path = (err.details as { path?: string } | undefined)?.path;
        setPredicateError({ text: errorText(err), ...(path ? { path } : {}) });
        throw new Error('The server refused the predicate (INVALID_PREDICATE).');
      }
      if (err instanceof ParleyError && err.code === 'VALIDATION_FAILED' && /predicate/.test(err.message)) {
        setPredicateError({ text: 'The predicate must be a JSON object, e.g. ' + EXAMPLE });
        throw new Error('The server refused the predicate.');
      }
      throw err;
    }
    setName('');
    setTags('');
    setPredicate('');
    setExpires('');
  });
  const edit = (i: InterestView) => {
    setName(i.name);
    setTags(i.tags.join(', '));
    setPredicate(Object.keys(i.predicate).length ? JSON.stringify(i.predicate) : '');
    setExpires(localFromIso(i.expiresAt));
    setPredicateError(null);
  };
  return (
    <>
      <form
        class="card"
        aria-labelledby="interest-form-title"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <h3 id="interest-form-title">Add or replace an interest</h3>
        <label>
          Name
          <input name="name" value={name} required maxLength={100} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="interest-name-hint" />
        </label>
        <p class="hint" id="interest-name-hint">
          Saving under a name you already use replaces that interest.
        </p>
        <label>
          Tags
          <input name="tags" value={tags} placeholder="books, discounts" onInput={(e) => setTags(e.currentTarget.value)} />
        </label>
        <label>
          Predicate
          <textarea
            name="predicate"
            class="code"
            rows={3}
            value={predicate}
            placeholder={EXAMPLE}
            spellcheck={false}
            aria-invalid={predicateError ? true : undefined}
            aria-describedby="predicate-hint predicate-error"
            onInput={(e) => setPredicate(e.currentTarget.value)}
          />
        </label>
        <p class="hint" id="predicate-hint">
          A MongoDB query over the offer's attributes ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $all, $size, $elemMatch, $not, $type, $mod, $and, $or, $nor). Empty: every offer with
          the tags.
        </p>
        {predicateError && (
          <p class="form-error" id="predicate-error" role="alert" data-testid="predicate-error">
            {predicateError.text}
            {predicateError.path && (
              <>
                {' '}
                (at <code>{predicateError.path}</code>)
              </>
            )}
          </p>
        )}
        <label>
          Expires
          <input name="expires" type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <FormError error={predicateError ? '' : save.error} />
        <button type="submit" class="primary" disabled={save.busy}>
          Save interest
        </button>
      </form>
      <div class="card">
        <h3>Your interests</h3>
        {!offers.interestsLoaded ? (
          <p aria-busy="true">Loading…</p>
        ) : offers.interests.length === 0 ? (
          <p class="hint">None yet: offers reach you only when they match one.</p>
        ) : (
          <ul class="interest-list" data-testid="interest-list">
            {offers.interests.map((i) => (
              <InterestItem key={i.id} interest={i} onEdit={() => edit(i)} />
            ))}
          </ul>
        )}
      </div>
    </>
  );
}

function InterestItem(props: { interest: InterestView; onEdit: () => void }) {
  const i = props.interest;
  const remove = useAction(() => deleteInterest(i.id));
  const expired = i.expiresAt !== null && Date.parse(i.expiresAt) <= Date.now();
  return (
    <li data-testid="interest" data-interest-id={i.id}>
      <div class="interest-main">
        <strong>{i.name}</strong>
        <Tags tags={i.tags} />
        {Object.keys(i.predicate).length > 0 && <code class="predicate">{JSON.stringify(i.predicate)}</code>}
        <span class="hint">{i.expiresAt ? `${expired ? 'Expired' : 'Expires'} ${when(i.expiresAt)}` : 'No expiry'}</span>
        <FormError error={remove.error} />
      </div>
      <div class="buttons">
        <button type="button" class="secondary" onClick={props.onEdit} aria-label={`Edit ${i.name}`}>
          Edit
        </button>
        <button type="button" class="danger" disabled={remove.busy} onClick={() => void remove.run()} aria-label={`Delete ${i.name}`}>
          Delete
        </button>
      </div>
    </li>
  );
}

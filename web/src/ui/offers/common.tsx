import type { OfferView } from '../../../../sdk/index.js';
import { humanDuration } from '../../format.js';
import { preciseTime } from '../../offers/store.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
export const when = (iso: string): string => dateTime.format(new Date(iso));

/** The deadline in the form the provider chose. */
export function deadlineText(offer: OfferView): string {
  const { kind, opensAt, closesAt, receivedAt } = offer.deadline;
  if (kind === 'window') return `Answers count from ${when(opensAt)} to ${when(closesAt)}`;
  if (kind === 'within') return `Within ${humanDuration(Date.parse(closesAt) - Date.parse(receivedAt))} of ${preciseTime(receivedAt)} (until ${when(closesAt)})`;
  return `Answer by ${when(closesAt)}`;
}

export const offerTitle = (offer: Pick<OfferView, 'name' | 'identifier'>): string => offer.name ?? offer.identifier ?? 'Offer';

/** A value typed into a datetime-local field, as the ISO instant the server wants. */
export function isoFromLocal(value: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

export function Tags(props: { tags: string[] }) {
  if (props.tags.length === 0) return null;
  return (
    <ul class="offer-tags" aria-label="Tags">
      {props.tags.map((t) => (
        <li key={t}>{t}</li>
      ))}
    </ul>
  );
}

export function Attributes(props: { attributes: Record<string, unknown> }) {
  const entries = Object.entries(props.attributes);
  if (entries.length === 0) return null;
  return (
    <dl class="offer-attrs">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

import type { Conversation, Message } from '../../../sdk/index.js';
import { clockTime } from '../format.js';
import { retryServiceRequest, serviceOf, serviceProfile, serviceRequests, type ServiceRequest } from '../services.js';
import { ServiceMenu } from './ServiceMenu.js';

/** Where a request to a service stands, under the message (or menu click) that made it. */
export function RequestStatus(props: { clientId: string | null }) {
  const r = props.clientId ? serviceRequests.get(props.clientId) : undefined;
  if (!r || r.status === 'answered') return null;
  if (r.status === 'failed') {
    return (
      <p class="statuses failed request-status" role="alert" data-testid="request-status" data-status="failed">
        Request failed, try again.{r.error ? ` ${r.error}` : ''}{' '}
        <button type="button" class="link-button" onClick={() => retryServiceRequest(r.clientId)}>
          Try again
        </button>
      </p>
    );
  }
  const progress = r.progress && [r.progress.text, r.progress.percent === null ? '' : `${r.progress.percent}%`].filter(Boolean).join(' ');
  return (
    <p class="statuses request-status" data-testid="request-status" data-status={r.status} aria-busy="true">
      <span class="spinner" aria-hidden="true" />
      {r.status === 'sending' ? 'Sending…' : progress || 'Working on it…'}
    </p>
  );
}

/** Requests with no message of their own in the list yet: menu clicks, and messages on their way. */
export function PendingServiceRequests(props: { conversationId: string; messages: Message[] }) {
  const shown = new Set(props.messages.map((m) => m.clientId));
  const open = [...serviceRequests.values()].filter((r) => r.conversationId === props.conversationId && r.status !== 'answered' && (r.menuKey || !shown.has(r.clientId)));
  return (
    <>
      {open.map((r) => (
        <PendingRequest key={r.clientId} r={r} />
      ))}
    </>
  );
}

function PendingRequest(props: { r: ServiceRequest }) {
  const { r } = props;
  return (
    <article class={`msg mine pending${r.menuKey ? ' menu-click' : ''}`} data-client-id={r.clientId} aria-label={r.menuKey ? `You chose ${r.label}` : 'You, waiting for the service'}>
      <div class="bubble">
        <p class="text" dir="auto">
          {r.menuKey ? `☰ ${r.label}` : r.label}
        </p>
        <p class="meta">
          <time dateTime={r.createdAt}>{clockTime(r.createdAt)}</time>
        </p>
        <RequestStatus clientId={r.clientId} />
      </div>
    </article>
  );
}

/** The service's menu bar, once its profile is loaded. */
export function ServiceBar(props: { conv: Conversation }) {
  const service = serviceOf(props.conv);
  const profile = service && serviceProfile(service.id);
  return profile ? <ServiceMenu conversationId={props.conv.id} service={profile} /> : null;
}

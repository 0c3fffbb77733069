/**
 * Requests to service accounts: a message into the chat with a service, or a click on its menu.
 * Each is sent through the SDK's requestService, which starts the client's own timer on send: no
 * acknowledgement within the service's set time is a failure even when the server never answers.
 * A request shows a spinner until its answer arrives (a reply or task.done), or the failure prompt
 * with a retry (the timer ran out, task.failed, or the socket was down).
 */
import { ParleyError, requestService } from '../../sdk/index.js';
import type { Conversation, EventData, PublicAccount, ServiceView, StreamEvent } from '../../sdk/index.js';
import { client, directPeer, errorText, liveStream, newClientId, notify, onSessionEnd, onStreamEvent, scrollRequest, state } from './state.js';

export interface ServiceRequest {
  clientId: string;
  conversationId: string;
  serviceId: string;
  /** The message sent, or the label of the menu item clicked. */
  label: string;
  menuKey?: string;
  /** sending: waiting for the acknowledgement; acked: the answer is being worked on. */
  status: 'sending' | 'acked' | 'answered' | 'failed';
  progress?: { text: string | null; percent: number | null };
  error?: string;
  createdAt: string;
}

/** By client id, which the request's events and the user's message carry. */
export const serviceRequests = new Map<string, ServiceRequest>();
/** Service profiles (menu, set time) by account id; null while loading. */
const profiles = new Map<string, ServiceView | null>();
const DEFAULT_ACK_MS = 5000;

export function serviceOf(conv: Conversation): PublicAccount | undefined {
  const peer = directPeer(conv);
  return peer?.kind === 'service' ? peer : undefined;
}

export function serviceProfile(id: string): ServiceView | null {
  if (!profiles.has(id)) {
    profiles.set(id, null);
    client.service(id).then(
      (profile) => {
        profiles.set(id, profile);
        notify();
      },
      // Asked again on the next render that needs it.
      () => profiles.delete(id),
    );
  }
  return profiles.get(id) ?? null;
}

export function sendToService(conversationId: string, serviceId: string, text: string): void {
  start({ clientId: newClientId(), conversationId, serviceId, label: text, status: 'sending', createdAt: new Date().toISOString() });
}

export function clickServiceMenu(conversationId: string, serviceId: string, leaf: { key: string; label: string }): void {
  start({ clientId: newClientId(), conversationId, serviceId, label: leaf.label, menuKey: leaf.key, status: 'sending', createdAt: new Date().toISOString() });
}

/** Sends the same request again as a new one: the failed one stays failed on the server. */
export function retryServiceRequest(clientId: string): void {
  const old = serviceRequests.get(clientId);
  if (!old) return;
  serviceRequests.delete(clientId);
  start({ ...old, clientId: newClientId(), status: 'sending', error: undefined, progress: undefined, createdAt: new Date().toISOString() });
}

function start(request: ServiceRequest): void {
  serviceRequests.set(request.clientId, request);
  scrollRequest.conversationId = request.conversationId;
  notify();
  const stream = liveStream();
  if (!stream) return fail(request, 'Not connected.');
  const target = request.menuKey ? { service: request.serviceId, menuKey: request.menuKey } : { conversationId: request.conversationId, text: request.label };
  const ackTimeoutMs = profiles.get(request.serviceId)?.ackDeadlineMs ?? DEFAULT_ACK_MS;
  requestService(client, stream, target, { clientId: request.clientId, ackTimeoutMs }).then(
    () => {
      // The answer may have come with the acknowledgement's batch.
      if (request.status === 'sending') request.status = 'acked';
      notify();
    },
    (err) => fail(request, err instanceof ParleyError && (err.code === 'ACK_TIMEOUT' || err.code === 'TASK_FAILED') ? '' : errorText(err)),
  );
}

function fail(request: ServiceRequest, detail: string): void {
  if (request.status === 'answered') return;
  request.status = 'failed';
  request.error = detail;
  state.notice = 'Request failed, try again.';
  notify();
}

/** Request id → client id, learnt from the request's events (replies carry only the request id). */
const requestIds = new Map<string, string>();

function onEvent(event: StreamEvent): void {
  if (event.type === 'message.new') {
    const { message } = event.data as EventData['message.new'];
    if (!message.content) return;
    for (const r of serviceRequests.values()) if (r.status !== 'failed' && r.conversationId === message.conversationId && requestIds.get(message.content.requestId) === r.clientId) r.status = 'answered';
    return;
  }
  if (!event.type.startsWith('task.')) return;
  const data = event.data as EventData['task.ack'] & Partial<EventData['task.progress']>;
  const request = data.clientId ? serviceRequests.get(data.clientId) : undefined;
  if (!request) return;
  requestIds.set(data.requestId, request.clientId);
  if (event.type === 'task.progress') request.progress = { text: data.text ?? null, percent: data.percent ?? null };
  // A late failure (the handler gave up) after the acknowledgement.
  else if (event.type === 'task.failed') fail(request, '');
  else if (event.type === 'task.done' && request.status !== 'failed') request.status = 'answered';
}
onStreamEvent.push(onEvent);

onSessionEnd.push(() => {
  serviceRequests.clear();
  requestIds.clear();
  profiles.clear();
});

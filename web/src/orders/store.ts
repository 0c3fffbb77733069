/**
 * Orders in the browser: the catalogue, my orders and subscriptions, the order being placed (the
 * dialog), the provider's services and credit, and the operator's view of every provider's credit.
 * Loaded on demand with the pages; from then on it follows the order events of the stream.
 */
import { OrdersApi, ParleyError } from '../../../sdk/index.js';
import type { CatalogueBody, CatalogueServiceView, CatalogueUpdateBody, EventData, InteractionChannel, Interaction, OrderView, ProviderCreditEntry, ProviderCreditView, StreamEvent } from '../../../sdk/index.js';
import { client, errorText, newClientId, notify, onSessionEnd, onStreamEvent, state } from '../state.js';

export const api = new OrdersApi(client);

/** The order shown in the dialog: what the server answered, and what happened since. */
export interface OrderFlow {
  orderId: string;
  interaction: Interaction;
  /** The channel the user asked for (the order's own channel says where notices really went). */
  requested: InteractionChannel;
  /** Why the last code or resend was refused, said for the user. */
  error?: { code: string; text: string; retryAt?: string };
  /** A new code went out. */
  resent?: boolean;
}

function empty() {
  return {
    catalogue: [] as CatalogueServiceView[],
    catalogueLoaded: false,
    mine: [] as OrderView[],
    mineLoaded: false,
    /** The provider's own services, withdrawn ones included. */
    services: [] as CatalogueServiceView[],
    /** Orders of the provider's services. */
    sold: [] as OrderView[],
    credit: null as ProviderCreditView | null,
    providerLoaded: false,
    /** The operator's view: every provider's credit. */
    providers: [] as ProviderCreditEntry[],
    providersLoaded: false,
    flow: null as OrderFlow | null,
    /** order id → the refusal reason from order.refused. */
    refusals: new Map<string, string>(),
    error: '',
  };
}

export const orders = empty();

function reset(): void {
  Object.assign(orders, empty());
}

async function loading(what: () => Promise<void>): Promise<void> {
  try {
    await what();
    orders.error = '';
  } catch (err) {
    orders.error = errorText(err);
  }
  notify();
}

export const loadCatalogue = () =>
  loading(async () => {
    orders.catalogue = await api.catalogue();
    orders.catalogueLoaded = true;
  });
export const loadMine = () =>
  loading(async () => {
    orders.mine = await api.list('user');
    orders.mineLoaded = true;
  });
export const loadProvider = () =>
  loading(async () => {
    const me = state.session!.me;
    const [services, sold, credit] = await Promise.all([api.catalogue(me.id, { withdrawn: true }), api.list('provider'), api.credit(me.id)]);
    Object.assign(orders, { services, sold, credit, providerLoaded: true });
  });
export const loadProviders = () =>
  loading(async () => {
    orders.providers = await api.providers();
    orders.providersLoaded = true;
  });

/** Replaces (or adds, newest first) an order wherever it is listed. */
function keep(order: OrderView): void {
  const put = (list: OrderView[]) => (list.some((o) => o.id === order.id) ? list.map((o) => (o.id === order.id ? order : o)) : [order, ...list]);
  if (order.userId === state.session?.me.id) orders.mine = put(orders.mine);
  if (order.provider.id === state.session?.me.id) orders.sold = put(orders.sold);
}

export function orderById(id: string): OrderView | undefined {
  return orders.mine.find((o) => o.id === id) ?? orders.sold.find((o) => o.id === id);
}

/** Keeps what is loaded current from the stream; nothing is fetched for lists never shown. */
function onOrderEvent(event: StreamEvent): void {
  const e = event as { [K in keyof EventData]: { type: K; data: EventData[K] } }[keyof EventData];
  switch (e.type) {
    case 'order.placed':
    case 'order.verification':
    case 'order.closed':
    case 'order.complaint':
      keep(e.data.order);
      // The provider's record moved: its score with it.
      if (e.data.order.provider.id === state.session?.me.id && orders.providerLoaded) void refreshCredit();
      break;
    case 'order.refused':
      orders.refusals.set(e.data.order.id, e.data.reason);
      keep(e.data.order);
      break;
    default:
      return;
  }
  notify();
}

async function refreshCredit(): Promise<void> {
  try {
    orders.credit = await api.credit(state.session!.me.id);
    notify();
  } catch {
    // The next visit loads it again.
  }
}

// ── ordering ───────────────────────────────────────────────────────────────────────────────────

export async function order(service: string, channel: InteractionChannel): Promise<void> {
  const result = await api.order({ service, channel, clientId: newClientId() });
  keep(result.order);
  if (result.order.refusal) orders.refusals.set(result.order.id, result.order.refusal);
  orders.flow = { orderId: result.order.id, interaction: result.interaction, requested: channel };
  notify();
}

/** Opens the dialog of an order already listed (a pending one waiting for its code). */
export function showOrder(o: OrderView): void {
  orders.flow = { orderId: o.id, interaction: o.status === 'pending' ? 'verification' : o.status === 'refused' ? 'refused' : 'ordered', requested: o.channel };
  notify();
}

export function closeFlow(): void {
  orders.flow = null;
  notify();
}

/** What a refused code or resend means for the user. Never says which part of a code was wrong: the server does not either. */
export function codeError(err: unknown): NonNullable<OrderFlow['error']> {
  if (!(err instanceof ParleyError)) return { code: 'ERROR', text: errorText(err) };
  const details = (err.details ?? {}) as { retryAfter?: string };
  switch (err.code) {
    case 'ORDER_CODE_REJECTED':
      return { code: err.code, text: 'That code does not confirm this order: it is wrong, expired or already used. Check it and try again, or send a new code.' };
    case 'TOO_MANY_ATTEMPTS':
      return { code: err.code, text: 'Too many wrong codes: this order is locked and was not placed. Order again for a new code.' };
    case 'ORDER_CODES_LOCKED':
      return { code: err.code, text: 'Too many wrong codes from your account.', ...(details.retryAfter ? { retryAt: details.retryAfter } : {}) };
    case 'RESEND_LIMIT_REACHED':
      return { code: err.code, text: 'No more codes can be sent for this order. Order again later.' };
    case 'ORDER_NOT_PENDING':
      return { code: err.code, text: 'This order is no longer waiting for a code.' };
    default:
      return { code: err.code, text: errorText(err) };
  }
}

export async function confirm(orderId: string, code: string): Promise<void> {
  const flow = orders.flow;
  try {
    keep(await api.confirm(orderId, code));
    if (flow?.orderId === orderId) orders.flow = { ...flow, interaction: 'ordered' };
  } catch (err) {
    if (flow?.orderId === orderId) orders.flow = { ...flow, error: codeError(err) };
    // A locked order is closed on the server: show it so.
    if (err instanceof ParleyError && err.code === 'TOO_MANY_ATTEMPTS') keep(await api.get(orderId));
  }
  notify();
}

export async function resend(orderId: string): Promise<void> {
  const flow = orders.flow;
  try {
    keep(await api.resend(orderId));
    if (flow?.orderId === orderId) orders.flow = { orderId, interaction: flow.interaction, requested: flow.requested, resent: true };
  } catch (err) {
    if (flow?.orderId === orderId) orders.flow = { ...flow, error: codeError(err) };
  }
  notify();
}

export async function cancel(orderId: string): Promise<void> {
  keep(await api.cancel(orderId));
  notify();
}

// ── the provider ───────────────────────────────────────────────────────────────────────────────

export async function publishService(input: CatalogueBody): Promise<void> {
  const service = await api.publish(input);
  orders.services = [...orders.services, service].sort((a, b) => a.code.localeCompare(b.code));
  orders.catalogueLoaded = false;
  notify();
}

export async function updateService(code: string, input: CatalogueUpdateBody): Promise<void> {
  const service = await api.updateService(code, input);
  orders.services = orders.services.map((s) => (s.id === service.id ? service : s));
  orders.catalogueLoaded = false;
  notify();
}

export async function refund(orderId: string): Promise<void> {
  keep(await api.refund(orderId));
  notify();
}

// ── the operator ───────────────────────────────────────────────────────────────────────────────

export async function adjust(providerId: string, adjustment: number, reason: string): Promise<void> {
  const credit = await api.adjust(providerId, { adjustment, reason });
  orders.providers = orders.providers.map((p) => (p.provider.id === providerId ? { ...p, credit } : p));
  notify();
}

onStreamEvent.push(onOrderEvent);
onSessionEnd.push(reset);

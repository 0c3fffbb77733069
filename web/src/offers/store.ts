/**
 * Offers, interests and vouchers in the browser: what the offers pages show and every action on
 * them. Loaded on demand with the pages (live.ts forwards stream events once it is loaded). The
 * target data is sealed and opened here, on the device, through the SDK's WebCrypto code; the
 * server only ever holds ciphertext, its own share, and shares sealed to device keys.
 */
import { fromBase64Url, OffersApi, ParleyError, sealOfferData } from '../../../sdk/index.js';
import type { CreditView, EventData, InterestBody, InterestView, OfferBody, OfferView, ProviderOfferView, ReceivedOfferView, StreamEvent, VoucherView } from '../../../sdk/index.js';
import type { JSONWebKeySet } from 'jose';
import { client, errorText, notify, state, toast } from '../state.js';
import { deviceKey } from './device-key.js';
import { keepProviderShare, providerShares, receivedShares } from './live.js';

export const api = new OffersApi(client);

/** What the server said to an answer, shown on the offer. */
export interface AnswerNote {
  kind: 'voucher' | 'declined' | 'refused';
  code?: string;
  text: string;
}

/** A voucher opened on this device: the decrypted data, or why it cannot be opened yet. */
export interface Opened {
  text?: string;
  bytes?: number;
  /** An object URL of binary data, to save it. */
  download?: string;
  link?: string;
  waiting?: boolean;
  error?: string;
}

function empty() {
  return {
    received: [] as ReceivedOfferView[],
    receivedLoaded: false,
    interests: [] as InterestView[],
    interestsLoaded: false,
    vouchers: [] as VoucherView[],
    vouchersLoaded: false,
    published: [] as OfferView[],
    publishedLoaded: false,
    /** offer id → the provider's full view (recipients, answers, vouchers). */
    dashboards: new Map<string, ProviderOfferView>(),
    credit: null as CreditView | null,
    notes: new Map<string, AnswerNote>(),
    opened: new Map<string, Opened>(),
    error: '',
  };
}

export const offers = empty();

export function reset(): void {
  for (const o of offers.opened.values()) if (o.download) URL.revokeObjectURL(o.download);
  Object.assign(offers, empty());
}

async function loading(what: () => Promise<void>): Promise<void> {
  try {
    await what();
    offers.error = '';
  } catch (err) {
    offers.error = errorText(err);
  }
  notify();
}

export const loadReceived = () =>
  loading(async () => {
    offers.received = await api.list();
    offers.receivedLoaded = true;
  });
export const loadInterests = () =>
  loading(async () => {
    offers.interests = await api.interests();
    offers.interestsLoaded = true;
  });
export const loadVouchers = () =>
  loading(async () => {
    const [vouchers] = await Promise.all([api.vouchers(), offers.receivedLoaded ? null : api.list().then((r) => ((offers.received = r), (offers.receivedLoaded = true)))]);
    offers.vouchers = vouchers;
    offers.vouchersLoaded = true;
  });
export const loadPublished = () =>
  loading(async () => {
    const [published, credit] = await Promise.all([api.list('provider'), api.credit()]);
    offers.published = published;
    offers.credit = credit;
    offers.publishedLoaded = true;
  });
export const loadDashboard = (offerId: string) =>
  loading(async () => {
    offers.dashboards.set(offerId, (await api.get(offerId)) as ProviderOfferView);
  });

/** Keeps the loaded lists current from the stream; nothing is fetched for lists never shown. */
export function onOfferEvent(event: StreamEvent): void {
  const e = event as { [K in keyof EventData]: { type: K; data: EventData[K] } }[keyof EventData];
  switch (e.type) {
    case 'offer':
      if (!offers.received.some((o) => o.id === e.data.offer.id)) offers.received.unshift({ ...e.data.offer, myAnswer: null });
      break;
    case 'offer.closed': {
      const status = e.data.reason === 'withdrawn' ? 'withdrawn' : 'closed';
      for (const list of [offers.received, offers.published]) {
        const o = list.find((x) => x.id === e.data.offerId);
        if (o) o.status = status;
      }
      if (offers.dashboards.has(e.data.offerId)) void loadDashboard(e.data.offerId);
      break;
    }
    case 'offer.answered':
    case 'offer.winner':
      if (offers.dashboards.has(e.data.offerId)) void loadDashboard(e.data.offerId);
      break;
    case 'voucher':
      if (!offers.vouchers.some((v) => v.id === e.data.voucher.id)) offers.vouchers.unshift(e.data.voucher);
      break;
    case 'voucher.share': {
      // A voucher that was waiting for this share opens now.
      const voucher = offers.vouchers.find((v) => v.id === e.data.voucherId);
      if (voucher && offers.opened.get(voucher.id)?.waiting) void openVoucher(voucher);
      break;
    }
    case 'voucher.status':
      offers.credit = e.data.credit;
      if (offers.dashboards.has(e.data.offerId)) void loadDashboard(e.data.offerId);
      break;
    default:
      return;
  }
  notify();
}

// ── interests ──────────────────────────────────────────────────────────────────────────────────

export async function putInterest(input: InterestBody): Promise<void> {
  const saved = await api.putInterest(input);
  offers.interests = [...offers.interests.filter((i) => i.id !== saved.id), saved].sort((a, b) => a.name.localeCompare(b.name));
  notify();
}

export async function deleteInterest(id: string): Promise<void> {
  await api.deleteInterest(id);
  offers.interests = offers.interests.filter((i) => i.id !== id);
  notify();
}

// ── answering ──────────────────────────────────────────────────────────────────────────────────

const timeWithSeconds = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const preciseTime = (iso: string): string => timeWithSeconds.format(new Date(iso));

/** Says why the server refused an answer, from its stable code and the times in its details. */
export function refusal(err: unknown): AnswerNote {
  if (!(err instanceof ParleyError)) return { kind: 'refused', text: errorText(err) };
  const d = (err.details ?? {}) as { receivedAt?: string; opensAt?: string; closesAt?: string; answer?: string; answeredAt?: string };
  const text = (() => {
    switch (err.code) {
      case 'ANSWER_TOO_LATE':
        return d.receivedAt && d.closesAt ? `Too late: your answer reached the server at ${preciseTime(d.receivedAt)}, after the deadline ${preciseTime(d.closesAt)}.` : 'Too late: your answer arrived after the deadline.';
      case 'OFFER_CAP_REACHED':
        return 'Too late: every voucher of this offer was taken before your answer arrived.';
      case 'ANSWER_TOO_EARLY':
        return d.opensAt ? `Not open yet: answers count from ${preciseTime(d.opensAt)}. Answer again then.` : 'Not open yet.';
      case 'OFFER_CLOSED':
        return 'The provider withdrew this offer.';
      case 'ALREADY_ANSWERED':
        return `You already answered${d.answer ? ` (${d.answer})` : ''}${d.answeredAt ? ` at ${preciseTime(d.answeredAt)}` : ''}.`;
      default:
        return errorText(err);
    }
  })();
  return { kind: 'refused', code: err.code, text };
}

export async function answer(offerId: string, choice: 'accept' | 'decline'): Promise<void> {
  const offer = offers.received.find((o) => o.id === offerId);
  try {
    // The provider seals its share to the keys registered when the voucher is issued: register first.
    if (choice === 'accept' && offer?.hasData) await deviceKey(api, state.session!.deviceId);
    const result = await api.answer(offerId, choice);
    if (result.voucher && !offers.vouchers.some((v) => v.id === result.voucher!.id)) offers.vouchers.unshift(result.voucher);
    offers.notes.set(offerId, result.outcome === 'voucher' ? { kind: 'voucher', text: 'Accepted in time: you got a voucher.' } : { kind: 'declined', text: 'You declined this offer.' });
    if (offer) offer.myAnswer = { answer: choice, answeredAt: result.answeredAt, outcome: result.outcome };
  } catch (err) {
    const note = refusal(err);
    offers.notes.set(offerId, note);
    // Late and over-the-cap answers are recorded by the server; an early one is not.
    if (offer && (note.code === 'ANSWER_TOO_LATE' || note.code === 'OFFER_CAP_REACHED')) {
      const details = (err as ParleyError).details as { receivedAt?: string } | undefined;
      offer.myAnswer = { answer: choice, answeredAt: details?.receivedAt ?? new Date().toISOString(), outcome: note.code === 'ANSWER_TOO_LATE' ? 'too_late' : 'cap_reached' };
    }
  }
  notify();
}

// ── publishing (the provider's device) ─────────────────────────────────────────────────────────

export type PublishInput = Omit<OfferBody, 'sealed' | 'link'> & ({ data: string; link?: undefined } | { link: string; data?: undefined });

/** Seals the data on this device, keeps the provider's share here, and publishes. */
export async function publish(input: PublishInput): Promise<ProviderOfferView> {
  const { data, ...rest } = input;
  let body: OfferBody = rest;
  let share: string | undefined;
  if (data !== undefined) {
    const sealed = await sealOfferData(data);
    body = { ...rest, sealed: sealed.sealed };
    share = sealed.providerShare;
  }
  const offer = await api.publish(body);
  if (share) keepProviderShare(offer.id, share);
  offers.published.unshift(offer);
  offers.dashboards.set(offer.id, offer);
  notify();
  return offer;
}

export async function withdraw(offerId: string): Promise<void> {
  const offer = await api.withdraw(offerId);
  offers.dashboards.set(offerId, offer);
  const listed = offers.published.find((o) => o.id === offerId);
  if (listed) listed.status = offer.status;
  notify();
}

let releasing: Promise<unknown> = Promise.resolve();
/** Seals this device's shares to every winner still waiting and posts them; runs one at a time. */
export function releasePending(): Promise<unknown> {
  releasing = releasing
    .then(() => api.releasePending(new Map(Object.entries(providerShares()))))
    .then((n) => {
      if (n > 0) for (const id of offers.dashboards.keys()) void loadDashboard(id);
    })
    .catch((err) => console.warn('Could not release offer shares:', err));
  return releasing;
}

// ── vouchers ───────────────────────────────────────────────────────────────────────────────────

export function offerOf(voucher: VoucherView): ReceivedOfferView | undefined {
  return offers.received.find((o) => o.id === voucher.offerId);
}

function replaceVoucher(v: VoucherView): void {
  offers.vouchers = offers.vouchers.map((x) => (x.id === v.id ? v : x));
  notify();
}

export async function decide(voucherId: string, decision: 'accept' | 'reject'): Promise<void> {
  replaceVoucher(await api.decide(voucherId, decision));
}

export async function redeem(voucher: VoucherView): Promise<void> {
  replaceVoucher(await api.redeem(voucher.token));
  toast('Voucher redeemed.');
}

let jwks: Promise<JSONWebKeySet> | undefined;

/** Whether the voucher points to a page rather than sealed data (read from its claims; opening verifies them). */
export function carriesLink(voucher: VoucherView): boolean {
  try {
    return 'link' in (JSON.parse(new TextDecoder().decode(fromBase64Url(voucher.token.split('.')[1] ?? ''))) as object);
  } catch {
    return false;
  }
}

/** Verifies the voucher, then opens its data with the server's share (in the voucher) and the provider's (sealed to this device). */
export async function openVoucher(voucher: VoucherView): Promise<void> {
  try {
    if (carriesLink(voucher)) {
      const { link } = await api.voucherData(voucher.id);
      offers.opened.set(voucher.id, { link: link ?? '' });
      return;
    }
    const share = receivedShares()[voucher.id];
    if (!share) {
      // Make sure the provider can seal to this device, then wait for the share to arrive.
      await deviceKey(api, state.session!.deviceId);
      offers.opened.set(voucher.id, { waiting: true });
      return;
    }
    jwks ??= api.voucherKey();
    const bytes = await api.open(voucher, share, await deviceKey(api, state.session!.deviceId), await jwks);
    let text: string | undefined;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = undefined;
    }
    offers.opened.set(voucher.id, text === undefined ? { bytes: bytes.length, download: URL.createObjectURL(new Blob([bytes.slice()])) } : { text });
  } catch (err) {
    jwks = undefined;
    offers.opened.set(voucher.id, { error: err instanceof ParleyError ? errorText(err) : `This voucher cannot be opened here: ${(err as Error).message}` });
  } finally {
    notify();
  }
}

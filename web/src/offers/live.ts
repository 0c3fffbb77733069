/**
 * The part of offers that runs whether or not the offers pages were ever opened: it keeps the
 * provider's share sealed to each new winner moving (automatically while this device is online,
 * and on reconnect, when the stream replays `offer.winner`), keeps the shares sealed to this
 * device (each arrives once, in the stream), and counts offers not seen yet. Everything else —
 * the pages, the SDK's crypto and jose — loads on demand (store.ts), so the chat app stays small.
 */
import type { EventData, StreamEvent } from '../../../sdk/index.js';
import { load, notify, onSessionEnd, onStreamEvent, save, state } from '../state.js';

export type ReceivedShare = EventData['voucher.share'];

const providerSharesKey = (accountId: string) => `parley.offerShares.${accountId}`;
const voucherSharesKey = (accountId: string) => `parley.voucherShares.${accountId}`;

/** Offers that arrived since the inbox was last looked at. */
export const offersBadge = { unseen: 0 };

type Store = typeof import('./store.js');
let store: Promise<Store> | undefined;
/** The offers store with the SDK's offer crypto, loaded once. */
export function loadStore(): Promise<Store> {
  store ??= import('./store.js');
  return store;
}

function accountId(): string | undefined {
  return state.session?.me.id;
}

/** offer id → the provider's share, kept on the device that sealed the data (never sent to the server). */
export function providerShares(): Record<string, string> {
  const id = accountId();
  return (id && load<Record<string, string>>(providerSharesKey(id))) || {};
}

export function keepProviderShare(offerId: string, share: string): void {
  const id = accountId();
  if (id) save(providerSharesKey(id), { ...providerShares(), [offerId]: share });
}

/** voucher id → the provider's share sealed to this device's key. */
export function receivedShares(): Record<string, ReceivedShare> {
  const id = accountId();
  return (id && load<Record<string, ReceivedShare>>(voucherSharesKey(id))) || {};
}

/** Releases this device's shares to winners waiting for them; a no-op on a device that sealed nothing. */
export function releaseShares(): void {
  if (Object.keys(providerShares()).length === 0) return;
  void loadStore().then((s) => s.releasePending());
}

onStreamEvent.push((event: StreamEvent) => {
  switch (event.type) {
    case 'offer':
      offersBadge.unseen++;
      break;
    case 'voucher.share': {
      const share = event.data as ReceivedShare;
      const id = accountId();
      if (id && share.deviceId === state.session?.deviceId) save(voucherSharesKey(id), { ...receivedShares(), [share.voucherId]: share });
      break;
    }
    case 'offer.winner':
      if (providerShares()[(event.data as EventData['offer.winner']).offerId]) releaseShares();
      break;
  }
  if (event.type.startsWith('offer') || event.type.startsWith('voucher')) {
    // Only a store that is already loaded cares; one loaded later fetches everything fresh.
    if (store) void store.then((s) => s.onOfferEvent(event));
  }
});

onSessionEnd.push(() => {
  offersBadge.unseen = 0;
  if (store) void store.then((s) => s.reset());
  notify();
});

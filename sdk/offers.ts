import type { JSONWebKeySet } from 'jose';
import type { EventData } from '../src/protocol/events.js';
import type { AnswerBody, AnswerOutcome, CreditView, InterestBody, InterestView, OfferBody, OfferView, ProviderOfferView, ReceivedOfferView, VoucherClaims, VoucherView, WinnerKeys } from '../src/protocol/offers.js';
import type { ParleyClient } from './client.js';
import type { ParleyStream } from './stream.js';

/**
 * Offers from the client's side, and the crypto that keeps target data away from the server:
 * the provider's device seals the data under HKDF(serverShare ‖ providerShare), hands the server
 * the ciphertext and the server's share only, and later releases its own share to each winner
 * sealed to the winner device's X25519 key. Everything is WebCrypto, so it runs in browsers too.
 */

// No work at module load (functions, not constants): a bundler can then leave this module out of
// a web app's first chunk when only a lazily loaded part uses it.
const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);
const OFFER_INFO = 'parley offer data v1';
const SHARE_INFO = 'parley offer share v1';
const IV_BYTES = 12;

export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const random = (n: number): Uint8Array<ArrayBuffer> => globalThis.crypto.getRandomValues(new Uint8Array(n));

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function hkdfAesKey(ikm: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, info: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const base = await subtle().importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  return subtle().deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

async function gcmSeal(key: CryptoKey, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const iv = random(IV_BYTES);
  return concat(iv, new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, plaintext)));
}

async function gcmOpen(key: CryptoKey, sealed: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: sealed.slice(0, IV_BYTES) }, key, sealed.slice(IV_BYTES)));
}

const dataKey = (serverShare: Uint8Array<ArrayBuffer>, providerShare: Uint8Array<ArrayBuffer>) => hkdfAesKey(concat(serverShare, providerShare), new Uint8Array(32), utf8(OFFER_INFO));

export interface SealedOffer {
  /** Goes to the server in OfferBody.sealed. */
  sealed: { ciphertext: string; serverShare: string };
  /** Stays on the provider's device until it is released to winners. */
  providerShare: string;
}

/** Seals target data on the provider's device. */
export async function sealOfferData(data: Uint8Array | string): Promise<SealedOffer> {
  const serverShare = random(32);
  const providerShare = random(32);
  const bytes = typeof data === 'string' ? utf8(data) : new Uint8Array(data);
  const ciphertext = await gcmSeal(await dataKey(serverShare, providerShare), bytes);
  return { sealed: { ciphertext: toBase64Url(ciphertext), serverShare: toBase64Url(serverShare) }, providerShare: toBase64Url(providerShare) };
}

/** Opens target data with both shares; a wrong or missing share fails (AES-GCM authenticates). */
export async function openOfferData(ciphertext: string, serverShare: string, providerShare: string): Promise<Uint8Array> {
  return gcmOpen(await dataKey(fromBase64Url(serverShare), fromBase64Url(providerShare)), fromBase64Url(ciphertext));
}

export interface DeviceKeyPair {
  publicKey: string;
  privateKey: CryptoKey;
}

/** `extractable: false` keeps the private key inside WebCrypto (a browser stores it in IndexedDB as is); the public half is always exportable. */
export async function generateDeviceKey(options: { extractable?: boolean } = {}): Promise<DeviceKeyPair> {
  const pair = (await subtle().generateKey({ name: 'X25519' }, options.extractable ?? true, ['deriveBits'])) as CryptoKeyPair;
  return { publicKey: toBase64Url(new Uint8Array(await subtle().exportKey('raw', pair.publicKey))), privateKey: pair.privateKey };
}

async function x25519(privateKey: CryptoKey, publicKey: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const pub = await subtle().importKey('raw', publicKey, { name: 'X25519' }, false, []);
  return new Uint8Array(await subtle().deriveBits({ name: 'X25519', public: pub }, privateKey, 256));
}

/** Seals the provider's share to one device key: ephemeral X25519, HKDF, AES-GCM. Output: epk ‖ iv ‖ ciphertext. */
export async function sealShare(providerShare: string, devicePublicKey: string): Promise<string> {
  const recipient = fromBase64Url(devicePublicKey);
  const eph = (await subtle().generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const epk = new Uint8Array(await subtle().exportKey('raw', eph.publicKey));
  const key = await hkdfAesKey(await x25519(eph.privateKey, recipient), concat(epk, recipient), utf8(SHARE_INFO));
  return toBase64Url(concat(epk, await gcmSeal(key, fromBase64Url(providerShare))));
}

export async function openShare(sealed: string, device: DeviceKeyPair): Promise<string> {
  const bytes = fromBase64Url(sealed);
  const epk = bytes.slice(0, 32);
  const key = await hkdfAesKey(await x25519(device.privateKey, epk), concat(epk, fromBase64Url(device.publicKey)), utf8(SHARE_INFO));
  return toBase64Url(await gcmOpen(key, bytes.slice(32)));
}

/** Verifies a voucher token against the server's published key; throws if forged, altered or expired. */
export async function verifyVoucher(token: string, jwks: JSONWebKeySet): Promise<VoucherClaims> {
  // Loaded on first use: a web app bundling this SDK carries jose only in the chunk that verifies.
  const { createLocalJWKSet, jwtVerify } = await import('jose');
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['EdDSA'], typ: 'parley-voucher+jwt' });
  return payload as unknown as VoucherClaims;
}

/** Offer, interest and voucher calls of one logged-in client. */
export class OffersApi {
  constructor(private readonly client: ParleyClient) {}

  async putInterest(input: InterestBody): Promise<InterestView> {
    return (await this.client.request<{ interest: InterestView }>('PUT', '/v1/interests', input)).interest;
  }
  async interests(): Promise<InterestView[]> {
    return (await this.client.request<{ interests: InterestView[] }>('GET', '/v1/interests')).interests;
  }
  deleteInterest(id: string): Promise<void> {
    return this.client.request('DELETE', `/v1/interests/${id}`);
  }
  async publish(input: OfferBody): Promise<ProviderOfferView> {
    return (await this.client.request<{ offer: ProviderOfferView }>('POST', '/v1/offers', input)).offer;
  }
  async list(role: 'provider'): Promise<OfferView[]>;
  async list(role?: 'recipient'): Promise<ReceivedOfferView[]>;
  async list(role: 'provider' | 'recipient' = 'recipient'): Promise<OfferView[] | ReceivedOfferView[]> {
    return (await this.client.request<{ offers: ReceivedOfferView[] }>('GET', '/v1/offers', undefined, { role })).offers;
  }
  /** The provider gets a ProviderOfferView, a recipient a ReceivedOfferView. */
  async get(id: string): Promise<ReceivedOfferView | ProviderOfferView> {
    return (await this.client.request<{ offer: ReceivedOfferView | ProviderOfferView }>('GET', `/v1/offers/${id}`)).offer;
  }
  answer(id: string, answer: AnswerBody['answer']): Promise<{ outcome: AnswerOutcome; answeredAt: string; voucher?: VoucherView }> {
    return this.client.request('POST', `/v1/offers/${id}/answer`, { answer });
  }
  async withdraw(id: string): Promise<ProviderOfferView> {
    return (await this.client.request<{ offer: ProviderOfferView }>('POST', `/v1/offers/${id}/withdraw`)).offer;
  }
  registerDeviceKey(publicKey: string): Promise<{ deviceId: string; publicKey: string }> {
    return this.client.request('POST', '/v1/devices/key', { publicKey });
  }
  async pendingShares(): Promise<(WinnerKeys & { offerId: string })[]> {
    return (await this.client.request<{ winners: (WinnerKeys & { offerId: string })[] }>('GET', '/v1/offers/pending-shares')).winners;
  }
  releaseShares(shares: { voucherId: string; deviceId: string; sealed: string }[]): Promise<{ released: number }> {
    return this.client.request('POST', '/v1/offers/shares', { shares });
  }
  async vouchers(): Promise<VoucherView[]> {
    return (await this.client.request<{ vouchers: VoucherView[] }>('GET', '/v1/vouchers')).vouchers;
  }
  async voucher(id: string): Promise<VoucherView> {
    return (await this.client.request<{ voucher: VoucherView }>('GET', `/v1/vouchers/${id}`)).voucher;
  }
  voucherData(id: string): Promise<{ ciphertext: string | null; link: string | null }> {
    return this.client.request('GET', `/v1/vouchers/${id}/data`);
  }
  async decide(id: string, decision: 'accept' | 'reject'): Promise<VoucherView> {
    return (await this.client.request<{ voucher: VoucherView }>('POST', `/v1/vouchers/${id}/decision`, { decision })).voucher;
  }
  async redeem(token: string): Promise<VoucherView> {
    return (await this.client.request<{ voucher: VoucherView }>('POST', '/v1/vouchers/redeem', { token })).voucher;
  }
  async credit(): Promise<CreditView> {
    return (await this.client.request<{ credit: CreditView }>('GET', '/v1/credit')).credit;
  }
  voucherKey(): Promise<JSONWebKeySet> {
    return this.client.request('GET', '/v1/offers/voucher-key');
  }

  /** Seals and releases the provider's share to every winner still waiting; `shares` maps offer id → provider share. */
  async releasePending(shares: ReadonlyMap<string, string>): Promise<number> {
    const out: { voucherId: string; deviceId: string; sealed: string }[] = [];
    for (const winner of await this.pendingShares()) {
      const share = shares.get(winner.offerId);
      if (!share) continue;
      for (const d of winner.devices) out.push({ voucherId: winner.voucherId, deviceId: d.deviceId, sealed: await sealShare(share, d.publicKey) });
    }
    if (out.length === 0) return 0;
    return (await this.releaseShares(out)).released;
  }

  /**
   * The provider device's automatic release: on every (re)connect and every new winner. Returns a
   * function that stops it.
   */
  autoRelease(stream: ParleyStream, shares: ReadonlyMap<string, string>, onError: (err: unknown) => void = () => {}): () => void {
    let running: Promise<unknown> = Promise.resolve();
    const release = () => {
      running = running.then(() => this.releasePending(shares)).catch(onError);
    };
    const offState = stream.on('state', (s) => s === 'open' && release());
    const offEvent = stream.on('event', (e) => e.type === 'offer.winner' && release());
    if (stream.state === 'open') release();
    return () => {
      offState();
      offEvent();
    };
  }

  /** The winner's side: both shares together open the data. */
  async open(voucher: VoucherView, share: EventData['voucher.share'], device: DeviceKeyPair, jwks: JSONWebKeySet): Promise<Uint8Array> {
    const claims = await verifyVoucher(voucher.token, jwks);
    const { ciphertext } = await this.voucherData(voucher.id);
    if (!claims.share || !ciphertext) throw new Error('This voucher carries a link, not sealed data.');
    return openOfferData(ciphertext, claims.share, await openShare(share.sealed, device));
  }
}

/**
 * This device's X25519 key pair, which providers seal their share to. The private key is created
 * non-extractable and kept as a CryptoKey in IndexedDB (structured clone keeps it opaque): no
 * script, the server included, ever sees its bytes. Registered with the server once per key.
 */
import { generateDeviceKey, type DeviceKeyPair, type OffersApi } from '../../../sdk/index.js';
import { load, save } from '../state.js';

const DB = 'parley-keys';
const STORE = 'device-keys';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function inStore<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = op(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

const pending = new Map<string, Promise<DeviceKeyPair>>();

/** The key pair of device `deviceId`, created and registered on first use. */
export function deviceKey(api: OffersApi, deviceId: string): Promise<DeviceKeyPair> {
  let p = pending.get(deviceId);
  if (!p) {
    p = loadOrCreate(api, deviceId);
    pending.set(deviceId, p);
    p.catch(() => pending.delete(deviceId));
  }
  return p;
}

async function loadOrCreate(api: OffersApi, deviceId: string): Promise<DeviceKeyPair> {
  let pair = await inStore<DeviceKeyPair | undefined>('readonly', (s) => s.get(deviceId));
  if (!pair) {
    pair = await generateDeviceKey({ extractable: false });
    await inStore('readwrite', (s) => s.put(pair, deviceId));
  }
  const registeredKey = `parley.deviceKeyRegistered.${deviceId}`;
  if (load<string>(registeredKey) !== pair.publicKey) {
    await api.registerDeviceKey(pair.publicKey);
    save(registeredKey, pair.publicKey);
  }
  return pair;
}

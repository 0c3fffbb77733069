export { ParleyClient, possessionProof, type ClientOptions, type DeliveredTransfer, type SendFileOptions, type UploadOptions, type UploadTarget } from './client.js';
export { ParleyStream, type StreamOptions, type StreamState, type WebSocketLike } from './stream.js';
export { ParleyError } from './errors.js';
export type * from '../src/protocol/views.js';
export type { StreamEvent, EventData, EventType, EphemeralEvent } from '../src/protocol/events.js';
export { requestService, ServiceWorker, type ServiceAck, type ServiceRequestOptions, type TaskApi, type TaskContext, type WorkerOptions } from './services.js';
export type * from '../src/protocol/services.js';
export { OffersApi, generateDeviceKey, openOfferData, openShare, sealOfferData, sealShare, verifyVoucher, fromBase64Url, toBase64Url, type DeviceKeyPair, type SealedOffer } from './offers.js';
export type * from '../src/protocol/offers.js';

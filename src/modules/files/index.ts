export { FilesService, UPLOAD_EXPIRY_TIMER, BLOB_GC_TIMER, type UploadGate } from './files.service.js';
export { filesRoutes, parseRange, contentDisposition } from './files.routes.js';
export { HashingFileStore } from './upload-store.js';
export { newChallenge, proofOf } from './proof.js';
export { useHeldFile } from './held-file.js';

/**
 * Sending and showing files: hashing in a worker, the deduplicated transfer (the SDK's sendFile:
 * hash → challenge → proof → tus upload only on a miss), pause and resume of uploads, and
 * authenticated previews and downloads of attachments.
 */
import { ParleyError } from '../../sdk/index.js';
import type { AttachmentSource, Message } from '../../sdk/index.js';
import type { SendVia } from '../../src/protocol/requests.js';
import { fileSize } from './format.js';
import type { HashReply, HashRequest } from './hash.worker.js';
import { client, errorText, load, newClientId, notify, onSessionEnd, save, scrollRequest, state, toast, upsertMessage } from './state.js';

export interface OutgoingFile {
  clientId: string;
  conversationId: string;
  file: File;
  /** Chosen when attached: which node looks for bytes this one lacks (undefined: this node has no central). */
  via: SendVia | undefined;
  /** A local object URL of the file itself, for images: the preview needs no round trip. */
  previewUrl: string | null;
  /** hashing → sending (request and proof) → uploading ⇄ paused; waiting: the network is gone, it goes on by itself; failed keeps the row for a retry. */
  phase: 'hashing' | 'sending' | 'uploading' | 'paused' | 'waiting' | 'failed';
  /** Bytes hashed (while hashing) or acknowledged by the server (while uploading). */
  done: number;
  sha256?: string;
  /** Known once the server asked for the bytes: resuming continues this upload from the server's offset. */
  upload?: { transferId: string; uploadUrl: string };
  error?: string;
  abort?: AbortController;
}

export const outgoing = new Map<string, OutgoingFile>();

const VIA_KEY = 'parley.sendVia';
/** What this server offers (GET /v1/files/settings) and the user's choice of node, kept across reloads. */
export const fileOptions = { central: false, maxFileBytes: Infinity, via: load<SendVia>(VIA_KEY) ?? 'central' };
let settingsLoading: Promise<void> | undefined;

export function loadFileSettings(): void {
  settingsLoading ??= client.fileSettings().then(
    (s) => {
      fileOptions.central = s.central;
      fileOptions.maxFileBytes = s.maxFileBytes;
      notify();
    },
    () => {
      // Offline or signed out: ask again next time; the server still checks every limit.
      settingsLoading = undefined;
    },
  );
}

export function setSendVia(via: SendVia): void {
  fileOptions.via = via;
  save(VIA_KEY, via);
  notify();
}

/** Bytes per PATCH: progress moves per request, and a pause loses at most what is in flight. */
const UPLOAD_CHUNK = 1024 * 1024;

/** A file's SHA-256, hashed by a worker so the page stays responsive; `onProgress` gets bytes hashed. */
export function hashFile(file: Blob, onProgress: (done: number) => void): Promise<string> {
  const worker = new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module' });
  return new Promise<string>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<HashReply>) => {
      const reply = e.data;
      if (reply.kind === 'progress') return onProgress(reply.done);
      if (reply.kind === 'done') resolve(reply.sha256);
      else reject(new Error(`Could not read the file: ${reply.message}`));
    };
    worker.onerror = (e) => reject(new Error(`Could not hash the file: ${e.message}`));
    worker.postMessage({ file } satisfies HashRequest);
  }).finally(() => worker.terminate());
}

/** Starts sending each file to the conversation; every file gets its own row with progress. */
export function attachFiles(conversationId: string, files: Iterable<File>): void {
  for (const file of files) {
    if (file.size === 0) {
      toast(`${file.name} is empty: there is nothing to send.`, 'error');
      continue;
    }
    if (file.size > fileOptions.maxFileBytes) {
      toast(`${file.name} is larger than this server takes (${fileSize(fileOptions.maxFileBytes)}).`, 'error');
      continue;
    }
    const f: OutgoingFile = {
      clientId: newClientId(),
      conversationId,
      file,
      via: fileOptions.central ? fileOptions.via : undefined,
      previewUrl: isImage(file.type) ? URL.createObjectURL(file) : null,
      phase: 'hashing',
      done: 0,
    };
    outgoing.set(f.clientId, f);
    scrollRequest.conversationId = conversationId;
    void run(f);
  }
  notify();
}

async function run(f: OutgoingFile): Promise<void> {
  const token = client.token;
  const abort = (f.abort = new AbortController());
  f.error = undefined;
  try {
    if (!f.sha256) {
      f.phase = 'hashing';
      notify();
      f.sha256 = await hashFile(f.file, (done) => {
        f.done = done;
        notify();
      });
      if (abort.signal.aborted) throw new DOMException('paused', 'AbortError');
    }
    f.done = 0;
    const onProgress = (sent: number) => {
      f.done = sent;
      notify();
    };
    // A known upload goes on from the server's offset; otherwise the server is asked first.
    f.phase = f.upload ? 'uploading' : 'sending';
    notify();
    const delivered = await client.sendFile(f.conversationId, f.file, {
      sha256: f.sha256,
      name: f.file.name,
      mime: mimeOf(f.file),
      clientId: f.clientId,
      via: f.via,
      resume: f.upload,
      chunkSize: UPLOAD_CHUNK,
      signal: abort.signal,
      onProgress,
      onStep: (step, s) => {
        if (step !== 'upload' || s.status !== 'upload') return;
        f.upload = { transferId: s.transferId, uploadUrl: s.uploadUrl };
        f.phase = 'uploading';
        notify();
      },
    });
    if (client.token !== token) return;
    finish(f);
    upsertMessage(delivered.message, true);
    state.notice = `${f.file.name}: ${SOURCE_TEXT[delivered.source].replace('⚡ ', '')}`;
  } catch (err) {
    if (client.token !== token || !outgoing.has(f.clientId)) return;
    if ((err as Error).name === 'AbortError') {
      f.phase = 'paused';
    } else if (err instanceof ParleyError && err.code === 'NETWORK') {
      f.phase = 'waiting';
    } else {
      f.phase = 'failed';
      f.error = errorText(err);
      // An upload the server closed (expired, hash mismatch) cannot be resumed: start over.
      f.upload = undefined;
    }
  } finally {
    f.abort = undefined;
    notify();
  }
}

function finish(f: OutgoingFile): void {
  outgoing.delete(f.clientId);
  if (f.previewUrl) URL.revokeObjectURL(f.previewUrl);
}

export function pauseFile(clientId: string): void {
  const f = outgoing.get(clientId);
  if (f?.abort) f.abort.abort();
  else if (f?.phase === 'waiting') {
    f.phase = 'paused';
    notify();
  }
}

/** Files that lost the network go on from the server's offset once it is back. */
function resumeWaiting(): void {
  for (const f of outgoing.values()) if (f.phase === 'waiting' && !f.abort) void run(f);
}
window.addEventListener('online', resumeWaiting);
// `online` does not fire when only the server was out of reach.
setInterval(resumeWaiting, 5000);

export function resumeFile(clientId: string): void {
  const f = outgoing.get(clientId);
  if (f && !f.abort) void run(f);
}

export function cancelFile(clientId: string): void {
  const f = outgoing.get(clientId);
  if (!f) return;
  f.abort?.abort();
  finish(f);
  // Frees the server's partial bytes now rather than when the upload expires.
  if (f.upload) client.cancelUpload(f.upload.transferId).catch(() => {});
  notify();
}

export function isImage(mime: string): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/i.test(mime);
}

function mimeOf(file: File): string {
  // Browsers leave the type empty for unknown extensions; the server requires a type/subtype.
  return /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(file.type) ? file.type : 'application/octet-stream';
}

/** Where the bytes of a file I sent came from: a hit needed no upload. */
export const SOURCE_TEXT: Record<AttachmentSource, string> = {
  local: '⚡ Sent instantly · this server had it',
  upstream: '⚡ Sent instantly · from the central server',
  uploaded: 'Uploaded',
};

// ── attachments of messages ─────────────────────────────────────────────────────────────────────

/** Downloads need the bearer token, so an <img src> or <a href> cannot point at them directly. */
async function attachmentUrl(messageId: string): Promise<string> {
  const res = await client.downloadAttachment(messageId);
  return URL.createObjectURL(await res.blob());
}

/** Images shown inline are fetched once per message (null while loading, '' when it failed). */
const previews = new Map<string, string | null>();
/** Larger images are offered for download only, so scrolling a chat never pulls gigabytes. */
export const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;

export function previewOf(m: Message): string | null {
  if (!previews.has(m.id)) {
    previews.set(m.id, null);
    attachmentUrl(m.id).then(
      (url) => {
        previews.set(m.id, url);
        notify();
      },
      () => {
        previews.set(m.id, '');
        notify();
      },
    );
  }
  return previews.get(m.id) ?? null;
}

// The next person to log in on this tab must see neither these files nor these images.
onSessionEnd.push(() => {
  for (const f of [...outgoing.values()]) {
    f.abort?.abort();
    finish(f);
  }
  for (const url of previews.values()) if (url) URL.revokeObjectURL(url);
  previews.clear();
  settingsLoading = undefined;
});

export async function downloadAttachment(m: Message): Promise<void> {
  if (!m.attachment) return;
  try {
    const url = previews.get(m.id) || (await attachmentUrl(m.id));
    const a = document.createElement('a');
    a.href = url;
    a.download = m.attachment.name;
    document.body.append(a);
    a.click();
    a.remove();
    if (!previews.has(m.id)) setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

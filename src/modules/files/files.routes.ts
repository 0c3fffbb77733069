import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Server as TusServer } from '@tus/server';
import { AppError, errorBody } from '../../errors.js';
import { IdParams, PeerVerifyBody, ProofBody, Sha256Params, TransferBody, type FileSettings } from '../../protocol/requests.js';
import type { Attachment } from '../../protocol/views.js';
import type { Services } from '../../services.js';

/**
 * Files over HTTP: transfer requests and proofs (JSON), resumable uploads (tus, served by
 * @tus/server behind Parley's own authentication), downloads with ranges, and the
 * server-to-server endpoints a private node uses when this node is its central.
 */
export function filesRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['files'];
  app.post<{ Body: TransferBody }>(
    '/v1/transfers',
    { schema: { tags, summary: 'Send a file by its SHA-256: `delivered` (you proved these bytes before) or `challenge` (prove possession)', body: TransferBody } },
    async (req) => s.files.request(req.actor, req.body),
  );
  app.post<{ Params: IdParams; Body: ProofBody }>(
    '/v1/transfers/:id/proof',
    {
      schema: {
        tags,
        summary: 'Answer the challenge: `delivered`, or 403 PROOF_FAILED whose details name the tus upload (the same answer whether or not the server holds the bytes)',
        params: IdParams,
        body: ProofBody,
      },
    },
    async (req) => s.files.prove(req.actor, req.params.id, req.body.proof, req.body.via),
  );
  app.get('/v1/files/settings', { schema: { tags, summary: 'Whether this node has a central node to send through, and the largest file' } }, async (): Promise<FileSettings> => s.files.settings);
  app.get<{ Params: IdParams }>('/v1/transfers/:id', { schema: { tags, summary: 'State of your transfer (finishes an upload whose bytes all arrived)', params: IdParams } }, async (req) =>
    s.files.get(req.actor, req.params.id),
  );

  app.get<{ Params: IdParams; Querystring: { inline?: string } }>(
    '/v1/messages/:id/attachment',
    { schema: { tags, summary: 'Download a message\'s file (members only); Range, If-None-Match and If-Range supported; ETag is the SHA-256', params: IdParams } },
    async (req, reply) => sendAttachment(req, reply, s, await s.files.attachment(req.actor, req.params.id)),
  );

  uploadRoutes(app, s);
  peerRoutes(app, s);
}

// ── tus ──────────────────────────────────────────────────────────────────────────────────────────

function uploadRoutes(app: FastifyInstance, s: Services): void {
  const tus = new TusServer({
    path: '/v1/uploads',
    datastore: s.files.uploads,
    maxSize: s.config.maxFileBytes,
    relativeLocation: true,
    exposedHeaders: ['Parley-Message-Id'],
    async onUploadFinish(_req, upload) {
      const state = await s.files.finishUpload(upload.id);
      return state.status === 'delivered' ? { headers: { 'Parley-Message-Id': state.message.id } } : {};
    },
    onResponseError(_req, err) {
      if (err instanceof AppError) return { status_code: err.status, body: JSON.stringify(errorBody(err)) };
      return undefined;
    },
  });

  const handOver = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    try {
      await tus.handle(req.raw, reply.raw);
    } catch (err) {
      req.log.error({ err }, 'tus handler failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
      else reply.raw.destroy();
    }
  };

  void app.register(async (scope) => {
    // tus bodies are raw bytes: left unread here, streamed by @tus/server straight to disk.
    scope.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null, undefined));
    scope.route<{ Params: IdParams }>({
      method: ['HEAD', 'PATCH'],
      url: '/v1/uploads/:id',
      schema: { tags: ['files'], summary: 'tus 1.0 upload of a transfer (HEAD: offset; PATCH: bytes from Upload-Offset)', params: IdParams },
      handler: async (req, reply) => {
        const gate = await s.files.gateUpload(req.actor, req.params.id, req.method);
        if (gate.kind === 'done') {
          // Already delivered (the client may have missed the last answer): report the upload complete.
          reply.header('Tus-Resumable', '1.0.0').header('Upload-Offset', String(gate.size)).header('Upload-Length', String(gate.size)).header('Cache-Control', 'no-store');
          return reply.code(req.method === 'HEAD' ? 200 : 204).send();
        }
        return handOver(req, reply);
      },
    });
    scope.delete<{ Params: IdParams }>('/v1/uploads/:id', { schema: { tags: ['files'], summary: 'Cancel the upload (tus termination)', params: IdParams } }, async (req, reply) => {
      await s.files.cancelUpload(req.actor, req.params.id);
      return reply.header('Tus-Resumable', '1.0.0').code(204).send();
    });
    scope.options('/v1/uploads/:id', { config: { public: true }, schema: { hide: true } }, handOver);
    scope.options('/v1/uploads', { config: { public: true }, schema: { hide: true } }, handOver);
  });
}

// ── downloads ────────────────────────────────────────────────────────────────────────────────────

const INLINE_TYPES = /^(image\/(png|jpeg|gif|webp|avif)|video\/(mp4|webm)|audio\/(mpeg|ogg|wav|webm)|application\/pdf)$/;

async function sendAttachment(req: FastifyRequest<{ Querystring: { inline?: string } }>, reply: FastifyReply, s: Services, a: Attachment) {
  const etag = `"${a.sha256}"`;
  const inline = req.query.inline === '1' && INLINE_TYPES.test(a.mime);
  reply
    .header('ETag', etag)
    .header('Accept-Ranges', 'bytes')
    .header('Cache-Control', 'private, max-age=31536000, immutable')
    .header('X-Content-Type-Options', 'nosniff')
    // The bytes are the sender's: never let them run as a page of this origin.
    .header('Content-Security-Policy', "sandbox; default-src 'none'")
    .header('Content-Disposition', contentDisposition(inline ? 'inline' : 'attachment', a.name));
  if (etagMatches(req.headers['if-none-match'], a.sha256)) return reply.code(304).send();
  const ifRange = req.headers['if-range'];
  const rangeHeader = typeof ifRange === 'string' && ifRange !== etag ? undefined : req.headers.range;
  const range = rangeHeader ? parseRange(rangeHeader, a.size) : null;
  if (range === 'unsatisfiable') {
    reply.header('Content-Range', `bytes */${a.size}`);
    throw new AppError('RANGE_NOT_SATISFIABLE');
  }
  reply.type(a.mime);
  if (range) {
    reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${a.size}`).header('Content-Length', String(range.end - range.start + 1));
    return reply.send(s.files.blobs.read(a.sha256, range));
  }
  reply.header('Content-Length', String(a.size));
  return reply.send(s.files.blobs.read(a.sha256));
}

function etagMatches(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === `"${sha256}"`;
  });
}

/** One `bytes=` range (RFC 9110); null means serve the whole file (no, malformed or multiple ranges). */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** RFC 6266: an ASCII fallback for old clients and the exact name as UTF-8 in filename*. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

// ── server to server ─────────────────────────────────────────────────────────────────────────────

function peerRoutes(app: FastifyInstance, s: Services): void {
  const authorize = (req: FastifyRequest) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!s.files.peerAllowed(match?.[1])) throw new AppError('UNAUTHENTICATED', 'A server-to-server credential (one of PARLEY_PEER_TOKENS) is required.');
  };
  const tags = ['peer'];
  app.post<{ Params: Sha256Params; Body: PeerVerifyBody }>(
    '/v1/peer/blobs/:sha256/verify',
    { config: { public: true }, schema: { tags, summary: 'Server to server: check a proof of possession against the bytes held here', params: Sha256Params, body: PeerVerifyBody } },
    async (req) => {
      authorize(req);
      return s.files.peerVerify(req.params.sha256, req.body);
    },
  );
  app.get<{ Params: Sha256Params }>(
    '/v1/peer/blobs/:sha256',
    { config: { public: true }, schema: { tags, summary: 'Server to server: the bytes of a blob (after a confirmed proof)', params: Sha256Params } },
    async (req, reply) => {
      authorize(req);
      const { size } = await s.files.peerBlob(req.params.sha256);
      reply.type('application/octet-stream').header('Content-Length', String(size)).header('ETag', `"${req.params.sha256}"`);
      return reply.send(s.files.blobs.read(req.params.sha256));
    },
  );
}

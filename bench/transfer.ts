/**
 * npm run bench:transfer [-- --quick] [-- --mib N] [-- --runs N]
 *
 * Deduplicated file transfer (issue 5) on a 256 MiB file, each figure next to a baseline measured
 * in the same run:
 *   (a) a hit: the client hashes the file, requests the transfer and answers the possession
 *       challenge → delivered; baseline: the client's bare streaming SHA-256 of the same file
 *       (goal: ratio ≤ 1.15).
 *   (b) a miss: upload throughput of the tus upload (PATCH of the whole file; the server hashes it
 *       on the way, fsyncs, stores it by hash and delivers) against a bare Node HTTP PUT server
 *       that writes the same bytes to disk and fsyncs (goal: ratio ≥ 0.7).
 *   (c) a hit through the upstream: a private node asks its central node (which checks the proof),
 *       pulls the bytes, verifies them and delivers; shown against the bare SHA-256 and the bare PUT.
 * Servers run as child processes (SQLite, a temporary DATA_DIR), the client in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, openSync, closeSync, fsyncSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNodeClient, fileBlob, ParleyError, possessionProof, sha256File, type ParleyClient, type TransferState } from '../sdk/node.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface Child {
  proc: ChildProcess;
  url: string;
}

function startChild(args: string[], env: Record<string, string>, match: (line: string) => string | undefined): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('child did not start within 30 s')), 30_000);
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const url = match(line);
        if (url) {
          clearTimeout(timer);
          resolve({ proc, url });
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before listening`)));
  });
}

function startParley(dataDir: string, extra: Record<string, string> = {}): Promise<Child> {
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    REDIS_URL: '',
    PARLEY_LOG_LEVEL: 'info',
    PARLEY_TRANSFERS_PER_MINUTE: '100000',
    PARLEY_NODE_ID: `bench-${Math.random().toString(36).slice(2)}`,
    ...extra,
  };
  return startChild(['--import', 'tsx', 'src/main.ts', 'serve'], env, (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      return entry.url && entry.msg?.startsWith('Parley listening') ? entry.url : undefined;
    } catch {
      return undefined;
    }
  });
}

async function user(url: string, handle: string): Promise<ParleyClient> {
  const client = createNodeClient({ baseUrl: url });
  await client.register({ handle, displayName: handle, password: `password-${handle}` });
  await client.login(handle, `password-${handle}`, 'bench');
  return client;
}

/** Writes `mib` MiB of random bytes (1 MiB repeated with a counter, so it is quick to make but every block differs). */
function makeFile(path: string, mib: number, salt: string): void {
  const block = randomBytes(1024 * 1024);
  const fd = openSync(path, 'w');
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i, 0);
    block.write(salt.padEnd(16, '.').slice(0, 16), 4);
    writeSync(fd, block);
  }
  closeSync(fd);
}

/** The client's bare streaming SHA-256 of the file (the baseline of (a) and (c)). */
async function bareSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const mibps = (bytes: number, t: number) => `${(bytes / 1024 / 1024 / (t / 1000)).toFixed(0)} MiB/s`;

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
}

/** Request + proof (+ upload when told): the SDK's sendFile with a precomputed or fresh hash. */
async function send(client: ParleyClient, room: string, path: string, sha256: string | undefined, name: string) {
  const blob = await fileBlob(path);
  const hash = sha256 ?? (await sha256File(path));
  return client.sendFile(room, blob, { sha256: hash, name });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, mib: { type: 'string' }, runs: { type: 'string' } } });
  const mib = Number(values.mib ?? (values.quick ? 64 : 256));
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  const bytes = mib * 1024 * 1024;
  const work = mkdtempSync(join(tmpdir(), 'parley-bench-transfer-'));
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    console.log(`bench:transfer — ${mib} MiB file, ${runs} run(s) each, node ${process.version}, servers as child processes (SQLite)`);
    const central = await startParley(join(work, 'central'), { PARLEY_PEER_TOKENS: 'bench-peer-token' });
    const priv = await startParley(join(work, 'private'), { PARLEY_UPSTREAM_URL: central.url, PARLEY_UPSTREAM_TOKEN: 'bench-peer-token' });
    const put = await startChild(['--import', 'tsx', 'bench/transfer.ts', '--put-server', work], {}, (line) => (line.startsWith('{') ? (JSON.parse(line) as { url: string }).url : undefined));
    children.push(central.proc, priv.proc, put.proc);

    const owner = await user(central.url, 'owner');
    // (a) is measured several times per run, each time by a member who never sent the file (so a challenge).
    const HITS = 3;
    const peers: ParleyClient[] = [];
    for (let i = 0; i < runs * HITS + 1; i++) peers.push(await user(central.url, `peer${i}`));
    const warmup = peers.pop()!;
    const room = (await owner.createGroup('bench', await Promise.all([...peers, warmup].map(async (p) => (await p.me()).id)))).id;
    const privOwner = await user(priv.url, 'powner');
    await user(priv.url, 'ppeer');
    const privRoom = (await privOwner.openDirect('ppeer')).id;

    const file = join(work, 'file.bin');
    const baseline: number[] = [];
    const hit: number[] = [];
    const hitProtocol: number[] = [];
    const putTimes: number[] = [];
    const uploadTimes: number[] = [];
    const missTotal: number[] = [];
    const upstreamTimes: number[] = [];

    for (let run = 0; run < runs; run++) {
      // (b) a miss on a file nobody holds: hash, challenge, PROOF_FAILED, then the timed upload.
      makeFile(file, mib, `miss-${run}`);
      await bareSha256(file); // warm the page cache the same way for everyone
      const [putT] = await time(async () => {
        const res = await fetch(put.url, { method: 'PUT', body: await fileBlob(file) });
        if (res.status !== 204) throw new Error(`PUT answered ${res.status}`);
      });
      putTimes.push(putT);
      const sha = await sha256File(file);
      const first = await owner.requestTransfer({ sha256: sha, size: bytes, name: 'miss.bin', mime: 'application/octet-stream', to: room });
      if (first.status !== 'challenge') throw new Error(`expected a challenge, got ${first.status}`);
      let target: Extract<TransferState, { status: 'upload' }>;
      try {
        await owner.proveTransfer(first.transferId, await possessionProof(await fileBlob(file), first.nonce, first.ranges));
        throw new Error('a new file was delivered without upload');
      } catch (err) {
        if (!(err instanceof ParleyError) || err.code !== 'PROOF_FAILED') throw err;
        target = err.details as Extract<TransferState, { status: 'upload' }>;
      }
      const [upT] = await time(async () => owner.upload(target.uploadUrl, await fileBlob(file)));
      const delivered = await owner.transfer(target.transferId);
      if (delivered.status !== 'delivered') throw new Error(`upload ended ${delivered.status}`);
      uploadTimes.push(upT);

      // A first, untimed hit warms up the client's code paths (WebCrypto, Blob reads) once.
      if (run === 0) await send(warmup, room, file, undefined, 'warm-up.bin');
      // (a) a hit: another member sends the same file: hash + request + proof → delivered,
      // alternating with the bare hash so both see the same machine state.
      let bareT = 0;
      let hitT = 0;
      let protoT = 0;
      for (let i = 0; i < HITS; i++) {
        const peer = peers[run * HITS + i]!;
        [bareT] = await time(() => bareSha256(file));
        baseline.push(bareT);
        const [t, hitResult] = await time(() => send(peer, room, file, undefined, 'hit.bin'));
        if (hitResult.source !== 'local') throw new Error(`hit came from ${hitResult.source}`);
        hit.push((hitT = t));
        // The same sender again, hash known: the protocol's own cost (no challenge: possession shown).
        [protoT] = await time(() => send(peer, room, file, sha, 'hit-again.bin'));
        hitProtocol.push(protoT);
      }

      // (c) through the upstream: the central holds this run's file; the private node does not.
      const [upstreamT, upResult] = await time(() => send(privOwner, privRoom, file, undefined, 'upstream.bin'));
      if (upResult.source !== 'upstream') throw new Error(`upstream hit came from ${upResult.source}`);
      upstreamTimes.push(upstreamT);

      // End to end miss, for the record: a fresh file hashed, challenged and uploaded.
      makeFile(file, mib, `miss-e2e-${run}`);
      await bareSha256(file);
      const [totalT, total] = await time(() => send(owner, room, file, undefined, 'miss-e2e.bin'));
      if (total.source !== 'uploaded') throw new Error(`miss came from ${total.source}`);
      missTotal.push(totalT);
      console.log(
        `run ${run + 1}: sha256 ${ms(bareT)} | hit ${ms(hitT)} (protocol only ${ms(protoT)}) | PUT ${ms(putT)} | tus upload ${ms(upT)} | upstream hit ${ms(upstreamT)} | miss end-to-end ${ms(totalT)}`,
      );
    }

    const b = median(baseline);
    const a = median(hit);
    const put0 = median(putTimes);
    const up = median(uploadTimes);
    const c = median(upstreamTimes);
    console.log('');
    console.log(`(a) hit incl. hashing and proof: ${ms(a)} vs bare SHA-256 ${ms(b)} (${mibps(bytes, b)}) → ratio ${(a / b).toFixed(3)} (goal ≤ 1.15); the protocol alone (hash known): ${ms(median(hitProtocol))}`);
    console.log(`(b) miss upload: ${mibps(bytes, up)} (${ms(up)}) vs bare HTTP PUT to disk ${mibps(bytes, put0)} (${ms(put0)}) → throughput ratio ${(put0 / up).toFixed(3)} (goal ≥ 0.7); whole miss incl. hashing: ${ms(median(missTotal))}`);
    console.log(`(c) hit through the upstream (hash, proof checked by the central, pull ${mib} MiB, verify, store): ${ms(c)} → ${(c / b).toFixed(2)}× the bare SHA-256, ${(c / put0).toFixed(2)}× the bare PUT`);
  } finally {
    stop();
  }
}

// ── the bare PUT server (baseline of (b)), run as its own process like Parley ────────────────────
if (process.argv[2] === '--put-server') {
  const dir = process.argv[3]!;
  let n = 0;
  const server = createServer((req, res) => {
    const path = join(dir, `put-${n++}`);
    const out = createWriteStream(path);
    pipeline(req, out)
      .then(() => {
        const fd = openSync(path, 'r');
        fsyncSync(fd);
        closeSync(fd);
        rmSync(path);
        res.writeHead(204).end();
      })
      .catch(() => res.writeHead(500).end());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
} else {
  await main();
}

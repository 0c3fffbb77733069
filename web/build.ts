/**
 * Builds the browser app into web/dist. `--if-stale` builds only when web/dist is missing or
 * older than its sources (used by `npm start` and the e2e tests, so a fresh clone just works).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webRoot = dirname(fileURLToPath(import.meta.url));
export const webDist = join(webRoot, 'dist');
const sources = [join(webRoot, 'src'), join(webRoot, 'index.html'), join(webRoot, 'vite.config.ts'), join(webRoot, '..', 'sdk')];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function webIsStale(): boolean {
  const built = join(webDist, 'index.html');
  if (!existsSync(built)) return true;
  return Math.max(...sources.map(newestMtime)) > statSync(built).mtimeMs;
}

/** Returns whether it built. Builds beside web/dist and swaps it in, so a concurrent reader never sees half a build. */
export async function buildWeb(options: { ifStale?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (options.ifStale && !webIsStale()) return false;
  const outDir = join(webRoot, `dist.tmp-${process.pid}`);
  try {
    // A child process with NODE_ENV=production: under vitest (NODE_ENV=test) Vite and the Preact
    // preset would otherwise build in development mode, with preact/debug in the bundle.
    const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    const args = [vite, 'build', webRoot, '--outDir', outDir, '--emptyOutDir', '--logLevel', options.quiet ? 'warn' : 'info'];
    const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
    const old = join(webRoot, `dist.old-${process.pid}`);
    if (existsSync(webDist)) renameSync(webDist, old);
    renameSync(outDir, webDist);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  const built = await buildWeb({ ifStale });
  if (!built) console.log('web/dist is up to date.');
}

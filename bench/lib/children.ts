import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processCpuSeconds } from './cpu.js';

/** A server the benchmark runs as a separate process, so load generator and server never share a thread. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The URL the child announced when it became ready. */
  readonly url: string;
  cpuSeconds(): number | undefined;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildSpec {
  name: string;
  /** Path of the TypeScript entry point, relative to the repository root. */
  script: string;
  args?: string[];
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env: NodeJS.ProcessEnv;
  /** Returns the child's URL when `line` (stdout) says it is ready. */
  readyUrl(line: string): string | undefined;
  readyTimeoutMs: number;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const exitWithParent = pathToFileURL(fileURLToPath(new URL('./exit-with-parent.ts', import.meta.url))).href;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: whatever path the benchmark leaves by, no child survives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export function startChild(spec: ChildSpec): Promise<Child> {
  installExitHook();
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', exitWithParent, ...(spec.nodeArgs ?? []), spec.script, ...(spec.args ?? [])], {
    cwd: repoRoot,
    env: spec.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => running.delete(proc));

  // Output is kept (the tail) for error reports, and must be read so the child never blocks on a full pipe.
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: proc.stderr! }).on('line', remember);
  const stdout = createInterface({ input: proc.stdout! });

  let ready = false;
  let stopping = false;
  return new Promise<Child>((resolve, reject) => {
    const fail = (why: string) => {
      if (ready) return;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${spec.name} ${why}\n${tail.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${spec.readyTimeoutMs} ms`), spec.readyTimeoutMs);
    proc.once('exit', (code, signal) => {
      if (!ready) return fail(`exited before it was ready (code ${code}, signal ${signal})`);
      if (!stopping) console.error(`${spec.name} exited unexpectedly (code ${code}, signal ${signal})\n${tail.join('\n')}`);
    });
    proc.once('error', (err) => fail(`could not start: ${err.message}`));
    stdout.on('line', (line) => {
      remember(line);
      if (ready) return;
      const url = spec.readyUrl(line);
      if (url === undefined) return;
      ready = true;
      clearTimeout(timer);
      resolve({
        name: spec.name,
        pid: proc.pid!,
        url,
        cpuSeconds: () => processCpuSeconds(proc.pid!),
        signal: (signal) => void proc.kill(signal),
        async stop(graceMs = 10_000) {
          stopping = true;
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

/** The child's environment: ours minus every Parley setting, plus exactly the ones we choose. */
export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('PARLEY_') || ['PORT', 'HOST', 'DATA_DIR', 'DATABASE_URL', 'REDIS_URL'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, ...settings };
}

/** `parley serve` on a free loopback port with exactly `settings` (info logs: its ready line carries the URL). */
export function startParleyServer(settings: Record<string, string>, options: { name?: string; nodeArgs?: string[] } = {}): Promise<Child> {
  return startChild({
    name: options.name ?? 'parley',
    script: 'src/main.ts',
    args: ['serve'],
    nodeArgs: options.nodeArgs,
    env: childEnv({ PORT: '0', HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'info', ...settings }),
    readyUrl: (line) => (line.includes('Parley listening on') ? /"url":"(http:\/\/[^"]+)"/.exec(line)?.[1] : undefined),
    readyTimeoutMs: 60_000,
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<number | null>;
  /** kill -9: no shutdown hook runs. */
  crash(): Promise<void>;
}

/**
 * Starts `parley serve` as a child process on a free port and waits for its "listening" log line.
 * `startTimeoutMs`: several nodes starting at once on a busy 2-core machine need longer than one.
 */
export async function startChildServer(env: Record<string, string>, startTimeoutMs = 20_000): Promise<ChildServer> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'info', REDIS_URL: '', ...env };
  delete childEnv.PARLEY_CONFIG;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody gets a handle on it: leaving it running would orphan it past the test run.
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within ${startTimeoutMs / 1000} s:\n${output.join('\n')}`));
    }, startTimeoutMs);
    let buffered = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        output.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.url && entry.msg?.startsWith('Parley listening')) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output.join('\n')}`));
    });
  });
  return {
    proc,
    url,
    output,
    exited,
    async crash() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { reachable } from './services.js';

/** Whether a `redis-server` binary is on the PATH (Debian: apt-get install redis-server). */
export const redisServerAvailable = spawnSync('redis-server', ['--version']).status === 0;

/**
 * A private Redis for tests that stop and restart it (the system one is shared): no persistence,
 * so a restart forgets everything, as a Redis without AOF/RDB does.
 */
export interface PrivateRedis {
  url: string;
  /** kill -9, as a crash or an OOM kill would. */
  stop(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await reachable(url, 200))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc!.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url, start, stop, close: stop };
}

import { createConnection } from 'node:net';

/** Which engine the suite runs on: `PARLEY_TEST_DATABASE=postgres` switches every test server to PostgreSQL. */
export const testEngine: 'sqlite' | 'postgres' = process.env.PARLEY_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
export const postgresAdminUrl = process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** Whether a TCP port answers (PostgreSQL, Redis) within a short time. */
export function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * For tests that need an outside service: outside CI a missing service skips with a message;
 * under CI=true it is a failure, so a green CI run always means the test really ran.
 */
export async function requireService(name: string, url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const message = `${name} is not reachable at ${url}`;
  if (inCi) throw new Error(`${message} — CI must run this test`);
  console.warn(`SKIPPED: ${message}; start it to run these tests.`);
  return false;
}

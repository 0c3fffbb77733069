import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../sdk/node.js';
import { settings } from '../src/config.js';
import { errorCatalogue } from '../src/errors.js';
import { cleanEnv, parley, repoRoot, runNode } from './support/cli.js';
import { freshStorage } from './support/server.js';
import { testEngine } from './support/services.js';

/**
 * Black-box tests of the `parley` command: each case runs the real CLI in a child process, the way
 * an operator would, with a clean environment pointing at a temporary data directory (and, under
 * PARLEY_TEST_DATABASE=postgres, at a fresh PostgreSQL database).
 */

const SLOW = 90_000;

/** Starts `parley serve` and resolves with its URL once the "listening" log line appears. */
function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], { cwd: repoRoot, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not log its URL in time:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${out}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

// Each case is its own process with its own environment, so they can run side by side.
describe.concurrent('parley config check', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints every setting with its value and source, then "configuration is valid"', { timeout: SLOW }, async () => {
    const { code, stdout, stderr } = await parley(['config', 'check'], { DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const spec of Object.values(settings)) expect(stdout).toContain(spec.env);
    expect(stdout).toMatch(/^PORT\s+8787\s+\[default\]$/m);
    expect(stdout).toMatch(new RegExp(`^DATA_DIR\\s+${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\[env\\]$`, 'm'));
    expect(stdout).toContain(settings.port.doc);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('configuration is valid');
  });

  it('never prints a secret: passwords inside URLs and credential settings are masked', { timeout: SLOW }, async () => {
    const env: Record<string, string> = { DATA_DIR: dataDir };
    const secrets: string[] = [];
    // Every URL-shaped and credential setting there is, so settings added later are covered too.
    for (const [name, spec] of Object.entries(settings) as [string, { env: string; kind: string; pattern?: RegExp }][]) {
      if (spec.kind !== 'string') continue;
      if (/secret|auth|password|token/i.test(name)) {
        env[spec.env] = `Bearer secret-of-${name}`;
        secrets.push(`secret-of-${name}`);
        continue;
      }
      const scheme = ['postgres', 'redis', 'smpp', 'smtp', 'https'].find((candidate) => spec.pattern?.test(`${candidate}://user:pw@host`));
      if (scheme) {
        env[spec.env] = `${scheme}://user:pw-of-${name}@host.example:1234/x`;
        secrets.push(`pw-of-${name}`);
      }
    }
    env.DATABASE_URL = 'postgres://parley:s3cret-pw@db.example:5432/parley';
    env.REDIS_URL = 'redis://:r3dis-pw@cache.example:6379'; // Redis URLs often have no user name
    secrets.push('s3cret-pw', 'r3dis-pw');

    const { code, stdout, stderr } = await parley(['config', 'check'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^DATABASE_URL\s+postgres:\/\/parley:\*\*\*@db\.example:5432\/parley\s+\[env\]$/m);
    expect(stdout).toContain('redis://:***@cache.example:6379');
    for (const secret of secrets) expect(stdout).not.toContain(secret);
  });

  it('refuses an invalid value with exit status 2 and a message naming the setting', { timeout: SLOW }, async () => {
    const [port, tooSmall] = await Promise.all([
      parley(['config', 'check'], { DATA_DIR: dataDir, PORT: 'abc' }),
      parley(['config', 'check'], { DATA_DIR: dataDir, PARLEY_MAX_GROUP_MEMBERS: '1' }),
    ]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('error: setting port (PORT): expected an integer, got "abc"');
    expect(port.stdout).not.toContain('configuration is valid');

    expect(tooSmall.code).toBe(2);
    expect(tooSmall.stderr).toContain('PARLEY_MAX_GROUP_MEMBERS');
    expect(tooSmall.stderr).toContain('must be ≥ 2');
  });

  it('refuses a DATABASE_URL that is not PostgreSQL, without echoing its password', { timeout: SLOW }, async () => {
    const { code, stderr, stdout } = await parley(['config', 'check'], { DATA_DIR: dataDir, DATABASE_URL: 'mysql://root:hunter2@db/parley' });
    expect(code).toBe(2);
    expect(stderr).toContain('DATABASE_URL');
    expect(stderr).toContain('postgres://');
    expect(stderr + stdout).not.toContain('hunter2');
  });

  it('warns about unknown PARLEY_* variables and unknown config-file keys, and applies env > file > default', { timeout: SLOW }, async () => {
    const file = join(dataDir, 'parley.json');
    writeFileSync(file, JSON.stringify({ port: 9000, maxGroupMembers: 50, maxGroupMember: 3 }));
    const { code, stdout } = await parley(['config', 'check'], { DATA_DIR: dataDir, PARLEY_CONFIG: file, PORT: '9100', PARLEY_MAX_GROUP_MEMBER: '5' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^PORT\s+9100\s+\[env\]$/m);
    expect(stdout).toMatch(/^PARLEY_MAX_GROUP_MEMBERS\s+50\s+\[file\]$/m);
    expect(stdout).toMatch(/^PARLEY_MAX_MESSAGE_CHARS\s+8000\s+\[default\]$/m);
    expect(stdout).toContain('warning: unknown environment variable PARLEY_MAX_GROUP_MEMBER ignored');
    expect(stdout).toContain(`warning: unknown key "maxGroupMember" in ${file} ignored`);
    expect(stdout).toContain('configuration is valid');
  });
});

describe.concurrent('parley commands and usage', () => {
  it('an unknown command exits 2 with the usage', { timeout: SLOW }, async () => {
    const { code, stderr } = await parley(['frobnicate'], {});
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command: frobnicate');
    expect(stderr).toContain('Usage:');
    expect(stderr).toContain('parley config check');
  });

  it('bin/parley.js --help prints the usage', { timeout: SLOW }, async () => {
    const { code, stdout } = await runNode(['bin/parley.js', '--help'], {});
    expect(code).toBe(0);
    for (const command of ['parley serve', 'parley migrate', 'parley user add', 'parley config check']) expect(stdout).toContain(command);
  });
});

describe(`parley migrate, user add and serve on one database (${testEngine})`, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  let server: { child: ChildProcess; url: string; output: () => string } | undefined;

  beforeAll(async () => {
    const storage = await freshStorage();
    drop = storage.drop;
    dataDir = storage.overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-cli-'));
    env = { DATA_DIR: dataDir, DATABASE_URL: storage.overrides.databaseUrl ?? '', PARLEY_LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0' };
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await exited(server.child);
    }
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate applies the migrations, then reports the database up to date', { timeout: SLOW }, async () => {
    const first = await parley(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied: 0001_core/);
    const second = await parley(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toBe('database is up to date');
  });

  it('user add creates accounts with the given kind, name and admin flag', { timeout: SLOW }, async () => {
    const ops = await parley(['user', 'add', '--handle', 'ops', '--password', 'operator-pass', '--admin'], env);
    expect(ops.stderr).toBe('');
    expect(ops.code).toBe(0);
    expect(JSON.parse(ops.stdout)).toMatchObject({ handle: 'ops', displayName: 'ops', kind: 'person', isAdmin: true });

    const bot = await parley(['user', 'add', '--handle', 'Weather-Bot', '--password', 'bot-password', '--name', 'Weather', '--kind', 'service'], env);
    expect(bot.code).toBe(0);
    expect(JSON.parse(bot.stdout)).toMatchObject({ handle: 'weather-bot', displayName: 'Weather', kind: 'service', isAdmin: false });
  });

  it('user add refuses a taken handle with HANDLE_TAKEN’s message and exit status 2', { timeout: SLOW }, async () => {
    const { code, stderr, stdout } = await parley(['user', 'add', '--handle', 'OPS', '--password', 'another-pass'], env);
    expect(code).toBe(2);
    expect(stderr).toContain(errorCatalogue.HANDLE_TAKEN.message);
    expect(stdout).toBe('');
  });

  it('user add applies the registration rules and names the bad option', { timeout: SLOW }, async () => {
    const [badHandle, shortPassword] = await Promise.all([
      parley(['user', 'add', '--handle', 'no spaces', '--password', 'long-enough'], env),
      parley(['user', 'add', '--handle', 'shorty', '--password', 'short'], env),
    ]);
    expect(badHandle.code).toBe(2);
    expect(badHandle.stderr).toContain('--handle');
    expect(shortPassword.code).toBe(2);
    expect(shortPassword.stderr).toContain('--password');
  });

  it('serve on the same data logs its URL, and the account created by user add can log in', { timeout: SLOW }, async () => {
    server = await serve(env);
    expect(server.output()).toContain(`"url":"${server.url}"`);
    const client = createNodeClient({ baseUrl: server.url });
    const session = await client.login('ops', 'operator-pass', 'cli-test');
    expect(session.account).toMatchObject({ handle: 'ops', isAdmin: true });
    // Administrators may read the outbox; that proves --admin reached the server.
    expect(Array.isArray(await client.outbox())).toBe(true);
    const bot = createNodeClient({ baseUrl: server.url });
    await bot.login('weather-bot', 'bot-password');
    await expect(bot.outbox()).rejects.toMatchObject({ code: 'ADMIN_ONLY', status: 403 });
    await expect(createNodeClient({ baseUrl: server.url }).login('ops', 'wrong-password')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('outbox prints what the outbox channel sent, newest first, and refuses a bad channel', { timeout: SLOW }, async () => {
    const client = createNodeClient({ baseUrl: server!.url });
    await client.login('ops', 'operator-pass', 'cli-outbox');
    await client.bindPhone('+4915112345600');
    const listed = await parley(['outbox', '--channel', 'sms', '--limit', '5'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/sms\s+\+4915112345600\s+\[verification\]\n  Your Parley verification code is \d{6}/);
    const bad = await parley(['outbox', '--channel', 'fax'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--channel must be sms or email');
  });

  it('serves /healthz, /readyz, /metrics and /docs/json', { timeout: SLOW }, async () => {
    const url = server!.url;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', engine: testEngine });

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE parley_http_request_duration_seconds histogram');
    expect(text).toMatch(/parley_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/sessions"/);

    const docs = await fetch(`${url}/docs/json`);
    expect(docs.status).toBe(200);
    const openapi = (await docs.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths['/v1/conversations/{id}/messages'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
  });

  it('serve stops cleanly on SIGTERM', { timeout: SLOW }, async () => {
    server!.child.kill('SIGTERM');
    expect(await exited(server!.child)).toBe(0);
    expect(server!.output()).toContain('SIGTERM: shutting down');
  });
});

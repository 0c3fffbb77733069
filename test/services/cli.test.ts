import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parley } from '../support/cli.js';
import { freshStorage } from '../support/server.js';

describe('parley service add / list / edit / rotate-token', () => {
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const storage = await freshStorage();
    drop = storage.drop;
    env = { DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '' };
  });
  afterAll(async () => drop?.());

  it('creates a service with its menu, handler and set time, prints its token once, and refuses bad input with a clear message', async () => {
    const added = await parley(['service', 'add', '--handle', 'weather', '--name', 'Weather', '--workers', '--ack-deadline', 'PT3S', '--menu', '[{"key":"today","label":"Today"}]'], env);
    expect(added.code).toBe(0);
    const created = JSON.parse(added.stdout) as { service: { handle: string; ackDeadlineMs: number; handler: unknown; menu: unknown }; token: string };
    expect(created.service).toMatchObject({ handle: 'weather', ackDeadlineMs: 3000, handler: { type: 'workers' }, menu: [{ key: 'today', label: 'Today' }] });
    expect(created.token).toMatch(/^prl_/);

    const cases: [string[], RegExp][] = [
      [['--handle', 'weather', '--workers'], /HANDLE_TAKEN|handle is taken/],
      [['--handle', 'twohandlers', '--workers', '--plugin', 'echo'], /exactly one of/],
      [['--handle', 'badhook', '--webhook', 'ftp://example.com'], /handler/],
      [['--handle', 'badmenu', '--workers', '--menu', 'not json'], /--menu must be JSON/],
      [['--handle', 'badplugin', '--plugin', 'nope'], /in-process handler/],
      [['--handle', 'slow', '--workers', '--ack-deadline', 'PT5M'], /at most/],
    ];
    // Refusals store nothing, so they may run at once (each is a process start, slow on a busy machine).
    const added2 = await Promise.all(cases.map(([args]) => parley(['service', 'add', ...args], env)));
    cases.forEach(([args, message], i) => {
      expect([args, added2[i]!.code]).toEqual([args, 2]);
      expect(added2[i]!.stderr).toMatch(message);
    });

    const list = await parley(['service', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/echo\s+plugin echo/);
    expect(list.stdout).toMatch(/weather\s+workers\s+set time 3000 ms/);

    const edited = await parley(['service', 'edit', '--handle', 'weather', '--name', 'Weather Now', '--ack-deadline', 'PT4S', '--plugin', 'echo'], env);
    expect(edited.code).toBe(0);
    expect((JSON.parse(edited.stdout) as { service: unknown }).service).toMatchObject({ displayName: 'Weather Now', ackDeadlineMs: 4000, handler: { type: 'plugin', name: 'echo' }, menu: [{ key: 'today' }] });
    const refused: [string[], RegExp][] = [
      [['--handle', 'weather'], /something to change/],
      [['--handle', 'nosuch', '--name', 'X'], /No such service/],
      [['--handle', 'weather', '--workers', '--plugin', 'echo'], /at most one of/],
      [['--handle', 'weather', '--menu', '[{"key":"a","label":"A"},{"key":"a","label":"B"}]'], /keys must be unique/],
    ];
    // As above: at once.
    const results = await Promise.all(refused.map(([args]) => parley(['service', 'edit', ...args], env)));
    refused.forEach(([args, message], i) => {
      expect([args, results[i]!.code]).toEqual([args, 2]);
      expect(results[i]!.stderr).toMatch(message);
    });

    const rotated = await parley(['service', 'rotate-token', '--handle', 'weather'], env);
    expect(rotated.code).toBe(0);
    const { token } = JSON.parse(rotated.stdout) as { token: string };
    expect(token).toMatch(/^prl_/);
    expect(token).not.toBe(created.token);
    const list2 = await parley(['service', 'list'], env);
    expect(list2.stdout).toMatch(/weather\s+plugin echo\s+set time 4000 ms\s+Weather Now/);
  }, 240_000);
});

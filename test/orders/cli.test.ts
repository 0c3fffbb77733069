import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parley } from '../support/cli.js';
import { freshStorage } from '../support/server.js';

describe('parley provider credit / adjust, parley consent', () => {
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const storage = await freshStorage();
    drop = storage.drop;
    env = { DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '' };
  });
  afterAll(async () => drop?.());

  it('shows every input of a provider\'s credit, sets the operator adjustment, and refuses bad input', async () => {
    expect((await parley(['user', 'add', '--handle', 'shop', '--password', 'long enough pw', '--kind', 'provider'], env)).code).toBe(0);
    const credit = await parley(['provider', 'credit', 'shop'], env);
    expect(credit.code).toBe(0);
    expect(credit.stdout).toContain('score 50 (medium; frictionless at ≥ 70, refused below 30)');
    for (const input of ['ordersPlaced', 'completedOrders', 'cancellationsWithin24h', 'complaints', 'failedVerifications', 'refunds', 'accountAgeDays']) expect(credit.stdout).toContain(input);
    expect(credit.stdout).toContain('= 50 base + 0 experience + 0 tenure − 0 penalty + 0 adjustment');

    const adjusted = await parley(['provider', 'adjust', 'shop', '--points', '25', '--reason', 'long-standing partner'], env);
    expect(adjusted.stdout).toContain('adjustment 25, score now 75 (high)');

    for (const args of [['provider', 'credit'], ['provider', 'adjust', 'shop', '--points', '101', '--reason', 'x'], ['provider', 'adjust', 'shop', '--points', '5'], ['consent']]) {
      const result = await parley(args, env);
      expect([args, result.code]).toEqual([args, 2]);
    }
    const missing = await parley(['provider', 'credit', 'nobody'], env);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('No such provider account')]);
    expect((await parley(['consent', '--account', 'shop'], env)).stdout).toContain('no consent entries');
  }, 240_000);
});

/**
 * Runs the whole test suite against PostgreSQL. Outside CI a missing PostgreSQL skips the run with
 * a message; under CI=true it fails, so a green CI always means the suite ran on PostgreSQL.
 */
import { spawnSync } from 'node:child_process';
import { inCi, postgresAdminUrl, reachable } from '../test/support/services.js';

if (!(await reachable(postgresAdminUrl))) {
  const message = `PostgreSQL is not reachable at ${postgresAdminUrl} (set PARLEY_TEST_POSTGRES_URL)`;
  if (inCi) {
    console.error(`FAILED: ${message}; CI must run the PostgreSQL suite.`);
    process.exit(1);
  }
  console.warn(`SKIPPED: ${message}; the PostgreSQL suite did not run.`);
  process.exit(0);
}
const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PARLEY_TEST_DATABASE: 'postgres' },
});
process.exit(result.status ?? 1);

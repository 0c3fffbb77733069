import type { Migration, MigrationProvider } from 'kysely';
import * as core from './0001_core.js';
import * as timers from './0002_timers.js';
import * as fallback from './0003_fallback.js';
import * as files from './0004_files.js';
import * as services from './0005_services.js';
import * as timerClaims from './0006_timer_claims.js';
import * as offers from './0007_offers.js';
import * as orders from './0008_orders.js';

/** Migrations are listed in code (not read from disk) so they work the same under tsx and bundlers. */
const migrations: Record<string, Migration> = {
  '0001_core': core,
  '0002_timers': timers,
  '0003_fallback': fallback,
  '0004_files': files,
  '0005_services': services,
  '0006_timer_claims': timerClaims,
  '0007_offers': offers,
  '0008_orders': orders,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

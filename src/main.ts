import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, settings, type SettingName } from './config.js';
import { AppError } from './errors.js';
import { RegisterBody } from './protocol/requests.js';
import { CreateServiceBody, UpdateServiceBody } from './protocol/services.js';
import { compileStrict, describeErrors } from './protocol/validate.js';

// The server and storage modules load only for the commands that need them, so `--help` and
// `config check` answer at once.
const loadApp = () => import('./app.js');
const loadStorage = () => import('./storage/db.js');

const USAGE = `parley — self-hosted messaging with receipts and fallback

Usage:
  parley serve                 start the server (HTTP + WebSocket)
  parley migrate               apply database migrations and exit
  parley user add --handle H --password P [--name N] [--kind person|service|provider] [--admin]
  parley service add --handle H [--name N] [--description D] [--menu JSON]
                     (--webhook URL [--secret S] | --workers | --plugin NAME)
                     [--ack-deadline PT5S] [--reply-window PT48H] [--lease PT30S] [--max-queue N] [--rate N]
                               create a service account; prints it with its token (shown once)
  parley service edit --handle H [any of the flags of service add]
                               change a service: only the fields given
  parley service rotate-token --handle H
                               a new token for the service (shown once); earlier ones stop working
  parley service list          the service accounts with their handlers
  parley provider credit REF   a provider's credit score with every input and term of the formula (docs/orders.md)
  parley provider adjust REF --points N --reason R
                               set the operator adjustment (-100…100) added to the provider's score
  parley consent (--order ID | --account REF) [--limit N]
                               the append-only consent log of an order or of one user's orders, oldest first
  parley config check          print the effective configuration and where each value came from
  parley outbox [--channel sms|email] [--limit N]
                               what the outbox channels "sent" (verification codes, fallbacks), newest first

Settings come from the environment (see parley config check) or a JSON file named by PARLEY_CONFIG.`;

async function serve(): Promise<void> {
  const { config, warnings } = loadConfig();
  const { startApp } = await loadApp();
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config);
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') throw new ConfigError(`port ${config.port} on ${config.host} is already in use (set PORT)`);
    throw err;
  }
  for (const w of warnings) app.http.log.warn(w);
  app.http.log.info({ url: app.url, engine: app.services.storage.engine, data: app.services.storage.location }, `Parley listening on ${app.url}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.http.log.info(`${signal}: shutting down`);
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function migrate(): Promise<void> {
  const { config } = loadConfig();
  const { migrateToLatest, openStorage } = await loadStorage();
  const storage = openStorage(config);
  try {
    const applied = await migrateToLatest(storage.db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await storage.close();
  }
}

async function userAdd(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      handle: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      kind: { type: 'string', default: 'person' },
      admin: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.handle || !values.password) throw new ConfigError('user add needs --handle and --password');
  if (!['person', 'service', 'provider'].includes(values.kind!)) throw new ConfigError('--kind must be person, service or provider');
  // The same rules as registration over the API, so the CLI cannot create an account the API would refuse.
  const input = { handle: values.handle, displayName: values.name ?? values.handle, password: values.password, kind: values.kind as 'person' | 'service' | 'provider' };
  const validate = compileStrict<RegisterBody>(RegisterBody);
  if (!validate(input)) {
    const flags: Record<string, string> = { '/handle': '--handle', '/displayName': '--name', '/password': '--password' };
    throw new ConfigError(describeErrors(validate.errors).map((e) => `${flags[e.path] ?? e.path} ${e.message}`).join('; '));
  }
  const { config } = loadConfig({ logLevel: 'silent' });
  const { createServices } = await loadApp();
  const { services, bus } = await createServices(config);
  try {
    const account = await services.accounts.create({ ...input, isAdmin: values.admin });
    console.log(JSON.stringify(account, null, 2));
  } finally {
    await bus.close();
    await services.storage.close();
  }
}

const SERVICE_OPTIONS = {
  handle: { type: 'string' },
  name: { type: 'string' },
  description: { type: 'string' },
  menu: { type: 'string' },
  webhook: { type: 'string' },
  secret: { type: 'string' },
  workers: { type: 'boolean', default: false },
  plugin: { type: 'string' },
  'ack-deadline': { type: 'string' },
  'reply-window': { type: 'string' },
  lease: { type: 'string' },
  'max-queue': { type: 'string' },
  rate: { type: 'string' },
} as const;

/** The fields `service add` and `service edit` share, from their flags; the handler only when one is named. */
function serviceFields(command: string, argv: string[]): { handle: string; handlers: number; fields: Record<string, unknown> } {
  const { values } = parseArgs({ args: argv, options: SERVICE_OPTIONS, strict: true });
  if (!values.handle) throw new ConfigError(`${command} needs --handle`);
  const handlers = [values.webhook !== undefined, values.workers, values.plugin !== undefined].filter(Boolean).length;
  if (handlers > 1) throw new ConfigError(`${command} takes ${command === 'service add' ? 'exactly' : 'at most'} one of --webhook URL, --workers, --plugin NAME`);
  let menu: unknown;
  if (values.menu !== undefined) {
    try {
      menu = JSON.parse(values.menu);
    } catch {
      throw new ConfigError('--menu must be JSON, e.g. \'[{"key":"help","label":"Help"}]\'');
    }
  }
  const int = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new ConfigError(`--${flag} must be a positive integer`);
    return Number(value);
  };
  const handler = values.webhook !== undefined ? { type: 'webhook', url: values.webhook, ...(values.secret ? { secret: values.secret } : {}) } : values.plugin !== undefined ? { type: 'plugin', name: values.plugin } : values.workers ? { type: 'workers' } : undefined;
  const fields = {
    ...(values.name !== undefined ? { displayName: values.name } : {}),
    ...(values.description !== undefined ? { description: values.description } : {}),
    ...(menu !== undefined ? { menu } : {}),
    ...(handler ? { handler } : {}),
    ...(values['ack-deadline'] !== undefined ? { ackDeadline: values['ack-deadline'] } : {}),
    ...(values['reply-window'] !== undefined ? { replyWindow: values['reply-window'] } : {}),
    ...(values.lease !== undefined ? { lease: values.lease } : {}),
    ...(values['max-queue'] !== undefined ? { maxQueue: int('max-queue', values['max-queue']) } : {}),
    ...(values.rate !== undefined ? { ratePerMinute: int('rate', values.rate) } : {}),
  };
  return { handle: values.handle, handlers, fields };
}

/** The API's schema, so the CLI cannot do what the API would refuse. */
function checked<T>(schema: Parameters<typeof compileStrict>[0], input: unknown): T {
  const validate = compileStrict<T>(schema);
  if (!validate(input)) throw new ConfigError(describeErrors(validate.errors).map((e) => `${e.path} ${e.message}`).join('; '));
  return input;
}

async function serviceAdd(argv: string[]): Promise<void> {
  const { handle, handlers, fields } = serviceFields('service add', argv);
  if (handlers !== 1) throw new ConfigError('service add needs exactly one of --webhook URL, --workers, --plugin NAME');
  const input = checked<CreateServiceBody>(CreateServiceBody, { handle, displayName: handle, ...fields });
  await withServices(async (services) => console.log(JSON.stringify(await services.serviceAccounts.create(null, input), null, 2)));
}

async function serviceEdit(argv: string[]): Promise<void> {
  const { handle, fields } = serviceFields('service edit', argv);
  if (Object.keys(fields).length === 0) throw new ConfigError('service edit needs something to change (--name, --menu, --workers, --ack-deadline, …)');
  const input = checked<UpdateServiceBody>(UpdateServiceBody, fields);
  await withServices(async (services) => console.log(JSON.stringify(await services.serviceAccounts.update(null, handle, input), null, 2)));
}

async function serviceRotateToken(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { handle: { type: 'string' } }, strict: true });
  if (!values.handle) throw new ConfigError('service rotate-token needs --handle');
  const handle = values.handle;
  await withServices(async (services) => console.log(JSON.stringify(await services.serviceAccounts.rotateToken(null, handle), null, 2)));
}

async function serviceList(): Promise<void> {
  await withServices(async (services) => {
    const all = await services.serviceAccounts.list();
    if (all.length === 0) console.log('no service accounts');
    for (const view of all) {
      const full = await services.serviceAccounts.get({ accountId: '', deviceId: '', isAdmin: true }, view.id);
      const handler = 'handler' in full ? full.handler : undefined;
      const how = handler?.type === 'webhook' ? `webhook ${handler.url}` : handler?.type === 'plugin' ? `plugin ${handler.name}` : 'workers';
      console.log(`${view.handle.padEnd(20)} ${how}  set time ${view.ackDeadlineMs} ms  ${view.displayName}`);
    }
  });
}

/** Runs `work` against the configured storage without serving. */
async function withServices(work: (services: Awaited<ReturnType<Awaited<ReturnType<typeof loadApp>>['createServices']>>['services']) => Promise<void>): Promise<void> {
  const { config } = loadConfig({ logLevel: 'silent' });
  const { createServices } = await loadApp();
  const { services, bus } = await createServices(config);
  try {
    await work(services);
  } finally {
    await bus.close();
    await services.storage.close();
  }
}

async function outbox(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { channel: { type: 'string' }, limit: { type: 'string', default: '20' } }, strict: true });
  if (values.channel !== undefined && values.channel !== 'sms' && values.channel !== 'email') throw new ConfigError('--channel must be sms or email');
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new ConfigError('--limit must be an integer from 1 to 500');
  const { config } = loadConfig({ logLevel: 'silent' });
  const { createServices } = await loadApp();
  const { services, bus } = await createServices(config);
  try {
    const items = await services.outbox.recent({ channel: values.channel, limit });
    if (items.length === 0) console.log('the outbox is empty');
    for (const item of items) {
      console.log(`${item.createdAt}  ${item.channel.padEnd(5)}  ${item.recipient}  [${item.purpose}]${item.subject ? `  ${item.subject}` : ''}\n  ${item.body.replace(/\n/g, '\n  ')}`);
    }
  } finally {
    await bus.close();
    await services.storage.close();
  }
}

async function providerCredit(ref: string | undefined): Promise<void> {
  if (!ref) throw new ConfigError('provider credit needs the provider\'s id or handle');
  await withServices(async (services) => {
    const c = await services.orders.credit(null, ref);
    const t = c.terms;
    console.log(`provider ${c.providerId}: score ${c.score} (${c.band}; frictionless at ≥ ${c.thresholds.high}, refused below ${c.thresholds.low})`);
    for (const [name, value] of Object.entries(c.inputs)) console.log(`  ${name.padEnd(24)} ${value}`);
    console.log(`  = ${t.base} base + ${t.experience} experience + ${t.tenure} tenure − ${t.penalty} penalty + ${t.adjustment} adjustment`);
    if (c.adjustment.reason) console.log(`  adjustment by ${c.adjustment.by} at ${c.adjustment.at}: ${c.adjustment.reason}`);
  });
}

async function providerAdjust(ref: string | undefined, argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { points: { type: 'string' }, reason: { type: 'string' } }, strict: true });
  const points = Number(values.points);
  if (!ref || !Number.isInteger(points) || points < -100 || points > 100 || !values.reason) throw new ConfigError('provider adjust needs REF --points N (-100…100) --reason TEXT');
  const reason = values.reason;
  await withServices(async (services) => {
    const c = await services.orders.adjust(null, ref, { adjustment: points, reason });
    console.log(`provider ${c.providerId}: adjustment ${points}, score now ${c.score} (${c.band})`);
  });
}

async function consent(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { order: { type: 'string' }, account: { type: 'string' }, limit: { type: 'string', default: '1000' } }, strict: true });
  if (!values.order === !values.account) throw new ConfigError('consent needs exactly one of --order ID, --account REF');
  const { order, account } = values;
  await withServices(async (services) => {
    const entries = order
      ? await services.orders.consent({ accountId: '', deviceId: '', isAdmin: true }, order)
      : await services.orders.consentOfAccount((await services.accounts.find(account!)).id, Number(values.limit));
    if (entries.length === 0) console.log('no consent entries');
    for (const e of entries) {
      console.log(`${e.at}  order ${e.orderId}  ${e.action.padEnd(18)} ${(e.channel ?? '-').padEnd(5)} by ${e.actorId ?? 'system'}${e.codeHash ? `  code ${e.codeHash.slice(0, 16)}…` : ''}  ${JSON.stringify(e.detail)}`);
    }
  });
}

function configCheck(): void {
  const { config, sources, warnings } = loadConfig();
  const rows = (Object.keys(settings) as SettingName[]).map((name) => {
    let value = String(config[name]);
    // Never print a secret: passwords inside URLs (database, Redis, SMSC, SMTP…) and whole values
    // of settings that are credentials.
    if (/secret|auth|password|token/i.test(name) && value) value = '***';
    else value = value.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@');
    return { name, env: settings[name].env, value, source: sources[name], doc: settings[name].doc };
  });
  const width = Math.max(...rows.map((r) => r.env.length));
  for (const r of rows) console.log(`${r.env.padEnd(width)}  ${r.value || '(empty)'}  [${r.source}]\n${' '.repeat(width)}  ${r.doc}`);
  for (const w of warnings) console.log(`warning: ${w}`);
  console.log('configuration is valid');
}

export async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  try {
    if (command === 'serve' || command === undefined) return await serve();
    if (command === 'migrate') return await migrate();
    if (command === 'user' && sub === 'add') return await userAdd(rest);
    if (command === 'service' && sub === 'add') return await serviceAdd(rest);
    if (command === 'service' && sub === 'list') return await serviceList();
    if (command === 'service' && sub === 'edit') return await serviceEdit(rest);
    if (command === 'service' && sub === 'rotate-token') return await serviceRotateToken(rest);
    if (command === 'provider' && sub === 'credit') return await providerCredit(rest[0]);
    if (command === 'provider' && sub === 'adjust') return await providerAdjust(rest[0], rest.slice(1));
    if (command === 'consent') return await consent(argv.slice(1));
    if (command === 'config' && sub === 'check') return configCheck();
    if (command === 'outbox') return await outbox(argv.slice(1));
    if (command === 'help' || command === '--help' || command === '-h') return void console.log(USAGE);
    console.error(`unknown command: ${argv.join(' ')}\n\n${USAGE}`);
    process.exitCode = 2;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AppError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`error: ${(err as Error).message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

await main(process.argv.slice(2));

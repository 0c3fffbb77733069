import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Config } from '../../config.js';
import type { Actor } from '../../lib/actor.js';
import type { CatalogueBody, CatalogueServiceView, CatalogueUpdateBody, CreditBand } from '../../protocol/orders.js';
import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import type { CatalogueTable } from '../../storage/schema.js';
import { creditView } from './credit.js';
import { catalogueView, providerRecords } from './orders.repo.js';

/** What providers publish: services with a code users order by, a price and a period, shown with the provider's credit band. */
export class CatalogueService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'orderCreditHigh' | 'orderCreditLow'>,
  ) {}

  async publish(actor: Actor, input: CatalogueBody): Promise<CatalogueServiceView> {
    const provider = await this.db.selectFrom('accounts').select('kind').where('id', '=', actor.accountId).executeTakeFirst();
    if (provider?.kind !== 'provider') throw new AppError('NOT_A_PROVIDER');
    const now = this.clock.now();
    const row: CatalogueTable = {
      id: newId(),
      provider_id: actor.accountId,
      code: input.code.toUpperCase(),
      name: input.name,
      description: input.description ?? '',
      price: input.price,
      currency: input.currency ?? 'EUR',
      period: input.period,
      active: 1,
      created_at: now,
      updated_at: now,
    };
    const inserted = await this.db.insertInto('catalogue').values(row).onConflict((oc) => oc.column('code').doNothing()).returning('id').executeTakeFirst();
    if (!inserted) throw new AppError('SERVICE_CODE_TAKEN', undefined, { code: row.code });
    return this.view(row);
  }

  async update(actor: Actor, code: string, input: CatalogueUpdateBody): Promise<CatalogueServiceView> {
    const row = await this.find(code, false);
    if (row.provider_id !== actor.accountId) throw new AppError('NOT_ORDER_PROVIDER', 'Only the provider of the service may change it.');
    const patch: Partial<CatalogueTable> = { updated_at: this.clock.now() };
    if (input.name !== undefined) patch.name = input.name;
    if (input.price !== undefined) patch.price = input.price;
    if (input.description !== undefined) patch.description = input.description;
    if (input.active !== undefined) patch.active = input.active ? 1 : 0;
    await this.db.updateTable('catalogue').set(patch).where('id', '=', row.id).execute();
    return this.view({ ...row, ...patch });
  }

  /** Active services (of one provider); withdrawn ones too when that provider itself, or an administrator, asks for them. */
  async list(actor: Actor, providerRef?: string, withdrawn = false): Promise<CatalogueServiceView[]> {
    let query = this.db.selectFrom('catalogue').selectAll();
    let own = false;
    if (providerRef) {
      const provider = await this.db.selectFrom('accounts').select('id').where((eb) => eb.or([eb('id', '=', providerRef), eb('handle', '=', providerRef.toLowerCase())])).executeTakeFirst();
      if (!provider) return [];
      query = query.where('provider_id', '=', provider.id);
      own = provider.id === actor.accountId || actor.isAdmin;
    }
    if (!(withdrawn && own)) query = query.where('active', '=', 1);
    return this.views(await query.orderBy('code').limit(1000).execute());
  }

  async get(code: string): Promise<CatalogueServiceView> {
    return this.view(await this.find(code, true));
  }

  private async find(code: string, activeOnly: boolean): Promise<CatalogueTable> {
    const row = await this.db.selectFrom('catalogue').selectAll().where('code', '=', code.toUpperCase()).executeTakeFirst();
    if (!row || (activeOnly && row.active !== 1)) throw new AppError('CATALOGUE_SERVICE_NOT_FOUND', undefined, { code: code.toUpperCase() });
    return row;
  }

  private async view(row: CatalogueTable): Promise<CatalogueServiceView> {
    return (await this.views([row]))[0]!;
  }

  private async views(rows: CatalogueTable[]): Promise<CatalogueServiceView[]> {
    if (rows.length === 0) return [];
    const ids = [...new Set(rows.map((r) => r.provider_id))];
    const [accounts, records] = await Promise.all([
      this.db.selectFrom('accounts').select(['id', 'handle', 'display_name', 'created_at']).where('id', 'in', ids).execute(),
      providerRecords(this.db, ids),
    ]);
    const now = this.clock.now();
    const thresholds = { high: this.config.orderCreditHigh, low: this.config.orderCreditLow };
    const bands = new Map<string, CreditBand>(accounts.map((a) => [a.id, creditView(a, records.get(a.id), now, thresholds).band]));
    const providers = new Map(accounts.map((a) => [a.id, a]));
    return rows.map((r) => catalogueView(r, providers.get(r.provider_id)!, bands.get(r.provider_id)!));
  }
}

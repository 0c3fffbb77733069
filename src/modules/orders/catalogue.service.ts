import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import type { CatalogueBody, CatalogueServiceView, CatalogueUpdateBody } from '../../protocol/orders.js';
import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import type { CatalogueTable } from '../../storage/schema.js';
import { accountRefs, catalogueView } from './orders.repo.js';

/** What providers publish: services with a code users order by, a price and a period. */
export class CatalogueService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async publish(actor: Actor, input: CatalogueBody): Promise<CatalogueServiceView> {
    const provider = await this.db.selectFrom('accounts').select(['id', 'handle', 'display_name', 'kind']).where('id', '=', actor.accountId).executeTakeFirst();
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
    return catalogueView(row, provider);
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

  async list(providerRef?: string): Promise<CatalogueServiceView[]> {
    let query = this.db.selectFrom('catalogue').selectAll().where('active', '=', 1);
    if (providerRef) {
      const provider = await this.db.selectFrom('accounts').select('id').where((eb) => eb.or([eb('id', '=', providerRef), eb('handle', '=', providerRef.toLowerCase())])).executeTakeFirst();
      if (!provider) return [];
      query = query.where('provider_id', '=', provider.id);
    }
    const rows = await query.orderBy('code').limit(1000).execute();
    const providers = new Map((await accountRefs(this.db, rows.map((r) => r.provider_id))).map((a) => [a.id, a]));
    return rows.map((r) => catalogueView(r, providers.get(r.provider_id)!));
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
    const [provider] = await accountRefs(this.db, [row.provider_id]);
    return catalogueView(row, provider!);
  }
}

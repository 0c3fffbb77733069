import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AdjustmentBody, CatalogueBody, CatalogueQuery, CatalogueUpdateBody, CodeParams, ComplaintBody, ConfirmBody, OrderBody, OrdersQuery } from '../../protocol/orders.js';
import { IdParams } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

const ProviderParams = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 64, description: 'Provider account id or handle.' }) }, { additionalProperties: false });
type ProviderParams = Static<typeof ProviderParams>;

export function ordersRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['orders'];

  app.post<{ Body: CatalogueBody }>('/v1/catalogue', { schema: { tags, summary: 'Publish a service (provider accounts): code, name, all-in price, period', body: CatalogueBody } }, async (req, reply) => {
    reply.code(201);
    return { service: await s.catalogue.publish(req.actor, req.body) };
  });
  app.get<{ Querystring: CatalogueQuery }>('/v1/catalogue', { schema: { tags, summary: 'Services that can be ordered (optionally of one provider)', querystring: CatalogueQuery } }, async (req) => ({
    services: await s.catalogue.list(req.actor, req.query.provider, req.query.withdrawn),
  }));
  app.get<{ Params: CodeParams }>('/v1/catalogue/:code', { schema: { tags, summary: 'One service by its code', params: CodeParams } }, async (req) => ({ service: await s.catalogue.get(req.params.code) }));
  app.patch<{ Params: CodeParams; Body: CatalogueUpdateBody }>('/v1/catalogue/:code', { schema: { tags, summary: 'Change or withdraw your service', params: CodeParams, body: CatalogueUpdateBody } }, async (req) => ({
    service: await s.catalogue.update(req.actor, req.params.code, req.body),
  }));

  app.post<{ Body: OrderBody }>('/v1/orders', { schema: { tags, summary: 'Order a service: placed at once, verified with a code, or refused, by the provider\'s credit', body: OrderBody } }, async (req, reply) => {
    const result = await s.orders.request(req.actor, req.body);
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });
  app.get<{ Querystring: OrdersQuery }>('/v1/orders', { schema: { tags, summary: 'Your orders and subscriptions (role=provider: orders of your services)', querystring: OrdersQuery } }, async (req) => ({
    orders: await s.orders.list(req.actor, req.query.role ?? 'user'),
  }));
  app.get<{ Params: IdParams }>('/v1/orders/:id', { schema: { tags, summary: 'An order (its user, its provider, administrators)', params: IdParams } }, async (req) => ({ order: await s.orders.get(req.actor, req.params.id) }));
  app.post<{ Params: IdParams; Body: ConfirmBody }>('/v1/orders/:id/confirm', { schema: { tags, summary: 'Answer the verification code: the order is placed when it checks', params: IdParams, body: ConfirmBody } }, async (req) => ({
    order: await s.orders.confirm(req.actor, req.params.id, req.body.code),
  }));
  app.post<{ Params: IdParams }>('/v1/orders/:id/resend', { schema: { tags, summary: 'Send a new code (limited); the old one stops working', params: IdParams } }, async (req) => ({ order: await s.orders.resend(req.actor, req.params.id) }));
  app.post<{ Params: IdParams }>('/v1/orders/:id/cancel', { schema: { tags, summary: 'Cancel an order or subscription, or decline a pending one (STOP)', params: IdParams } }, async (req) => ({ order: await s.orders.cancel(req.actor, req.params.id) }));
  app.post<{ Params: IdParams; Body: ComplaintBody }>('/v1/orders/:id/complaint', { schema: { tags, summary: 'Complain about a placed order (once); it lowers the provider\'s credit', params: IdParams, body: ComplaintBody } }, async (req) => ({
    order: await s.orders.complain(req.actor, req.params.id, req.body.reason),
  }));
  app.post<{ Params: IdParams }>('/v1/orders/:id/refund', { schema: { tags, summary: 'Refund a placed order (its provider, administrators)', params: IdParams } }, async (req) => ({ order: await s.orders.refund(req.actor, req.params.id) }));
  app.get<{ Params: IdParams }>('/v1/orders/:id/consent', { schema: { tags, summary: 'The order\'s consent log: every step, who, when, which channel, code hashes', params: IdParams } }, async (req) => ({
    entries: await s.orders.consent(req.actor, req.params.id),
  }));

  app.get<{ Params: ProviderParams }>('/v1/providers/:ref/credit', { schema: { tags, summary: 'A provider\'s credit score with every input (the provider, administrators)', params: ProviderParams } }, async (req) => ({
    credit: await s.orders.credit(req.actor, req.params.ref),
  }));
  app.get('/v1/providers', { schema: { tags, summary: 'Every provider\'s credit score with its inputs (administrators): the operator\'s view' } }, async (req) => ({
    providers: await s.orders.credits(req.actor),
  }));
  app.put<{ Params: ProviderParams; Body: AdjustmentBody }>('/v1/providers/:ref/credit/adjustment', { schema: { tags, summary: 'Set the operator adjustment of a provider\'s credit (administrators)', params: ProviderParams, body: AdjustmentBody } }, async (req) => ({
    credit: await s.orders.adjust(req.actor, req.params.ref, req.body),
  }));
}

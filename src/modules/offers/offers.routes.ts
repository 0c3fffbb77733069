import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AnswerBody, DeviceKeyBody, InterestBody, OfferBody, SharesBody, VoucherDecisionBody, VoucherTokenBody } from '../../protocol/offers.js';
import { IdParams } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

const OffersQuery = Type.Object({ role: Type.Optional(Type.Union([Type.Literal('provider'), Type.Literal('recipient')])) }, { additionalProperties: false });
type OffersQuery = Static<typeof OffersQuery>;

export function offersRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['offers'];
  // Sealed data travels as base64url in JSON: 4/3 of its bytes, plus the descriptor.
  const offerBodyLimit = Math.ceil((s.config.offerMaxDataBytes * 4) / 3) + 65_536;

  app.put<{ Body: InterestBody }>('/v1/interests', { schema: { tags, summary: 'Store (or replace, by name) an interest: tags and a MongoDB-style predicate over offer attributes', body: InterestBody } }, async (req, reply) => {
    const { interest, created } = await s.offers.putInterest(req.actor, req.body);
    reply.code(created ? 201 : 200);
    return { interest };
  });
  app.get('/v1/interests', { schema: { tags, summary: 'Your interests' } }, async (req) => ({ interests: await s.offers.listInterests(req.actor) }));
  app.delete<{ Params: IdParams }>('/v1/interests/:id', { schema: { tags, summary: 'Delete an interest', params: IdParams } }, async (req, reply) => {
    await s.offers.deleteInterest(req.actor, req.params.id);
    return reply.code(204).send();
  });

  app.post<{ Body: OfferBody }>(
    '/v1/offers',
    { bodyLimit: offerBodyLimit, schema: { tags, summary: 'Publish an offer: matched users get an `offer` event', body: OfferBody } },
    async (req, reply) => {
      reply.code(201);
      return { offer: await s.offers.publish(req.actor, req.body) };
    },
  );
  app.get<{ Querystring: OffersQuery }>('/v1/offers', { schema: { tags, summary: 'Offers you published (role=provider) or received (default)', querystring: OffersQuery } }, async (req) => ({
    offers: await s.offers.list(req.actor, req.query.role ?? 'recipient'),
  }));
  app.get('/v1/offers/voucher-key', { config: { public: true }, schema: { tags, summary: 'The server\'s public voucher-signing key (JWKS, Ed25519)' } }, async () => s.offers.publicKey());
  app.get('/v1/offers/pending-shares', { schema: { tags, summary: 'Your winners still waiting for your share, with their device keys' } }, async (req) => ({ winners: await s.offers.pendingShares(req.actor) }));
  app.post<{ Body: SharesBody }>('/v1/offers/shares', { schema: { tags, summary: 'Release your share, sealed to each winner device\'s key', body: SharesBody } }, async (req) => s.offers.releaseShares(req.actor, req.body));
  app.get<{ Params: IdParams }>('/v1/offers/:id', { schema: { tags, summary: 'An offer (the provider also sees who was offered, who answered when, who won)', params: IdParams } }, async (req) => ({
    offer: await s.offers.get(req.actor, req.params.id),
  }));
  app.post<{ Params: IdParams; Body: AnswerBody }>('/v1/offers/:id/answer', { schema: { tags, summary: 'Accept or decline an offer made to you', params: IdParams, body: AnswerBody } }, async (req) =>
    s.offers.answer(req.actor, req.params.id, req.body),
  );
  app.post<{ Params: IdParams }>('/v1/offers/:id/withdraw', { schema: { tags, summary: 'Withdraw your offer', params: IdParams } }, async (req) => ({ offer: await s.offers.withdraw(req.actor, req.params.id) }));

  app.post<{ Body: DeviceKeyBody }>('/v1/devices/key', { schema: { tags, summary: 'Register this device\'s X25519 public key (shares of won offers are sealed to it)', body: DeviceKeyBody } }, async (req) =>
    s.offers.registerDeviceKey(req.actor, req.body.publicKey),
  );

  app.get('/v1/vouchers', { schema: { tags, summary: 'Your vouchers' } }, async (req) => ({ vouchers: await s.offers.vouchers(req.actor) }));
  app.get('/v1/credit', { schema: { tags, summary: 'Your value-added credit as a provider (points, redemptions)' } }, async (req) => ({ credit: await s.offers.credit(req.actor) }));
  app.post<{ Body: VoucherTokenBody }>('/v1/vouchers/redeem', { schema: { tags, summary: 'Redeem a voucher by its signed token (holder only, once)', body: VoucherTokenBody } }, async (req) => ({
    voucher: await s.offers.redeem(req.actor, req.body.token),
  }));
  app.get<{ Params: IdParams }>('/v1/vouchers/:id', { schema: { tags, summary: 'A voucher (its holder or provider)', params: IdParams } }, async (req) => ({ voucher: await s.offers.voucher(req.actor, req.params.id) }));
  app.get<{ Params: IdParams }>('/v1/vouchers/:id/data', { schema: { tags, summary: 'The sealed target data or link (holder only)', params: IdParams } }, async (req) => s.offers.voucherData(req.actor, req.params.id));
  app.post<{ Params: IdParams; Body: VoucherDecisionBody }>('/v1/vouchers/:id/decision', { schema: { tags, summary: 'Accept or reject a voucher you won', params: IdParams, body: VoucherDecisionBody } }, async (req) => ({
    voucher: await s.offers.decide(req.actor, req.params.id, req.body.decision),
  }));
}

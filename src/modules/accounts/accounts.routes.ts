import type { FastifyInstance } from 'fastify';
import { BindEmailBody, BindPhoneBody, IdParams, LoginBody, RefParams, RegisterBody, UpdateMeBody, VerifyCodeBody } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function accountsRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['accounts'];
  app.post<{ Body: RegisterBody }>('/v1/accounts', { config: { optionalAuth: true }, schema: { tags, summary: 'Register an account', body: RegisterBody } }, async (req, reply) => {
    reply.code(201);
    return { account: await s.accounts.register(req.body, req.actorIfAny) };
  });
  app.get<{ Params: RefParams }>('/v1/accounts/:ref', { schema: { tags, summary: 'Public profile by id or handle', params: RefParams } }, async (req) => ({
    account: await s.accounts.find(req.params.ref),
  }));

  app.post<{ Body: LoginBody }>('/v1/sessions', { config: { public: true }, schema: { tags, summary: 'Log in: returns a bearer token for a new device', body: LoginBody } }, async (req, reply) => {
    reply.code(201);
    return s.accounts.login(req.body);
  });
  app.delete('/v1/sessions/current', { schema: { tags, summary: 'Log out: revokes this device' } }, async (req, reply) => {
    await s.accounts.logout(req.actor);
    return reply.code(204).send();
  });

  app.get('/v1/me', { schema: { tags, summary: 'Your account' } }, async (req) => ({ account: await s.accounts.me(req.actor) }));
  app.patch<{ Body: UpdateMeBody }>('/v1/me', { schema: { tags, summary: 'Change display name or privacy settings', body: UpdateMeBody } }, async (req) => ({
    account: await s.accounts.updateMe(req.actor, req.body),
  }));
  app.get('/v1/me/devices', { schema: { tags, summary: 'Your logged-in devices' } }, async (req) => ({ devices: await s.accounts.listDevices(req.actor) }));
  app.delete<{ Params: IdParams }>('/v1/me/devices/:id', { schema: { tags, summary: 'Revoke a device (its sockets close at once)', params: IdParams } }, async (req, reply) => {
    await s.accounts.revokeDevice(req.actor, req.params.id);
    return reply.code(204).send();
  });

  app.post<{ Body: BindPhoneBody }>('/v1/me/phone', { schema: { tags, summary: 'Bind a mobile number (E.164); a code goes out by SMS', body: BindPhoneBody } }, async (req, reply) => {
    reply.code(202);
    return s.accounts.bindPhone(req.actor, req.body.phone);
  });
  app.post<{ Body: VerifyCodeBody }>('/v1/me/phone/verify', { schema: { tags, summary: 'Verify the mobile number with the code', body: VerifyCodeBody } }, async (req) => ({
    account: await s.accounts.verifyPhone(req.actor, req.body.code),
  }));
  app.post<{ Body: BindEmailBody }>('/v1/me/email', { schema: { tags, summary: 'Bind an e-mail address; a code goes out by e-mail', body: BindEmailBody } }, async (req, reply) => {
    reply.code(202);
    return s.accounts.bindEmail(req.actor, req.body.email);
  });
  app.post<{ Body: VerifyCodeBody }>('/v1/me/email/verify', { schema: { tags, summary: 'Verify the e-mail address with the code', body: VerifyCodeBody } }, async (req) => ({
    account: await s.accounts.verifyEmail(req.actor, req.body.code),
  }));
}

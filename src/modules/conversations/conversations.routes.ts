import type { FastifyInstance } from 'fastify';
import { AddMemberBody, CreateConversationBody, IdParams, MemberParams, RenameConversationBody, SetRoleBody } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function conversationsRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['conversations'];
  app.post<{ Body: CreateConversationBody }>('/v1/conversations', { schema: { tags, summary: 'Open a direct conversation (idempotent per pair) or create a group', body: CreateConversationBody } }, async (req, reply) => {
    const { conversation, created } = await s.conversations.create(req.actor, req.body);
    reply.code(created ? 201 : 200);
    return { conversation };
  });
  app.get('/v1/conversations', { schema: { tags, summary: 'Your conversations with last message and unread count' } }, async (req) => ({
    conversations: await s.conversations.list(req.actor),
  }));
  app.get<{ Params: IdParams }>('/v1/conversations/:id', { schema: { tags, params: IdParams } }, async (req) => ({
    conversation: await s.conversations.get(req.actor, req.params.id),
  }));
  app.patch<{ Params: IdParams; Body: RenameConversationBody }>('/v1/conversations/:id', { schema: { tags, summary: 'Rename a group (owners)', params: IdParams, body: RenameConversationBody } }, async (req) => ({
    conversation: await s.conversations.rename(req.actor, req.params.id, req.body.title),
  }));
  app.get<{ Params: IdParams }>('/v1/conversations/:id/members', { schema: { tags, summary: 'Members with roles and receipt watermarks', params: IdParams } }, async (req) => ({
    members: await s.conversations.members(req.actor, req.params.id),
  }));
  app.post<{ Params: IdParams; Body: AddMemberBody }>('/v1/conversations/:id/members', { schema: { tags, summary: 'Add a member to a group (owners)', params: IdParams, body: AddMemberBody } }, async (req, reply) => {
    reply.code(201);
    return { members: await s.conversations.addMember(req.actor, req.params.id, req.body.account, req.body.role) };
  });
  app.patch<{ Params: MemberParams; Body: SetRoleBody }>('/v1/conversations/:id/members/:accountId', { schema: { tags, summary: 'Change a member role (owners)', params: MemberParams, body: SetRoleBody } }, async (req) => ({
    members: await s.conversations.setRole(req.actor, req.params.id, req.params.accountId, req.body.role),
  }));
  app.delete<{ Params: MemberParams }>('/v1/conversations/:id/members/:accountId', { schema: { tags, summary: 'Remove a member (owners) or yourself', params: MemberParams } }, async (req, reply) => {
    await s.conversations.removeMember(req.actor, req.params.id, req.params.accountId);
    return reply.code(204).send();
  });
  app.post<{ Params: IdParams }>('/v1/conversations/:id/leave', { schema: { tags, summary: 'Leave a group', params: IdParams } }, async (req, reply) => {
    await s.conversations.leave(req.actor, req.params.id);
    return reply.code(204).send();
  });
}

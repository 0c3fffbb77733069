import type { TimerSpec } from '../../scheduler/scheduler.js';

/** Timer kinds for "tell me if this message is not read / not delivered in time". */
export const DEADLINE_TIMER = { read: 'message.read-deadline', delivered: 'message.delivered-deadline' } as const;

export interface DeadlinePayload {
  messageId: string;
  recipientId: string;
  kind: 'read' | 'delivered';
}

export function deadlineTimer(kind: 'read' | 'delivered', messageId: string, recipientId: string, dueAt: number): TimerSpec {
  const payload: DeadlinePayload = { messageId, recipientId, kind };
  return { kind: DEADLINE_TIMER[kind], key: `${kind}-deadline:${messageId}:${recipientId}`, dueAt, payload };
}

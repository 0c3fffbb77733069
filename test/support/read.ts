import type { Message, ParleyClient, StreamEvent } from '../../sdk/index.js';

/** Every stored event of the client's account, following pages. */
export async function allEvents(client: ParleyClient): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for (;;) {
    const { events, headSeq } = await client.events({ after: out.at(-1)?.seq ?? 0, limit: 1000 });
    out.push(...events);
    if (events.length === 0 || out.at(-1)!.seq >= headSeq) return out;
  }
}

/** The whole visible history of a conversation, oldest first, following cursors. */
export async function fullHistory(client: ParleyClient, conversationId: string): Promise<Message[]> {
  const out: Message[] = [];
  let cursor = '0';
  for (;;) {
    const page = await client.history(conversationId, { after: cursor, limit: 200 });
    out.push(...page.messages);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

/** Polls `condition` every 10 ms until it holds; for state that has no event to wait on. */
export async function until(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import { formatDuration } from '../../protocol/duration.js';
import type { Message } from '../../protocol/views.js';
import { toIso } from '../../scheduler/clock.js';
import type { MessagesTable } from '../../storage/schema.js';

/** Maps a stored message to its wire shape; a deleted message keeps its place but not its text. */
export function toMessageView(row: MessagesTable): Message {
  const duration = (ms: number | null) => (ms === null ? null : formatDuration(Number(ms)));
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    clientId: row.client_id,
    text: row.deleted_at === null ? row.body : '',
    replyTo: row.reply_to,
    options: {
      receipt: { read: row.receipt_read === 1, within: duration(row.receipt_within_ms), deliveredWithin: duration(row.delivered_within_ms) },
      priority: row.priority,
      fallback: row.fallback,
      fallbackContent: row.fallback_content,
    },
    attachment:
      row.attachment_id === null || row.deleted_at !== null
        ? null
        : {
            id: row.attachment_id,
            name: row.attachment_name!,
            mime: row.attachment_mime!,
            size: Number(row.attachment_size),
            sha256: row.attachment_sha256!,
            source: row.attachment_source!,
          },
    ...(row.content !== null && row.content !== undefined && row.deleted_at === null ? { content: JSON.parse(row.content) as Message['content'] } : {}),
    createdAt: toIso(Number(row.created_at)),
    editedAt: row.edited_at === null ? null : toIso(Number(row.edited_at)),
    deletedAt: row.deleted_at === null ? null : toIso(Number(row.deleted_at)),
  };
}

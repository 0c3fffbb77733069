import type { Message, MessageContent } from '../../../sdk/index.js';
import { downloadAttachment, PREVIEW_MAX_BYTES, previewOf } from '../files.js';

/**
 * A service's reply as it was meant to look: text, an image, an image+text card, a video or audio.
 * Media from the server's file store are the message's attachment, fetched with the session's token.
 */
export function RichReply(props: { content: MessageContent; message: Message }) {
  const c = props.content;
  const m = props.message;
  switch (c.type) {
    case 'text':
      return (
        <p class="text" dir="auto">
          {c.text}
        </p>
      );
    case 'card':
      return (
        <div class="card reply-card" data-testid="reply-card">
          {c.imageUrl && <img class="card-image" src={c.imageUrl} alt="" loading="lazy" />}
          <p class="card-title" dir="auto">
            {c.url ? (
              <a href={c.url} target="_blank" rel="noopener noreferrer">
                {c.title}
              </a>
            ) : (
              c.title
            )}
          </p>
          {c.description && (
            <p class="card-description" dir="auto">
              {c.description}
            </p>
          )}
        </div>
      );
    default: {
      const stored = !('url' in c);
      // Too big to fetch for showing inline: offered for download instead.
      if (stored && (!m.attachment || m.attachment.size > PREVIEW_MAX_BYTES)) {
        return (
          <p class="text" dir="auto">
            {c.caption}{' '}
            <button type="button" class="secondary small" onClick={() => void downloadAttachment(m)}>
              Download {c.type}
            </button>
          </p>
        );
      }
      // null while it loads: the element waits without a source.
      const src = 'url' in c ? c.url : previewOf(m) || undefined;
      return (
        <figure class="media" data-testid={`reply-${c.type}`}>
          {c.type === 'image' ? (
            <img class="preview" src={src} alt={c.caption ?? 'Image'} loading="lazy" />
          ) : c.type === 'video' ? (
            <video class="preview" src={src} controls preload="metadata" aria-label={c.caption ?? 'Video'} />
          ) : (
            <audio src={src} controls preload="metadata" aria-label={c.caption ?? 'Audio'} />
          )}
          {c.caption && <figcaption dir="auto">{c.caption}</figcaption>}
        </figure>
      );
    }
  }
}

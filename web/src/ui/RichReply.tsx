import type { MessageContent } from '../../../sdk/index.js';

/** A service's reply as it was meant to look: text, an image, an image+text card, a video or audio. */
export function RichReply(props: { content: MessageContent }) {
  const c = props.content;
  switch (c.type) {
    case 'text':
      return (
        <p class="text" dir="auto">
          {c.text}
        </p>
      );
    case 'card':
      return (
        <div class="card" data-testid="reply-card">
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
    default:
      return (
        <figure class="media" data-testid={`reply-${c.type}`}>
          {c.type === 'image' ? (
            <img class="preview" src={c.url} alt={c.caption ?? 'Image'} loading="lazy" />
          ) : c.type === 'video' ? (
            <video class="preview" src={c.url} controls preload="metadata" aria-label={c.caption ?? 'Video'} />
          ) : (
            <audio src={c.url} controls preload="metadata" aria-label={c.caption ?? 'Audio'} />
          )}
          {c.caption && <figcaption dir="auto">{c.caption}</figcaption>}
        </figure>
      );
  }
}

import { shortTime } from '../format.js';
import { accountName, conversationTitle, directPeer, me, receiptSummary, sortedConversations, state, typingNames } from '../state.js';
import type { Conversation } from '../../../sdk/index.js';
import { Avatar, ConnectionBadge, Link } from './common.js';
import { Ticks } from './Ticks.js';
import { OffersNavLink } from './offers/entry.js';
import { OrdersNavLink } from './orders/entry.js';

export function Sidebar() {
  const s = state;
  const route = s.route;
  const current = route.name === 'chat' ? route.id : '';
  const list = sortedConversations();
  return (
    <aside class="sidebar" aria-label="Conversations">
      <header class="sidebar-head">
        <div class="me">
          <Avatar name={s.session!.me.displayName} size="small" />
          <span class="me-name" title={`@${s.session!.me.handle}`}>
            {s.session!.me.displayName}
          </span>
        </div>
        <ConnectionBadge />
      </header>
      <nav class="sidebar-nav" aria-label="Main">
        <Link href="/new" class="nav-link" aria-current={route.name === 'new' ? 'page' : undefined}>
          ＋ New chat
        </Link>
        <OffersNavLink />
        <OrdersNavLink />
        <Link href="/settings" class="nav-link" aria-current={route.name === 'settings' ? 'page' : undefined}>
          Settings
        </Link>
        {s.session!.me.isAdmin && (
          <Link href="/outbox" class="nav-link" aria-current={route.name === 'outbox' ? 'page' : undefined}>
            Outbox
          </Link>
        )}
      </nav>
      <h2 class="sr-only">Chats</h2>
      {!s.conversationsLoaded && s.conversationsError && (
        <p class="form-error" role="alert">
          {s.conversationsError}
        </p>
      )}
      {s.conversationsLoaded && list.length === 0 && (
        <p class="empty-list">
          No conversations yet. <Link href="/new">Start one</Link>.
        </p>
      )}
      <ul class="conv-list" data-testid="conversation-list" aria-busy={!s.conversationsLoaded}>
        {list.map((c) => (
          <ConversationItem key={c.id} conv={c} current={c.id === current} />
        ))}
      </ul>
    </aside>
  );
}

function ConversationItem(props: { conv: Conversation; current: boolean }) {
  const c = props.conv;
  const peer = directPeer(c);
  const online = peer ? state.presence.get(peer.id)?.status === 'online' : undefined;
  const title = conversationTitle(c);
  const typing = typingNames(c.id);
  const last = c.lastMessage;
  const mine = last?.senderId === me();
  const preview = typing.length
    ? `${c.kind === 'group' ? `${typing.join(', ')} ` : ''}typing…`
    : last
      ? `${mine ? 'You: ' : c.kind === 'group' ? `${accountName(last.senderId)}: ` : ''}${last.deletedAt ? 'Message deleted' : last.text || (last.attachment ? `File: ${last.attachment.name}` : '')}`
      : 'No messages yet';
  const label = `${title}${online ? ', online' : ''}${c.unreadCount ? `, ${c.unreadCount} unread` : ''}: ${preview}`;
  return (
    <li>
      <Link href={`/c/${c.id}`} class={`conv-item${props.current ? ' current' : ''}${c.unreadCount ? ' unread' : ''}`} aria-current={props.current ? 'page' : undefined} aria-label={label}>
        <Avatar name={title} online={online} />
        <span class="conv-text">
          <span class="conv-top">
            <span class="conv-title">{title}</span>
            {last && <time dateTime={last.createdAt}>{shortTime(last.createdAt)}</time>}
          </span>
          <span class="conv-bottom">
            <span class={`conv-preview${typing.length ? ' typing' : ''}`} dir="auto">
              {mine && last && !typing.length && <Ticks tick={receiptSummary(last).tick} />}
              {preview}
            </span>
            {c.unreadCount > 0 && (
              <span class="badge" data-testid="unread-count">
                {c.unreadCount}
              </span>
            )}
          </span>
        </span>
      </Link>
    </li>
  );
}

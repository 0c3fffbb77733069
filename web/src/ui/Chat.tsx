import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Message, MessageReceipts } from '../../../sdk/index.js';
import { clockTime, durationMs, fileSize, fullTime, humanDuration, lastSeen, parseDeadline } from '../format.js';
import { attachFiles, cancelFile, downloadAttachment, fileOptions, isImage, loadFileSettings, outgoing, pauseFile, PREVIEW_MAX_BYTES, previewOf, resumeFile, setSendVia, SOURCE_TEXT, type OutgoingFile } from '../files.js';
import {
  accountName,
  client,
  conversationTitle,
  deleteMessage,
  directPeer,
  discardPending,
  editMessage,
  errorText,
  findMessage,
  loadOlder,
  me,
  openChat,
  receiptSummary,
  retryPending,
  scrollRequest,
  sendAsSmsNow,
  sendMessage,
  sendTyping,
  state,
  toast,
  typingNames,
  type PendingMessage,
  type RecipientStatus,
  type SendOptions,
} from '../state.js';
import { Avatar, Link, Modal, PaperclipIcon } from './common.js';
import { GroupMembers } from './Members.js';
import { serviceOf, sendToService } from '../services.js';
import { RichReply } from './RichReply.js';
import { PendingServiceRequests, RequestStatus, ServiceBar } from './ServiceChat.js';
import { Ticks } from './Ticks.js';

// Send options stay as chosen for the rest of the session, like a sticky composer setting.
let stickyOptions: SendOptions & { deadline: string; custom: string } = { readReceipt: false, withinMs: null, priority: 'normal', fallback: 'auto', deadline: '', custom: '' };

export function ChatView(props: { id: string }) {
  const id = props.id;
  const conv = state.conversations.get(id);
  const chat = state.chats.get(id);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [showInfo, setShowInfo] = useState(false);
  const [receiptsFor, setReceiptsFor] = useState<Message | null>(null);
  const [dropping, setDropping] = useState(false);
  const composer = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    void openChat(id);
    composer.current?.focus();
  }, [id]);

  if (!conv) {
    return (
      <section class="chat">
        <header class="chat-head">
          <Link href="/" class="back" aria-label="Back to chats">
            ←
          </Link>
          <h2 tabIndex={-1}>{chat?.error ? 'Conversation unavailable' : 'Loading…'}</h2>
        </header>
        {chat?.error && <p class="form-error" role="alert">{chat.error}</p>}
      </section>
    );
  }

  const title = conversationTitle(conv);
  const peer = directPeer(conv);
  const presence = peer ? state.presence.get(peer.id) : undefined;
  const typing = typingNames(id);
  const subtitle = typing.length
    ? conv.kind === 'group'
      ? `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`
      : 'typing…'
    : peer
      ? presence?.status === 'online'
        ? 'online'
        : presence?.lastSeenAt
          ? `last seen ${lastSeen(presence.lastSeenAt)}`
          : `@${peer.handle}`
      : `${conv.members.length} members`;

  const startEdit = (m: Message) => {
    setReplyTo(null);
    setEditing(m);
    composer.current?.focus();
  };
  const startReply = (m: Message) => {
    setEditing(null);
    setReplyTo(m);
    composer.current?.focus();
  };

  return (
    <section
      class={`chat${dropping ? ' dropping' : ''}`}
      aria-label={`Chat with ${title}`}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={(e) => {
        // Leaving for a child element is not leaving the chat.
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(e) => {
        setDropping(false);
        if (!e.dataTransfer?.files.length) return;
        e.preventDefault();
        attachFiles(id, e.dataTransfer.files);
      }}
    >
      {dropping && (
        <p class="drop-hint" aria-hidden="true">
          Drop to send to {title}
        </p>
      )}
      <header class="chat-head">
        <Link href="/" class="back" aria-label="Back to chats">
          ←
        </Link>
        <Avatar name={title} online={peer ? presence?.status === 'online' : undefined} />
        <div class="chat-title">
          <h2 tabIndex={-1}>{title}</h2>
          <p class={`chat-sub${typing.length ? ' typing' : ''}`} data-testid={typing.length ? 'typing' : 'chat-subtitle'}>
            {subtitle}
          </p>
        </div>
        <button type="button" class="secondary" onClick={() => setShowInfo(true)} aria-haspopup="dialog">
          {conv.kind === 'group' ? 'Members' : 'Info'}
        </button>
      </header>
      <MessageList conv={conv} onReply={startReply} onEdit={startEdit} onReceipts={setReceiptsFor} />
      <Composer conv={conv} inputRef={composer} replyTo={replyTo} editing={editing} onDone={() => (setReplyTo(null), setEditing(null))} onEditLast={startEdit} />
      <ServiceBar conv={conv} />
      {showInfo &&
        (conv.kind === 'group' ? (
          <Modal title={`${title}: members`} onClose={() => setShowInfo(false)}>
            <GroupMembers conv={conv} />
          </Modal>
        ) : (
          <Modal title={title} onClose={() => setShowInfo(false)}>
            <p>
              @{peer?.handle} · {presence?.status === 'online' ? 'online' : presence?.lastSeenAt ? `last seen ${fullTime(presence.lastSeenAt)}` : 'offline'}
            </p>
          </Modal>
        ))}
      {receiptsFor && <ReceiptsDialog message={receiptsFor} onClose={() => setReceiptsFor(null)} />}
    </section>
  );
}

function MessageList(props: { conv: Conversation; onReply: (m: Message) => void; onEdit: (m: Message) => void; onReceipts: (m: Message) => void }) {
  const { conv } = props;
  const chat = state.chats.get(conv.id);
  const messages = chat?.messages ?? [];
  const pending = [...state.pending.values()].filter((p) => p.conversationId === conv.id);
  const files = [...outgoing.values()].filter((f) => f.conversationId === conv.id);
  const listRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const fromBottom = useRef(0);
  const firstId = useRef<string | undefined>(undefined);
  const [showJump, setShowJump] = useState(false);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    setShowJump(!atBottom.current);
    if (el.scrollTop < 200 && chat?.prevCursor) void loadOlder(conv.id);
  };

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const first = messages[0]?.id;
    if (scrollRequest.conversationId === conv.id) {
      scrollRequest.conversationId = '';
      atBottom.current = true;
      setShowJump(false);
    }
    if (firstId.current && first !== firstId.current && !atBottom.current) {
      // Older messages were put above: keep what the reader was looking at in place.
      el.scrollTop = el.scrollHeight - fromBottom.current;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    firstId.current = first;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    // A short first page leaves nothing to scroll: fetch older ones until there is.
    if (chat?.loaded && chat.prevCursor && !chat.loadingOlder && el.scrollHeight <= el.clientHeight + 200) void loadOlder(conv.id);
  });

  const jump = () => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setShowJump(false);
  };

  return (
    <div class="messages-wrap">
      <div class="messages" ref={listRef} onScroll={onScroll} role="log" aria-live="polite" aria-relevant="additions" aria-busy={!!chat?.loadingOlder} aria-label={`Messages with ${conversationTitle(conv)}`} tabIndex={0} data-testid="messages">
        {chat?.loaded && !chat.prevCursor && <p class="history-start">This is the beginning of the conversation.</p>}
        {chat?.loadingOlder && (
          <p class="history-start" aria-busy="true">
            Loading older messages…
          </p>
        )}
        {!chat?.loaded && !chat?.error && <p class="history-start">Loading…</p>}
        {chat?.error && (
          <p class="form-error" role="alert">
            {chat.error}
          </p>
        )}
        {messages.map((m) => (
          <MessageItem key={m.id} m={m} conv={conv} onReply={props.onReply} onEdit={props.onEdit} onReceipts={props.onReceipts} />
        ))}
        {pending.map((p) => (
          <PendingItem key={p.clientId} p={p} />
        ))}
        {files.map((f) => (
          <OutgoingFileItem key={f.clientId} f={f} />
        ))}
        <PendingServiceRequests conversationId={conv.id} messages={messages} />
      </div>
      {showJump && (
        <button type="button" class="jump" onClick={jump}>
          ↓ Latest
        </button>
      )}
    </div>
  );
}

const SKIP_REASON: Record<string, string> = {
  rate_limited: 'rate limit reached',
  daily_cap: 'daily cap reached',
  no_verified_contact: 'no verified number',
  read_meanwhile: 'read meanwhile',
};

/** What the deadlines and fallbacks did for one recipient: "Unread after 5 min · SMS sent". */
export function recipientStatus(m: Message, r: RecipientStatus): string {
  const parts: string[] = [];
  if (r.unread) {
    const ms = durationMs(r.unread.kind === 'read' ? m.options.receipt.within : m.options.receipt.deliveredWithin) ?? Date.parse(r.unread.deadline) - Date.parse(m.createdAt);
    parts.push(r.unread.kind === 'read' ? `Unread after ${humanDuration(ms)}` : `Not delivered after ${humanDuration(ms)}`);
  }
  const f = r.fallback;
  if (f) {
    const ch = f.channel === 'email' ? 'E-mail' : 'SMS';
    if (f.state === 'requested') parts.push(`${ch} requested`);
    else if (f.state === 'sent') parts.push(`${ch} sent`);
    else if (f.state === 'delivered') parts.push(`${ch} delivered`);
    else if (f.state === 'failed') parts.push(`${ch} failed${f.reason ? ` (${f.reason})` : ''}`);
    else if (f.state === 'skipped') parts.push(`${ch} not sent: ${SKIP_REASON[f.reason ?? ''] ?? f.reason ?? 'skipped'}`);
    else if (f.state === 'deferred') parts.push(`${ch} at ${f.until ? clockTime(f.until) : 'the end of quiet hours'}`);
  } else if (r.unread?.fallback === 'available') {
    parts.push('SMS available');
  }
  return parts.join(' · ');
}

/** One line per recipient with news; in groups each line names the recipient. */
export function statusLines(m: Message, conv: Conversation): string[] {
  const st = state.statuses.get(m.id);
  if (!st) return [];
  const lines: string[] = [];
  for (const [accountId, r] of Object.entries(st)) {
    const text = recipientStatus(m, r);
    if (text) lines.push(`${conv.kind === 'group' ? `${accountName(accountId)}: ` : ''}${text}`);
  }
  return lines;
}

function MessageItem(props: { m: Message; conv: Conversation; onReply: (m: Message) => void; onEdit: (m: Message) => void; onReceipts: (m: Message) => void }) {
  const { m, conv } = props;
  const mine = m.senderId === me();
  const deleted = !!m.deletedAt;
  const [menu, setMenu] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const reply = m.replyTo ? findMessage(m.replyTo) : null;
  const summary = mine ? receiptSummary(m) : null;
  const lines = mine ? statusLines(m, conv) : [];
  const options = m.options;
  const flags = [options.priority !== 'normal' ? options.priority : '', options.receipt.within ? `read within ${humanDuration(durationMs(options.receipt.within))}` : options.receipt.read ? 'read receipt asked' : ''].filter(Boolean);

  const actions: { label: string; run: () => void }[] = [];
  if (!deleted) actions.push({ label: 'Reply', run: () => props.onReply(m) });
  if (mine && !deleted) {
    actions.push({ label: 'Edit', run: () => props.onEdit(m) });
    actions.push({ label: conv.kind === 'group' ? 'Read by…' : 'Receipt details', run: () => props.onReceipts(m) });
    if (summary?.tick !== 'read') actions.push({ label: 'Send as SMS now', run: () => void sendAsSmsNow(m) });
    actions.push({
      label: 'Delete',
      run: () => {
        if (window.confirm('Delete this message for everyone?')) deleteMessage(m).catch((err) => toast(errorText(err), 'error'));
      },
    });
  }

  return (
    <article class={`msg ${mine ? 'mine' : 'theirs'}${deleted ? ' deleted' : ''}`} data-message-id={m.id} data-seq={m.seq} aria-label={`${mine ? 'You' : accountName(m.senderId)}, ${clockTime(m.createdAt)}`}>
      <div class="bubble">
        {!mine && conv.kind === 'group' && <p class="sender">{accountName(m.senderId)}</p>}
        {m.replyTo && (
          <blockquote class="quote">
            <span class="quote-who">{reply ? accountName(reply.senderId) : 'Reply'}</span>
            <span class="quote-text" dir="auto">
              {reply ? (reply.deletedAt ? 'Message deleted' : reply.text.slice(0, 140)) : '…'}
            </span>
          </blockquote>
        )}
        {m.attachment && !m.content && !deleted && <AttachmentView m={m} mine={mine} />}
        {m.content && !deleted ? (
          <RichReply content={m.content} message={m} />
        ) : (
          (deleted || m.text || !m.attachment) && (
            <p class="text" dir="auto">
              {deleted ? <em>This message was deleted.</em> : m.text}
            </p>
          )
        )}
        <p class="meta">
          {flags.length > 0 && !deleted && <span class="flags">{flags.join(' · ')}</span>}
          {m.editedAt && !deleted && <span class="edited">edited</span>}
          <time dateTime={m.createdAt} title={fullTime(m.createdAt)}>
            {clockTime(m.createdAt)}
          </time>
          {summary && !deleted && (
            <>
              {conv.kind === 'group' && summary.total > 0 && (
                <button type="button" class="link-button read-count" onClick={() => props.onReceipts(m)}>
                  Read by {summary.read} of {summary.total}
                </button>
              )}
              <Ticks tick={summary.tick} />
            </>
          )}
        </p>
        {mine && <RequestStatus clientId={m.clientId} />}
        {lines.length > 0 && !deleted && (
          <ul class="statuses" data-testid="message-status">
            {lines.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
      </div>
      {actions.length > 0 && (
        <div class="msg-actions">
          <button type="button" ref={trigger} class="icon-button more" aria-haspopup="menu" aria-expanded={menu} aria-label="Message actions" onClick={() => setMenu(!menu)}>
            ⋯
          </button>
          {menu && (
            <ActionMenu
              actions={actions}
              onClose={(refocus) => {
                setMenu(false);
                if (refocus) trigger.current?.focus();
              }}
            />
          )}
        </div>
      )}
    </article>
  );
}

/** A small menu: arrow keys move, Enter picks, Escape or Tab closes. */
function ActionMenu(props: { actions: { label: string; run: () => void }[]; onClose: (refocus: boolean) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const outside = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) props.onClose(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, []);
  const onKeyDown = (e: KeyboardEvent) => {
    const items = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      props.onClose(true);
    } else if (e.key === 'Tab') {
      props.onClose(false);
    }
  };
  return (
    <div class="menu" role="menu" ref={ref} onKeyDown={onKeyDown}>
      {props.actions.map((a) => (
        <button
          type="button"
          role="menuitem"
          key={a.label}
          onClick={() => {
            props.onClose(a.label !== 'Reply' && a.label !== 'Edit');
            a.run();
          }}
        >
          {a.label}
        </button>
      ))}
    </div>
  );
}

function PendingItem(props: { p: PendingMessage }) {
  const p = props.p;
  return (
    <article class="msg mine pending" data-client-id={p.clientId} aria-label="You, not sent yet">
      <div class="bubble">
        <p class="text" dir="auto">
          {p.body.text}
        </p>
        <p class="meta">
          <time dateTime={p.createdAt}>{clockTime(p.createdAt)}</time>
          <Ticks tick={p.status} />
        </p>
        {p.status === 'waiting' && <p class="statuses">Waiting for the network; it goes out by itself.</p>}
        {p.status === 'failed' && (
          <p class="statuses failed" role="alert">
            Not sent: {p.error}{' '}
            <button type="button" class="link-button" onClick={() => retryPending(p.clientId)}>
              Retry
            </button>{' '}
            <button type="button" class="link-button" onClick={() => discardPending(p.clientId)}>
              Discard
            </button>
          </p>
        )}
      </div>
    </article>
  );
}

function AttachmentView(props: { m: Message; mine: boolean }) {
  const { m } = props;
  const a = m.attachment!;
  const preview = isImage(a.mime) && a.size <= PREVIEW_MAX_BYTES ? previewOf(m) : undefined;
  return (
    <div class="attachment" data-testid="attachment">
      {preview ? (
        <img class="preview" src={preview} alt={a.name} data-testid="attachment-preview" />
      ) : (
        preview === null && (
          <div class="preview placeholder" aria-hidden="true">
            …
          </div>
        )
      )}
      <div class="file-line">
        <PaperclipIcon />
        <span class="file-name" dir="auto">
          {a.name}
        </span>
        <span class="hint">{fileSize(a.size)}</span>
        <button type="button" class="secondary small" onClick={() => void downloadAttachment(m)} aria-label={`Download ${a.name}`}>
          Download
        </button>
      </div>
      {props.mine && (
        <p class={`source${a.source === 'uploaded' ? '' : ' instant'}`} data-testid="attachment-source" data-source={a.source}>
          {SOURCE_TEXT[a.source]}
        </p>
      )}
    </div>
  );
}

const PHASE_TEXT: Record<OutgoingFile['phase'], string> = {
  hashing: 'Hashing',
  sending: 'Checking the server',
  uploading: 'Uploading',
  paused: 'Paused',
  waiting: 'Waiting for the network',
  failed: 'Not sent',
};

function OutgoingFileItem(props: { f: OutgoingFile }) {
  const f = props.f;
  const size = f.file.size;
  const percent = Math.floor((f.done / size) * 100);
  const measured = f.phase === 'hashing' || f.phase === 'uploading' || f.phase === 'paused' || f.phase === 'waiting';
  const status = `${PHASE_TEXT[f.phase]}${measured ? ` ${percent}%` : '…'}`;
  return (
    <article class="msg mine pending" data-client-id={f.clientId} data-testid="outgoing-file" data-phase={f.phase} aria-label={`You, sending ${f.file.name}`}>
      <div class="bubble attachment">
        {f.previewUrl && <img class="preview" src={f.previewUrl} alt={f.file.name} />}
        <div class="file-line">
          <PaperclipIcon />
          <span class="file-name" dir="auto">
            {f.file.name}
          </span>
          <span class="hint">{fileSize(size)}</span>
        </div>
        {f.phase !== 'failed' && (
          <label class="transfer-progress">
            <span data-testid="transfer-status">{status}</span>
            {/* An indeterminate bar while only the server is thinking. */}
            <progress max={size} value={f.phase === 'sending' ? undefined : f.done} />
          </label>
        )}
        {f.phase === 'failed' && (
          <p class="statuses failed" role="alert">
            Not sent: {f.error}
          </p>
        )}
        <p class="file-actions">
          {(f.phase === 'uploading' || f.phase === 'waiting') && (
            <button type="button" class="link-button" onClick={() => pauseFile(f.clientId)}>
              Pause
            </button>
          )}
          {(f.phase === 'paused' || f.phase === 'failed') && (
            <button type="button" class="link-button" onClick={() => resumeFile(f.clientId)}>
              {f.phase === 'paused' ? 'Resume' : 'Retry'}
            </button>
          )}
          <button type="button" class="link-button" onClick={() => cancelFile(f.clientId)}>
            Cancel
          </button>
        </p>
      </div>
    </article>
  );
}

const DEADLINES: [string, string][] = [
  ['', 'No deadline'],
  ['10000', '10 seconds'],
  ['60000', '1 minute'],
  ['300000', '5 minutes'],
  ['900000', '15 minutes'],
  ['3600000', '1 hour'],
  ['86400000', '1 day'],
  ['custom', 'Custom…'],
];

function Composer(props: { conv: Conversation; inputRef: { current: HTMLTextAreaElement | null }; replyTo: Message | null; editing: Message | null; onDone: () => void; onEditLast: (m: Message) => void }) {
  const { conv, editing, replyTo } = props;
  const [text, setText] = useState('');
  const [opts, setOpts] = useState(stickyOptions);
  const [showOptions, setShowOptions] = useState(false);
  const [error, setError] = useState('');
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (editing) setText(editing.text);
  }, [editing?.id]);
  useEffect(() => () => sendTyping(conv.id, false), [conv.id]);
  useEffect(loadFileSettings, []);

  const update = (patch: Partial<typeof opts>) => {
    const next = { ...opts, ...patch };
    stickyOptions = next;
    setOpts(next);
  };

  const stopTyping = () => {
    clearTimeout(typingTimer.current);
    sendTyping(conv.id, false);
  };

  const submit = async () => {
    const value = text.trim();
    if (!value) return;
    setError('');
    if (editing) {
      try {
        await editMessage(editing.id, value);
        setText('');
        props.onDone();
      } catch (err) {
        setError(errorText(err));
      }
      return;
    }
    let withinMs: number | null = null;
    if (opts.deadline === 'custom') {
      withinMs = parseDeadline(opts.custom);
      if (withinMs === null) {
        setError('Write the deadline like 90s, 5m, 2h or PT5M.');
        setShowOptions(true);
        return;
      }
    } else if (opts.deadline) {
      withinMs = Number(opts.deadline);
    }
    const service = serviceOf(conv);
    if (service) sendToService(conv.id, service.id, value);
    else sendMessage(conv.id, value, { readReceipt: opts.readReceipt, withinMs, priority: opts.priority, fallback: opts.fallback }, replyTo?.id ?? null);
    setText('');
    stopTyping();
    props.onDone();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      e.preventDefault();
      setText('');
      props.onDone();
    } else if (e.key === 'ArrowUp' && !text) {
      const mine = [...(state.chats.get(conv.id)?.messages ?? [])].reverse().find((m) => m.senderId === me() && !m.deletedAt);
      if (mine) {
        e.preventDefault();
        props.onEditLast(mine);
      }
    }
  };

  const deadlineLabel = opts.deadline === 'custom' ? (parseDeadline(opts.custom) ? humanDuration(parseDeadline(opts.custom)) : '') : opts.deadline ? humanDuration(Number(opts.deadline)) : '';
  const chips = [opts.readReceipt || deadlineLabel ? (deadlineLabel ? `unread alert after ${deadlineLabel}` : 'read receipt') : '', opts.priority !== 'normal' ? opts.priority : '', opts.fallback !== 'auto' ? `SMS: ${opts.fallback}` : '', fileOptions.central && fileOptions.via === 'private' ? 'files: private server only' : ''].filter(Boolean);

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {(replyTo || editing) && (
        <div class="composer-context">
          <span>
            {editing ? 'Editing your message' : `Replying to ${accountName(replyTo!.senderId)}: `}
            {replyTo && <q dir="auto">{replyTo.text.slice(0, 80)}</q>}
          </span>
          <button type="button" class="icon-button" aria-label={editing ? 'Cancel editing' : 'Cancel reply'} onClick={() => (setText(''), props.onDone())}>
            ✕
          </button>
        </div>
      )}
      {showOptions && !editing && (
        <fieldset class="send-options" id="send-options">
          <legend>Send options</legend>
          <label class="check">
            <input type="checkbox" checked={opts.readReceipt || !!opts.deadline} disabled={!!opts.deadline} onChange={(e) => update({ readReceipt: e.currentTarget.checked })} />
            Ask for a read receipt
          </label>
          <label>
            Tell me if unread after
            <select value={opts.deadline} onChange={(e) => update({ deadline: e.currentTarget.value, readReceipt: opts.readReceipt || !!e.currentTarget.value })}>
              {DEADLINES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          {opts.deadline === 'custom' && (
            <label>
              Custom deadline
              <input value={opts.custom} placeholder="e.g. 90s, 5m, 2h, PT5M" onInput={(e) => update({ custom: e.currentTarget.value })} />
            </label>
          )}
          <label>
            Priority
            <select value={opts.priority} onChange={(e) => update({ priority: e.currentTarget.value as SendOptions['priority'] })}>
              <option value="low">Low</option>
              <option value="normal">Normal</option>
              <option value="high">High</option>
              <option value="urgent">Urgent</option>
            </select>
          </label>
          <label>
            SMS fallback
            <select value={opts.fallback} onChange={(e) => update({ fallback: e.currentTarget.value as SendOptions['fallback'] })}>
              <option value="auto">Automatic</option>
              <option value="ask">Only when I ask</option>
              <option value="never">Never</option>
            </select>
          </label>
          {fileOptions.central && (
            <fieldset class="send-via">
              <legend>Send files through</legend>
              <label class="check">
                <input type="radio" name="send-via" value="central" checked={fileOptions.via === 'central'} onChange={() => setSendVia('central')} />
                Central server
                <span class="hint">also asks the central server: files it already holds go instantly</span>
              </label>
              <label class="check">
                <input type="radio" name="send-via" value="private" checked={fileOptions.via === 'private'} onChange={() => setSendVia('private')} />
                Private server
                <span class="hint">only this server looks: nothing about the file leaves it</span>
              </label>
            </fieldset>
          )}
          <p class="hint">When the deadline passes unread, you are told. Urgent messages (by default) then also go to the recipient's verified phone by SMS; otherwise use "Send as SMS now".</p>
        </fieldset>
      )}
      {chips.length > 0 && !editing && (
        <p class="chips" aria-label="Active send options">
          {chips.map((c) => (
            <span class="chip" key={c}>
              {c}
            </span>
          ))}
        </p>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="composer-row">
        <button type="button" class="icon-button options-toggle" aria-expanded={showOptions} aria-controls="send-options" aria-label="Send options" title="Send options" onClick={() => setShowOptions(!showOptions)} disabled={!!editing}>
          ⚙
        </button>
        <button type="button" class="icon-button" aria-label="Attach files" title="Attach files" onClick={() => fileInput.current?.click()} disabled={!!editing}>
          <PaperclipIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          data-testid="attach-input"
          onChange={(e) => {
            const input = e.currentTarget;
            if (input.files?.length) attachFiles(conv.id, input.files);
            // Picking the same file again must fire change again.
            input.value = '';
          }}
        />
        <label class="sr-only" for="composer-input">
          Message to {conversationTitle(conv)}
        </label>
        <textarea
          id="composer-input"
          ref={props.inputRef}
          rows={1}
          value={text}
          placeholder={editing ? 'Edit message' : 'Write a message'}
          onInput={(e) => {
            const value = e.currentTarget.value;
            setText(value);
            clearTimeout(typingTimer.current);
            if (value.trim()) {
              sendTyping(conv.id, true);
              typingTimer.current = setTimeout(() => sendTyping(conv.id, false), 4000);
            } else {
              sendTyping(conv.id, false);
            }
          }}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            if (!e.clipboardData?.files.length || editing) return;
            e.preventDefault();
            attachFiles(conv.id, e.clipboardData.files);
          }}
          onBlur={stopTyping}
          maxLength={10000}
          dir="auto"
        />
        <button type="submit" class="primary send" disabled={!text.trim()}>
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}

function ReceiptsDialog(props: { message: Message; onClose: () => void }) {
  const [data, setData] = useState<MessageReceipts | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    client.receipts(props.message.id).then(setData, (err) => setError(errorText(err)));
  }, [props.message.id]);
  const label = { sent: 'Sent', delivered: 'Delivered', read: 'Read' } as const;
  return (
    <Modal title="Message receipts" onClose={props.onClose}>
      <p class="quote-text" dir="auto">
        “{props.message.text.slice(0, 140)}”
      </p>
      {error && <p class="form-error">{error}</p>}
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && (
        <>
          <p>
            Read by {data.counts.read} of {data.recipients.length}; delivered to {data.counts.delivered + data.counts.read}.
          </p>
          <ul class="receipt-list" data-testid="receipt-list">
            {data.recipients.map((r) => {
              const delivered = r.devices.filter((d) => d.delivered).length;
              const status = state.statuses.get(props.message.id)?.[r.accountId];
              const extra = status ? recipientStatus(props.message, status) : '';
              return (
                <li key={r.accountId}>
                  <span class="receipt-name">{accountName(r.accountId)}</span>
                  <span class={`receipt-state state-${r.state}`}>{label[r.state]}</span>
                  <span class="hint">
                    {delivered} of {r.devices.length} device{r.devices.length === 1 ? '' : 's'}
                    {extra && ` · ${extra}`}
                  </span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </Modal>
  );
}

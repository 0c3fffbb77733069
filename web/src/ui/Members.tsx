import { useState } from 'preact/hooks';
import type { Conversation } from '../../../sdk/index.js';
import { addMember, leaveGroup, me, removeMember, renameGroup, setRole, state } from '../state.js';
import { FormError, useAction } from './common.js';

/** Group members: everyone sees the list and can leave; owners rename, add, remove and change roles. */
export function GroupMembers(props: { conv: Conversation }) {
  const { conv } = props;
  const members = state.chats.get(conv.id)?.members ?? [];
  const owner = conv.role === 'owner';
  const [title, setTitle] = useState(conv.title ?? '');
  const [handle, setHandle] = useState('');
  const [role, setNewRole] = useState<'member' | 'owner'>('member');
  const rename = useAction(() => renameGroup(conv.id, title));
  const add = useAction(async () => {
    await addMember(conv.id, handle, role);
    setHandle('');
  });
  const change = useAction((fn: () => Promise<void>) => fn());
  const leave = useAction(() => leaveGroup(conv.id));

  return (
    <div class="members">
      {owner && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void rename.run();
          }}
        >
          <label>
            Group name
            <input value={title} required maxLength={100} onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <button type="submit" class="secondary" disabled={rename.busy || title.trim() === (conv.title ?? '')}>
            Rename
          </button>
          <FormError error={rename.error} />
        </form>
      )}
      <h3>{members.length} members</h3>
      <ul class="member-list" data-testid="member-list">
        {members.map((m) => (
          <li key={m.accountId}>
            <span class="member-name">
              {m.displayName} <span class="hint">@{m.handle}</span>
              {m.accountId === me() && <span class="hint"> (you)</span>}
            </span>
            <span class={`role role-${m.role}`}>{m.role}</span>
            {owner && m.accountId !== me() && (
              <span class="member-actions">
                <button type="button" class="link-button" disabled={change.busy} onClick={() => void change.run(() => setRole(conv.id, m.accountId, m.role === 'owner' ? 'member' : 'owner'))}>
                  {m.role === 'owner' ? 'Make member' : 'Make owner'}
                </button>
                <button type="button" class="link-button danger" disabled={change.busy} aria-label={`Remove ${m.displayName}`} onClick={() => window.confirm(`Remove ${m.displayName} from the group?`) && void change.run(() => removeMember(conv.id, m.accountId))}>
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      <FormError error={change.error} />
      {owner && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <label>
            Add by handle
            <input value={handle} required placeholder="e.g. bob" autoCapitalize="none" spellcheck={false} onInput={(e) => setHandle(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setNewRole(e.currentTarget.value as 'member' | 'owner')}>
              <option value="member">Member</option>
              <option value="owner">Owner</option>
            </select>
          </label>
          <button type="submit" class="secondary" disabled={add.busy}>
            Add
          </button>
          <FormError error={add.error} />
        </form>
      )}
      <p>
        <button type="button" class="danger" disabled={leave.busy} onClick={() => window.confirm('Leave this group?') && void leave.run()}>
          Leave group
        </button>
      </p>
      <FormError error={leave.error} />
    </div>
  );
}

import { useEffect, useState } from 'preact/hooks';
import type { Device, OutboxItem } from '../../../sdk/index.js';
import { fullTime } from '../format.js';
import { client, createGroup, errorText, setMe, signOut, startDirect, state, toast, updateMe } from '../state.js';
import { FormError, Link, useAction } from './common.js';
import { ServiceDirectory } from './ServiceDirectory.js';

function PageHead(props: { title: string }) {
  return (
    <header class="page-head">
      <Link href="/" class="back" aria-label="Back to chats">
        ←
      </Link>
      <h2 tabIndex={-1}>{props.title}</h2>
    </header>
  );
}

export function NewChat() {
  const [handle, setHandle] = useState('');
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const direct = useAction(() => startDirect(handle));
  const group = useAction(() =>
    createGroup(
      title,
      members
        .split(/[\s,]+/)
        .map((h) => h.replace(/^@/, ''))
        .filter(Boolean),
    ),
  );
  return (
    <section class="page">
      <PageHead title="New chat" />
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void direct.run();
        }}
      >
        <h3>Direct message</h3>
        <label>
          Their handle
          <input name="handle" value={handle} required placeholder="e.g. bob" autoCapitalize="none" spellcheck={false} onInput={(e) => setHandle(e.currentTarget.value)} />
        </label>
        <FormError error={direct.error} />
        <button type="submit" class="primary" disabled={direct.busy}>
          Start chat
        </button>
      </form>
      <ServiceDirectory />
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void group.run();
        }}
      >
        <h3>Group</h3>
        <label>
          Group name
          <input name="title" value={title} required maxLength={100} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <label>
          Members
          <input name="members" value={members} placeholder="handles, separated by commas" autoCapitalize="none" spellcheck={false} onInput={(e) => setMembers(e.currentTarget.value)} aria-describedby="members-hint" />
        </label>
        <p class="hint" id="members-hint">
          You become the group's owner. You can add people later too.
        </p>
        <FormError error={group.error} />
        <button type="submit" class="primary" disabled={group.busy}>
          Create group
        </button>
      </form>
    </section>
  );
}

export function Settings() {
  const me = state.session!.me;
  return (
    <section class="page">
      <PageHead title="Settings" />
      <Profile key={me.id} />
      <Phone />
      <Privacy />
      <QuietHours />
      <Devices />
      <div class="card">
        <h3>Session</h3>
        <p>
          Signed in as <strong>{me.displayName}</strong> (@{me.handle}){me.isAdmin ? ', administrator' : ''}.
        </p>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Log out
        </button>
      </div>
    </section>
  );
}

function Profile() {
  const me = state.session!.me;
  const [name, setName] = useState(me.displayName);
  const save = useAction(async () => {
    await updateMe({ displayName: name.trim() });
    toast('Profile saved.');
  });
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h3>Profile</h3>
      <label>
        Display name
        <input value={name} required maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <FormError error={save.error} />
      <button type="submit" class="secondary" disabled={save.busy || name.trim() === me.displayName}>
        Save
      </button>
    </form>
  );
}

function Phone() {
  const me = state.session!.me;
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState<{ phone: string; expiresAt: string } | null>(null);
  const bind = useAction(async () => {
    setSent(await client.bindPhone(phone));
    setMe(await client.me());
  });
  const verify = useAction(async () => {
    setMe(await client.verifyPhone(code.trim()));
    setSent(null);
    setCode('');
    toast('Phone number verified.');
  });
  return (
    <div class="card" id="phone">
      <h3>Phone for SMS fallback</h3>
      <p data-testid="phone-status">
        {me.phone ? (
          <>
            {me.phone} — {me.phoneVerified ? <strong class="ok">verified</strong> : <strong class="warn">not verified</strong>}
          </>
        ) : (
          'No phone number yet. With a verified number, urgent messages you miss can reach you by SMS.'
        )}
      </p>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void bind.run();
        }}
      >
        <label>
          Mobile number
          <input type="tel" name="phone" autoComplete="tel" required placeholder="+4915112345678" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
        </label>
        <button type="submit" class="secondary" disabled={bind.busy}>
          Send code
        </button>
        <FormError error={bind.error} />
      </form>
      {(sent || (me.phone && !me.phoneVerified)) && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void verify.run();
          }}
        >
          <p class="hint">
            A 6-digit code went to {sent?.phone ?? me.phone} by SMS{sent ? `; it expires at ${fullTime(sent.expiresAt)}` : ''}. In the default install SMS land in the{' '}
            {me.isAdmin ? <Link href="/outbox">Outbox</Link> : 'Outbox'}, which administrators can read.
          </p>
          <label>
            Code
            <input name="code" inputMode="numeric" autoComplete="one-time-code" required pattern="[0-9]{4,8}" value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary" disabled={verify.busy}>
            Verify
          </button>
          <FormError error={verify.error} />
        </form>
      )}
    </div>
  );
}

function Privacy() {
  const me = state.session!.me;
  const save = useAction((patch: Parameters<typeof updateMe>[0]) => updateMe(patch));
  return (
    <form class="card" onSubmit={(e) => e.preventDefault()}>
      <h3>Privacy and fallback</h3>
      <fieldset>
        <legend>Read receipts</legend>
        <label class="check">
          <input type="radio" name="readReceipts" checked={me.privacy.readReceipts === 'public'} onChange={() => void save.run({ privacy: { ...me.privacy, readReceipts: 'public' } })} />
          Tell senders when I have read their messages
        </label>
        <label class="check">
          <input type="radio" name="readReceipts" checked={me.privacy.readReceipts === 'private'} onChange={() => void save.run({ privacy: { ...me.privacy, readReceipts: 'private' } })} />
          Keep my reading private (senders see delivered at most)
        </label>
      </fieldset>
      <fieldset>
        <legend>Last seen</legend>
        <label class="check">
          <input type="radio" name="lastSeen" checked={me.privacy.lastSeen === 'visible'} onChange={() => void save.run({ privacy: { ...me.privacy, lastSeen: 'visible' } })} />
          Show when I was last online
        </label>
        <label class="check">
          <input type="radio" name="lastSeen" checked={me.privacy.lastSeen === 'hidden'} onChange={() => void save.run({ privacy: { ...me.privacy, lastSeen: 'hidden' } })} />
          Hide it
        </label>
      </fieldset>
      <label>
        My messages go out by SMS automatically from priority
        <select value={me.fallback.minPriority} onChange={(e) => void save.run({ fallback: { ...me.fallback, minPriority: e.currentTarget.value as typeof me.fallback.minPriority } })}>
          <option value="low">Low (every message with a deadline)</option>
          <option value="normal">Normal</option>
          <option value="high">High</option>
          <option value="urgent">Urgent (default)</option>
          <option value="never">Never automatically</option>
        </select>
      </label>
      <label>
        I prefer to receive fallbacks by
        <select value={me.fallback.channel} onChange={(e) => void save.run({ fallback: { ...me.fallback, channel: e.currentTarget.value as 'sms' | 'email' } })}>
          <option value="sms">SMS</option>
          <option value="email">E-mail</option>
        </select>
      </label>
      <FormError error={save.error} />
    </form>
  );
}

function QuietHours() {
  const me = state.session!.me;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [start, setStart] = useState(me.quietHours?.start ?? '22:00');
  const [end, setEnd] = useState(me.quietHours?.end ?? '07:00');
  const [timeZone, setTimeZone] = useState(me.quietHours?.timeZone ?? zone);
  const save = useAction(async (off?: boolean) => {
    await updateMe({ quietHours: off ? null : { start, end, timeZone: timeZone.trim() } });
    toast(off ? 'Quiet hours off.' : 'Quiet hours saved.');
  });
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h3>Quiet hours</h3>
      <p class="hint">{me.quietHours ? `On: ${me.quietHours.start}–${me.quietHours.end} (${me.quietHours.timeZone}).` : 'Off.'} During quiet hours fallback SMS and e-mails to you wait until the end, except urgent ones.</p>
      <div class="inline-form">
        <label>
          From
          <input type="time" required value={start} onInput={(e) => setStart(e.currentTarget.value)} />
        </label>
        <label>
          Until
          <input type="time" required value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
        </label>
        <label>
          Time zone
          <input required value={timeZone} onInput={(e) => setTimeZone(e.currentTarget.value)} placeholder="Europe/Berlin" />
        </label>
      </div>
      <FormError error={save.error} />
      <div class="buttons">
        <button type="submit" class="secondary" disabled={save.busy}>
          Save
        </button>
        {me.quietHours && (
          <button type="button" class="secondary" disabled={save.busy} onClick={() => void save.run(true)}>
            Turn off
          </button>
        )}
      </div>
    </form>
  );
}

function Devices() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [error, setError] = useState('');
  const load = () => client.devices().then(setDevices, (err) => setError(errorText(err)));
  useEffect(() => void load(), []);
  const revoke = useAction(async (d: Device) => {
    if (d.current) return signOut();
    await client.revokeDevice(d.id);
    toast(`${d.name} was signed out.`);
    await load();
  });
  return (
    <div class="card">
      <h3>Devices</h3>
      {error && <p class="form-error">{error}</p>}
      {!devices && !error && <p aria-busy="true">Loading…</p>}
      {devices && (
        <ul class="device-list" data-testid="device-list">
          {devices.map((d) => (
            <li key={d.id}>
              <span>
                <strong>{d.name}</strong>
                {d.current && <span class="hint"> (this device)</span>}
                <br />
                <span class="hint">
                  signed in {fullTime(d.createdAt)} · last used {fullTime(d.lastUsedAt)}
                </span>
              </span>
              <button type="button" class="secondary" disabled={revoke.busy} onClick={() => (d.current || window.confirm(`Sign out ${d.name}?`)) && void revoke.run(d)}>
                {d.current ? 'Log out' : 'Revoke'}
              </button>
            </li>
          ))}
        </ul>
      )}
      <FormError error={revoke.error} />
    </div>
  );
}

export function Outbox() {
  const [items, setItems] = useState<OutboxItem[] | null>(null);
  const [channel, setChannel] = useState<'' | 'sms' | 'email'>('');
  const [error, setError] = useState('');
  const load = () =>
    client.outbox({ limit: 100, ...(channel ? { channel } : {}) }).then(
      (list) => {
        setItems(list);
        setError('');
      },
      (err) => setError(errorText(err)),
    );
  useEffect(() => {
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [channel]);
  return (
    <section class="page wide">
      <PageHead title="Outbox" />
      <p class="hint">What the SMS and e-mail channels would have sent: verification codes and fallbacks. Refreshes every 5 seconds.</p>
      <div class="toolbar">
        <label>
          Channel
          <select value={channel} onChange={(e) => setChannel(e.currentTarget.value as '' | 'sms' | 'email')}>
            <option value="">All</option>
            <option value="sms">SMS</option>
            <option value="email">E-mail</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && <p class="form-error" role="alert">{error}</p>}
      {items && items.length === 0 && <p>Nothing sent yet.</p>}
      {items && items.length > 0 && (
        <div class="table-wrap">
          <table data-testid="outbox">
            <caption class="sr-only">Outbox, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Channel</th>
                <th scope="col">To</th>
                <th scope="col">Purpose</th>
                <th scope="col">Text</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <td>{fullTime(item.createdAt)}</td>
                  <td>{item.channel === 'sms' ? 'SMS' : 'E-mail'}</td>
                  <td>{item.recipient}</td>
                  <td>{item.purpose}</td>
                  <td class="outbox-body" dir="auto">
                    {item.subject && <strong>{item.subject}: </strong>}
                    {item.body}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

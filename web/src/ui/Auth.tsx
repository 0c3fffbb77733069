import { useEffect, useRef, useState } from 'preact/hooks';
import { signIn, signUp, state } from '../state.js';
import { FormError, Link, useAction } from './common.js';

export function Auth(props: { mode: 'login' | 'signup' }) {
  const signup = props.mode === 'signup';
  const [handle, setHandle] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction(async () => (signup ? signUp(handle, displayName, password) : signIn(handle, password)));
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [signup]);

  return (
    <main class="auth">
      <div class="auth-card">
        <p class="brand" aria-hidden="true">
          Parley
        </p>
        <h1 ref={heading} tabIndex={-1}>
          {signup ? 'Create an account' : 'Log in'}
        </h1>
        {state.signedOutReason && !signup && (
          <p class="notice" role="status">
            {state.signedOutReason}
          </p>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void action.run();
          }}
          aria-describedby={action.error ? 'auth-error' : undefined}
        >
          <label>
            Handle
            <input name="handle" autoComplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+" value={handle} onInput={(e) => setHandle(e.currentTarget.value)} autoCapitalize="none" spellcheck={false} />
          </label>
          {signup && (
            <label>
              Display name
              <input name="displayName" autoComplete="name" maxLength={100} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} placeholder="e.g. Alice, 李雷" />
            </label>
          )}
          <label>
            Password
            <input name="password" type="password" autoComplete={signup ? 'new-password' : 'current-password'} required minLength={signup ? 8 : 1} maxLength={256} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          {signup && <p class="hint">At least 8 characters. The first account on a server becomes its administrator.</p>}
          <FormError error={action.error} id="auth-error" />
          <button type="submit" class="primary" disabled={action.busy}>
            {action.busy ? 'Please wait…' : signup ? 'Create account' : 'Log in'}
          </button>
        </form>
        <p class="switch">
          {signup ? (
            <>
              Have an account? <Link href="/login">Log in</Link>
            </>
          ) : (
            <>
              New here? <Link href="/signup">Create an account</Link>
            </>
          )}
        </p>
      </div>
    </main>
  );
}

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, navigate, state } from '../state.js';
import { initials } from '../format.js';

/** A same-origin link that changes the route without reloading the page. */
export function Link(props: { href: string; class?: string; children: ComponentChildren; 'aria-current'?: 'page' | undefined; 'aria-label'?: string }) {
  return (
    <a
      {...props}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}

export function Avatar(props: { name: string; online?: boolean | undefined; size?: 'small' }) {
  return (
    <span class={`avatar${props.size === 'small' ? ' small' : ''}`} aria-hidden="true">
      {initials(props.name)}
      {props.online !== undefined && <span class={`presence-dot${props.online ? ' online' : ''}`} />}
    </span>
  );
}

/** Runs an async action for a form: busy flag and a readable error, shown next to the form. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): { run: (...args: A) => Promise<boolean>; busy: boolean; error: string; setError: (e: string) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  return {
    busy,
    error,
    setError,
    async run(...args: A) {
      setBusy(true);
      setError('');
      try {
        await action(...args);
        return true;
      } catch (err) {
        if (mounted.current) setError(errorText(err));
        return false;
      } finally {
        if (mounted.current) setBusy(false);
      }
    },
  };
}

export function FormError(props: { error: string; id?: string }) {
  return props.error ? (
    <p class="form-error" role="alert" id={props.id}>
      {props.error}
    </p>
  ) : null;
}

/** A modal <dialog>: focus is trapped by the browser, Escape closes it, focus returns to the opener. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => opener?.focus?.();
  }, []);
  return (
    <dialog ref={ref} class={`modal ${props.class ?? ''}`} aria-labelledby="modal-title" onClose={props.onClose} onCancel={props.onClose}>
      <header class="modal-head">
        <h2 id="modal-title">{props.title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={props.onClose}>
          ✕
        </button>
      </header>
      <div class="modal-body">{props.children}</div>
    </dialog>
  );
}

export function ConnectionBadge() {
  const conn = state.conn;
  const offline = !state.browserOnline;
  const [label, cls] = offline ? ['Offline', 'offline'] : conn === 'open' ? ['Connected', 'open'] : conn === 'connecting' || conn === 'idle' ? ['Connecting…', 'connecting'] : ['Disconnected', 'offline'];
  return (
    <span class={`conn conn-${cls}`} role="status" aria-live="polite" data-state={offline ? 'offline' : conn} title={`Live updates: ${label}`}>
      <span class="conn-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** Drawn, not an emoji: emoji fonts are missing on many Linux desktops. */
export function PaperclipIcon() {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

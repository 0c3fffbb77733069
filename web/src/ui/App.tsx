import { useEffect, useRef } from 'preact/hooks';
import { useAppState } from '../state.js';
import { Auth } from './Auth.js';
import { ChatView } from './Chat.js';
import { Sidebar } from './Sidebar.js';
import { NewChat, Outbox, Settings } from './Pages.js';
import { OffersRoute } from './offers/entry.js';
import { OrdersRoute } from './orders/entry.js';

export function App() {
  const s = useAppState();
  const route = s.route;
  const mainRef = useRef<HTMLElement>(null);

  // On a route change, move focus to the new page's heading so keyboard and screen-reader users land there.
  useEffect(() => {
    if (route.name === 'chat') return; // the chat view focuses its composer
    const heading = mainRef.current?.querySelector<HTMLElement>('h1, h2');
    heading?.focus();
  }, [route.name, route.name === 'chat' ? route.id : '']);

  if (s.booting) return <div class="boot" aria-busy="true">Loading Parley…</div>;
  if (!s.session || route.name === 'login' || route.name === 'signup') return <Auth mode={route.name === 'signup' ? 'signup' : 'login'} />;

  const showingMain = route.name !== 'home';
  return (
    <div class={`layout${showingMain ? ' has-main' : ''}`}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar />
      <main id="main" ref={mainRef} class="main" tabIndex={-1}>
        {route.name === 'chat' ? (
          <ChatView key={route.id} id={route.id} />
        ) : route.name === 'new' ? (
          <NewChat />
        ) : route.name === 'settings' ? (
          <Settings />
        ) : route.name === 'outbox' ? (
          <Outbox />
        ) : route.name === 'offers' ? (
          <OffersRoute tab={route.tab} />
        ) : route.name === 'orders' ? (
          <OrdersRoute tab={route.tab} />
        ) : (
          <div class="empty-main">
            <h2 tabIndex={-1}>Welcome, {s.session.me.displayName}</h2>
            <p>Pick a conversation, or start a new one.</p>
          </div>
        )}
      </main>
      <div class="sr-only" role="status" aria-live="polite">
        {s.notice}
      </div>
      {s.toast && (
        <div class={`toast toast-${s.toast.kind}`} role={s.toast.kind === 'error' ? 'alert' : undefined}>
          {s.toast.text}
        </div>
      )}
    </div>
  );
}

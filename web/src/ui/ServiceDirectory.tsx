import { useEffect, useState } from 'preact/hooks';
import type { ServiceView } from '../../../sdk/index.js';
import { client, startDirect } from '../state.js';
import { FormError, useAction } from './common.js';

/** The server's service accounts, each a chat away (the "New chat" page). */
export function ServiceDirectory() {
  const [services, setServices] = useState<ServiceView[] | null>(null);
  const open = useAction((handle: string) => startDirect(handle));
  useEffect(() => {
    // Without the list the page still works: services can be reached by handle.
    client.services().then(setServices, () => setServices([]));
  }, []);
  if (!services?.length) return null;
  return (
    <section class="card" aria-labelledby="services-heading">
      <h3 id="services-heading">Services</h3>
      <ul class="service-list">
        {services.map((s) => (
          <li key={s.id}>
            <button type="button" class="secondary" disabled={open.busy} onClick={() => void open.run(s.handle)}>
              {s.displayName}
            </button>{' '}
            <span class="hint">{s.description || `@${s.handle}`}</span>
          </li>
        ))}
      </ul>
      <FormError error={open.error} />
    </section>
  );
}

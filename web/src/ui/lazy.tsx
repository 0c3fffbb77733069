import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * A page whose code is fetched on its first visit (a chunk of its own), so the app that opens a
 * chat does not carry it. Shows "Loading …" meanwhile and a clear error if the chunk cannot load.
 */
export function lazyPage<P extends object>(load: () => Promise<{ default: ComponentType<P> }>, what: string): ComponentType<P> {
  let page: ComponentType<P> | undefined;
  return function LazyPage(props: P) {
    const [, setLoaded] = useState(0);
    const [error, setError] = useState('');
    useEffect(() => {
      if (page) return;
      load().then(
        (m) => {
          page = m.default;
          setLoaded(1);
        },
        (err: Error) => setError(`The ${what} pages could not be loaded: ${err.message}`),
      );
    }, []);
    const Page = page;
    if (Page) return <Page {...props} />;
    return error ? (
      <p class="form-error" role="alert">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Loading {what}…</p>
    );
  };
}

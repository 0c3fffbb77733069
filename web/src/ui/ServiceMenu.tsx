import { useEffect, useRef, useState } from 'preact/hooks';
import type { ServiceView } from '../../../sdk/index.js';
import { clickServiceMenu } from '../services.js';

/**
 * A service's menu under the composer, like WeChat's: a bar of up to three buttons, each a menu
 * item or a group that opens a submenu of items above it.
 */
export function ServiceMenu(props: { conversationId: string; service: ServiceView }) {
  const { service } = props;
  const [open, setOpen] = useState<number | null>(null);
  const bar = useRef<HTMLElement>(null);
  useEffect(() => {
    if (open === null) return;
    const outside = (e: MouseEvent) => {
      if (!bar.current?.contains(e.target as Node)) setOpen(null);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  if (service.menu.length === 0) return null;
  const click = (leaf: { key: string; label: string }) => {
    setOpen(null);
    clickServiceMenu(props.conversationId, service.id, leaf);
  };
  return (
    <nav class="service-menu" ref={bar} aria-label={`${service.displayName} menu`} onKeyDown={(e) => e.key === 'Escape' && setOpen(null)}>
      {service.menu.map((item, i) =>
        'items' in item ? (
          <div class="service-menu-group" key={item.label}>
            <button type="button" aria-haspopup="menu" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
              ☰ {item.label}
            </button>
            {open === i && (
              <div class="menu service-submenu" role="menu" aria-label={item.label}>
                {item.items.map((leaf) => (
                  <button type="button" role="menuitem" key={leaf.key} onClick={() => click(leaf)}>
                    {leaf.label}
                  </button>
                ))}
              </div>
            )}
          </div>
        ) : (
          <button type="button" key={item.key} onClick={() => click(item)}>
            {item.label}
          </button>
        ),
      )}
    </nav>
  );
}

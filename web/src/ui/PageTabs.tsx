import { Link } from './common.js';
import './page-tabs.css';

export interface PageTab {
  key: string;
  href: string;
  label: string;
}

/** The tab row under a multi-page section's heading (offers, orders); the current tab is `aria-current`. */
export function PageTabs(props: { label: string; tabs: PageTab[]; current: string }) {
  return (
    <nav class="page-tabs" aria-label={props.label}>
      {props.tabs.map((t) => (
        <Link key={t.key} href={t.href} class="page-tab" aria-current={t.key === props.current ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}

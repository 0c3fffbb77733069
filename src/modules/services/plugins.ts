import type { LeasedTask, MenuItem, ReplyContent } from '../../protocol/services.js';
import type { Clock } from '../../scheduler/clock.js';

/**
 * An in-process handler. It runs when a request is dispatched (again after a crash or a failure:
 * it should not have side effects that must happen once); its replies are stored together with
 * the request's completion, so the user sees them exactly once. Throwing retries with backoff.
 */
export interface ServicePlugin {
  handle(task: LeasedTask, clock: Clock): Promise<ReplyContent[]>;
}

export const ECHO_MENU: MenuItem[] = [
  { key: 'echo.help', label: 'Help' },
  {
    label: 'Demo',
    items: [
      { key: 'echo.card', label: 'Card' },
      { key: 'echo.time', label: 'Time' },
    ],
  },
];

/** The built-in demo: repeats messages, and answers its menu with a help text, a card and the time. */
export const echoPlugin: ServicePlugin = {
  async handle(task, clock) {
    if (task.kind === 'menu') {
      if (task.menuKey === 'echo.card') {
        return [{ type: 'card', title: 'Parley service accounts', description: 'A request is acknowledged at once and answered later, by a webhook, workers or an in-process handler like this one.' }];
      }
      if (task.menuKey === 'echo.time') return [{ type: 'text', text: `Server time: ${new Date(clock.now()).toISOString()}` }];
      return [{ type: 'text', text: 'Send me any message and I send it back. The menu shows a card and the time.' }];
    }
    return [{ type: 'text', text: `echo: ${task.text}` }];
  },
};

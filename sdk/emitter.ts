/** A minimal typed event emitter that works in browsers and Node alike. */
export class Emitter<Events extends Record<string, unknown[]>> {
  private readonly handlers: { [K in keyof Events]?: Set<(...args: Events[K]) => void> } = {};

  on<K extends keyof Events>(event: K, handler: (...args: Events[K]) => void): () => void {
    (this.handlers[event] ??= new Set()).add(handler);
    return () => this.handlers[event]?.delete(handler);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const handler of this.handlers[event] ?? []) handler(...args);
  }
}

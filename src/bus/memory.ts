import type { Bus, BusMessage } from './bus.js';

/** Single-process bus: delivers to local subscribers synchronously. */
export class MemoryBus implements Bus {
  private readonly handlers = new Set<(message: BusMessage) => void>();

  publish(message: BusMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

MemoryBus satisfies new () => Bus;

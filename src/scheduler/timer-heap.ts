/** A binary min-heap ordered by due time; equal due times keep insertion order. */
export interface HeapEntry {
  dueAt: number;
}

interface Slot<T> {
  item: T;
  seq: number;
}

export class TimerHeap<T extends HeapEntry> {
  private readonly slots: Slot<T>[] = [];
  private counter = 0;

  get size(): number {
    return this.slots.length;
  }

  peek(): T | undefined {
    return this.slots[0]?.item;
  }

  push(item: T): void {
    this.slots.push({ item, seq: this.counter++ });
    this.up(this.slots.length - 1);
  }

  pop(): T | undefined {
    const top = this.slots[0];
    if (top === undefined) return undefined;
    const last = this.slots.pop()!;
    if (this.slots.length > 0) {
      this.slots[0] = last;
      this.down(0);
    }
    return top.item;
  }

  /** Removes every entry matching `predicate` (cancellations are rare) and restores heap order. */
  removeWhere(predicate: (item: T) => boolean): number {
    const kept = this.slots.filter((slot) => !predicate(slot.item));
    const removed = this.slots.length - kept.length;
    if (removed > 0) {
      this.slots.length = 0;
      for (const slot of kept) {
        this.slots.push(slot);
        this.up(this.slots.length - 1);
      }
    }
    return removed;
  }

  drain(): T[] {
    return this.slots.splice(0).map((slot) => slot.item);
  }

  private less(a: Slot<T>, b: Slot<T>): boolean {
    return a.item.dueAt < b.item.dueAt || (a.item.dueAt === b.item.dueAt && a.seq < b.seq);
  }

  private up(i: number): void {
    const slots = this.slots;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(slots[i]!, slots[parent]!)) return;
      [slots[i], slots[parent]] = [slots[parent]!, slots[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const slots = this.slots;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < slots.length && this.less(slots[l]!, slots[smallest]!)) smallest = l;
      if (r < slots.length && this.less(slots[r]!, slots[smallest]!)) smallest = r;
      if (smallest === i) return;
      [slots[i], slots[smallest]] = [slots[smallest]!, slots[i]!];
      i = smallest;
    }
  }
}

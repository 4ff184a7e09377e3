/**
 * A push-to-pull bridge: events pushed in, an AsyncIterableIterator out (what
 * graphql-js subscriptions consume). Bounded: a consumer that falls this far
 * behind is ended rather than allowed to grow memory without limit.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((r: IteratorResult<T>) => void)[] = [];
  private done = false;

  constructor(
    private readonly limit: number,
    private readonly onClose: () => void,
  ) {}

  push(item: T): void {
    if (this.done) return;
    const waiter = this.waiting.shift();
    if (waiter) return waiter({ value: item, done: false });
    if (this.items.length >= this.limit) return void this.close();
    this.items.push(item);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.items.length = 0;
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
    this.onClose();
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

import { type AssetView, assetFromEventPayload } from '../domain/asset.js';
import { AsyncQueue } from './async-queue.js';
import { PgListener } from './pg-listener.js';

export const ASSET_EVENTS_CHANNEL = 'asset_events';

interface Subscriber {
  assetId: string | null;
  queue: AsyncQueue<AssetView>;
}

export interface AssetEventsOptions {
  databaseUrl: string;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Events one subscriber may have waiting before it is ended. */
  maxBacklog?: number;
}

/**
 * Delivers asset changes made by any process to this API node's subscribers.
 * The audio_asset trigger NOTIFYs every committed change; this node holds one
 * LISTEN connection and fans out by owner.
 */
export class AssetEvents {
  private readonly byOwner = new Map<string, Set<Subscriber>>();
  private readonly listener: PgListener;

  constructor(private readonly o: AssetEventsOptions) {
    this.listener = new PgListener({
      databaseUrl: o.databaseUrl,
      channels: [ASSET_EVENTS_CHANNEL],
      onNotification: (_channel, payload) => this.dispatch(payload),
      log: o.log,
    });
  }

  get isListening(): boolean {
    return this.listener.isListening;
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  private dispatch(payload: string): void {
    let asset: AssetView;
    try {
      asset = assetFromEventPayload(payload);
    } catch (e) {
      this.o.log.warn({ err: e }, 'asset events: unreadable payload');
      return;
    }
    for (const s of this.byOwner.get(asset.ownerId) ?? []) {
      if (s.assetId === null || s.assetId === asset.id) s.queue.push(asset);
    }
  }

  /** Changes of one owner's assets (or of one of them), until the iterator is returned. */
  subscribe(ownerId: string, assetId: string | null): AsyncIterableIterator<AssetView> {
    const subscriber: Subscriber = {
      assetId,
      queue: new AsyncQueue<AssetView>(this.o.maxBacklog ?? 1000, () => {
        const set = this.byOwner.get(ownerId);
        set?.delete(subscriber);
        if (set?.size === 0) this.byOwner.delete(ownerId);
      }),
    };
    let set = this.byOwner.get(ownerId);
    if (!set) this.byOwner.set(ownerId, (set = new Set()));
    set.add(subscriber);
    return subscriber.queue;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const s of this.byOwner.values()) n += s.size;
    return n;
  }

  async stop(): Promise<void> {
    for (const set of [...this.byOwner.values()]) for (const s of [...set]) s.queue.close();
    await this.listener.stop();
  }
}

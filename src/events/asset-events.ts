import { type AssetView, assetFromEventPayload, deletedAssetIdFromPayload } from '../domain/asset.js';
import { AssetStatus } from '../domain/asset-status.js';
import { AsyncQueue } from './async-queue.js';
import { PgListener } from './pg-listener.js';

export const ASSET_EVENTS_CHANNEL = 'asset_events';
/** Deletions (migration 2): `{ id, owner_id }`. */
export const ASSET_DELETED_CHANNEL = 'asset_deleted';

/** What else in this process follows every committed change (e.g. the final-asset cache). */
export interface AssetChangeObserver {
  changed(asset: AssetView): void;
  deleted(id: string): void;
  /** false: changes may be missed from now until the next true. */
  listening(up: boolean): void;
}

interface Subscriber {
  assetId: string | null;
  queue: AsyncQueue<AssetView>;
}

export interface AssetEventsOptions {
  databaseUrl: string;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Events one subscriber may have waiting before it is ended. */
  maxBacklog?: number;
  observer?: AssetChangeObserver;
}

/**
 * A subscriber of one asset follows its processing: its first event is
 * QUEUED (contract), so changes made while the upload is still awaited
 * (renewed URLs, recorded parts) are not sent to it.
 */
function forOneAssetSubscriber(asset: AssetView): boolean {
  return asset.status !== AssetStatus.AWAITING_UPLOAD;
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
      channels: o.observer ? [ASSET_EVENTS_CHANNEL, ASSET_DELETED_CHANNEL] : [ASSET_EVENTS_CHANNEL],
      onNotification: (channel, payload) => (channel === ASSET_DELETED_CHANNEL ? this.dispatchDeleted(payload) : this.dispatch(payload)),
      onListening: () => o.observer?.listening(true),
      onLost: () => o.observer?.listening(false),
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
      return this.forgetAll();
    }
    this.o.observer?.changed(asset);
    for (const s of this.byOwner.get(asset.ownerId) ?? []) {
      if (s.assetId === null) s.queue.push(asset);
      else if (s.assetId === asset.id && forOneAssetSubscriber(asset)) s.queue.push(asset);
    }
  }

  private dispatchDeleted(payload: string): void {
    const id = deletedAssetIdFromPayload(payload);
    if (id !== null) return this.o.observer?.deleted(id);
    // A deletion we cannot place: forget everything rather than serve the deleted row.
    this.o.log.warn({ payload: payload.slice(0, 200) }, 'asset events: unreadable deletion');
    this.forgetAll();
  }

  /** A change we cannot place: observers drop whatever they derived from earlier changes. */
  private forgetAll(): void {
    this.o.observer?.listening(false);
    this.o.observer?.listening(this.listener.isListening);
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

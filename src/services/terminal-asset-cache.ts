import { Lru } from '../cache/lru.js';
import type { AssetView } from '../domain/asset.js';
import { isFinal } from '../domain/asset-status.js';

export interface TerminalAssetCacheOptions {
  maxEntries?: number;
  /**
   * Longest an entry is trusted: bounds what a LISTEN connection that died
   * without the socket noticing could leave behind. Rows are read again after it.
   */
  maxAgeMs?: number;
  now?: () => number;
}

interface Entry {
  asset: AssetView;
  cachedAtMs: number;
}

/** One database read in flight; `stale` once something about its id was heard while it ran. */
interface Read {
  stale: boolean;
}

/**
 * DONE and FAILED assets, in the API process. A final asset changes only by
 * deletion (domain/asset-status.ts: no transition leaves DONE or FAILED; every
 * UPDATE is guarded by status), and every committed change and deletion
 * reaches this node through LISTEN (events/asset-events.ts). So:
 *
 * - a final row (from a read or an event) is kept until its deletion event,
 *   this node's own deletion, or maxAgeMs;
 * - a read's answer is kept only if nothing about that id was heard while it
 *   ran, so a deletion heard mid-read cannot be undone by the read's older answer;
 * - while the LISTEN connection is down nothing is served or kept.
 *
 * Non-final assets are never cached: they always come from the database.
 */
export class TerminalAssetCache {
  private readonly lru: Lru<string, Entry>;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly reads = new Map<string, Set<Read>>();
  private live = false;

  constructor(o: TerminalAssetCacheOptions = {}) {
    this.lru = new Lru(o.maxEntries ?? 10_000);
    this.maxAgeMs = o.maxAgeMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.lru.size;
  }

  /** The cached final asset with this (lower-case) id, or undefined: then `load` it. */
  get(id: string): AssetView | undefined {
    if (!this.live) return undefined;
    const e = this.lru.get(id);
    if (!e) return undefined;
    if (this.now() - e.cachedAtMs >= this.maxAgeMs) {
      this.lru.delete(id);
      return undefined;
    }
    return e.asset;
  }

  /** Reads the row through `read`; a final answer is kept unless its id was invalidated meanwhile. */
  async load<T extends AssetView>(id: string, read: () => Promise<T | null>): Promise<T | null> {
    if (!this.live) return read();
    const mine: Read = { stale: false };
    let set = this.reads.get(id);
    if (!set) this.reads.set(id, (set = new Set()));
    set.add(mine);
    try {
      const asset = await read();
      if (asset && !mine.stale && this.live) this.keep(asset);
      return asset;
    } finally {
      set.delete(mine);
      if (set.size === 0 && this.reads.get(id) === set) this.reads.delete(id);
    }
  }

  /** A committed change heard through LISTEN. */
  changed(asset: AssetView): void {
    if (isFinal(asset.status)) return this.keep(asset);
    // Cannot happen through the service (final is final), but a row that left
    // DONE/FAILED must not be served from here, nor kept by a read in flight.
    this.invalidate(asset.id);
  }

  /** A deletion, heard through LISTEN or made by this node. */
  deleted(id: string): void {
    this.invalidate(id);
  }

  /** The LISTEN connection came up or went down: either way, what is here may have missed changes. */
  listening(up: boolean): void {
    this.live = up;
    this.lru.clear();
    for (const set of this.reads.values()) for (const r of set) r.stale = true;
  }

  private keep(asset: AssetView): void {
    if (!isFinal(asset.status)) return;
    const e = this.lru.peek(asset.id);
    if (e && e.asset.version > asset.version) return;
    this.lru.set(asset.id, { asset, cachedAtMs: this.now() });
  }

  private invalidate(id: string): void {
    this.lru.delete(id);
    const set = this.reads.get(id);
    if (set) for (const r of set) r.stale = true;
  }
}

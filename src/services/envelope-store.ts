import DataLoader from 'dataloader';
import { Lru } from '../cache/lru.js';
import { type Envelope, decodeEnvelope } from '../analysis/peaks.js';

/** What the store reads from: every envelope asked for in one call, in one query. */
export interface EnvelopeSource {
  loadEnvelopes(ids: readonly string[]): Promise<Map<string, Buffer>>;
}

/**
 * The peak envelopes behind `waveform` and `chatWaveform`. A DONE asset's
 * envelope never changes (final is final; ids are never reused), so decoded
 * envelopes are kept in a bounded LRU; what is not there is read in batches:
 * every envelope asked for in one tick, whichever requests ask (a list of 100
 * assets, say, or many clients at once) is one query, and an id asked again
 * (aliases, other requests) waits for the read under way or comes from the
 * LRU. Four aliased `assets(first: 100)` with waveforms cost at most four
 * queries, not 400 (issue 25, item 4).
 */
export class EnvelopeStore {
  private readonly cache: Lru<string, Envelope>;
  // No DataLoader cache: the LRU is the cache, and `inFlight` joins reads under way.
  private readonly loader = new DataLoader<string, Envelope | null>((ids) => this.batch(ids), { cache: false, maxBatchSize: 500 });
  /** Reads under way, by id: an id asked for again before its read returns waits for it. */
  private readonly inFlight = new Map<string, Promise<Envelope | null>>();
  /** Queries made (metrics and tests). */
  reads = 0;

  constructor(
    private readonly source: EnvelopeSource,
    options: { maxEntries?: number } = {},
  ) {
    // An envelope is at most 16 KiB (8,192 uint16 peaks): 2,000 are ~32 MiB at most.
    this.cache = new Lru(options.maxEntries ?? 2_000);
  }

  /** The envelope of a DONE asset, or null when it has none. */
  load(id: string): Promise<Envelope | null> {
    const cached = this.cache.get(id);
    if (cached) return Promise.resolve(cached);
    const pending = this.inFlight.get(id);
    if (pending) return pending;
    const read = this.loader.load(id);
    this.inFlight.set(id, read);
    const done = () => this.inFlight.delete(id);
    read.then(done, done);
    return read;
  }

  forget(id: string): void {
    this.cache.delete(id);
  }

  /** One malformed envelope fails its own field, not the batch. */
  private async batch(ids: readonly string[]): Promise<(Envelope | null | Error)[]> {
    const missing = ids.filter((id) => !this.cache.peek(id));
    let stored = new Map<string, Buffer>();
    if (missing.length > 0) {
      this.reads++;
      stored = await this.source.loadEnvelopes(missing);
    }
    return ids.map((id) => {
      const hit = this.cache.peek(id);
      if (hit) return hit;
      const bytes = stored.get(id);
      if (!bytes) return null;
      try {
        const envelope = decodeEnvelope(bytes);
        this.cache.set(id, envelope);
        return envelope;
      } catch (e) {
        return e as Error;
      }
    });
  }
}

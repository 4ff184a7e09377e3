import { Lru } from '../cache/lru.js';
import { type WaveformFormat, outputHeaders, outputKey, waveformHeaders, waveformKey, opusHeaders, opusKey } from './keys.js';
import type { PresignGetResponse, Storage } from './s3.js';
import { MAX_PRESIGN_EXPIRES_SECONDS } from './sigv4.js';

/** The longest signing window: URLs are re-signed at least hourly. */
const MAX_WINDOW_SECONDS = 3600;

export interface SigningWindow {
  /** The signing date: the start of the window, the same on every API node. */
  signingDate: Date;
  /** Lifetime from the signing date: at least `ttl` left whenever in the window the URL is handed out. */
  expiresInSeconds: number;
  /** When the next window starts (epoch ms): the URL is handed out until then. */
  endsAtMs: number;
}

/**
 * Window length for a playback TTL: at most an hour, at most a quarter of
 * the TTL (a URL lives at most 1.25x its TTL), and within S3's 7-day cap on
 * the URL's whole lifetime. 0: no window (a TTL at the cap).
 */
export function windowSeconds(ttlSeconds: number): number {
  return Math.max(0, Math.min(MAX_WINDOW_SECONDS, Math.floor(ttlSeconds / 4), MAX_PRESIGN_EXPIRES_SECONDS - ttlSeconds));
}

/**
 * Playback URLs are signed with the date truncated to a window and live
 * `ttl + window`: every read in the window gets the same URL (one signature
 * per asset and window, one browser/CDN cache entry), still valid for at
 * least `ttl` from the moment it is handed out.
 */
export function signingWindow(nowMs: number, ttlSeconds: number): SigningWindow {
  const w = windowSeconds(ttlSeconds);
  if (w === 0) return { signingDate: new Date(nowMs), expiresInSeconds: ttlSeconds, endsAtMs: nowMs };
  const startMs = Math.floor(nowMs / (w * 1000)) * w * 1000;
  return { signingDate: new Date(startMs), expiresInSeconds: ttlSeconds + w, endsAtMs: startMs + w * 1000 };
}

interface Entry {
  startsAtMs: number;
  endsAtMs: number;
  url: Promise<string>;
}

/** The presigned GETs of each DONE asset's M4A and waveform levels, one per object and signing window (bounded LRU). */
export class PlaybackUrls {
  private readonly cache: Lru<string, Entry>;
  private readonly now: () => number;

  constructor(
    private readonly storage: Pick<Storage, 'presignPublicGet'>,
    private readonly ttlSeconds: number,
    options: { maxEntries?: number; now?: () => number } = {},
  ) {
    this.cache = new Lru(options.maxEntries ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  /** Served as audio/mp4 under a server-made name, whatever the object's metadata says. */
  url(assetId: string): Promise<string> {
    return this.signed(assetId, outputKey(assetId), outputHeaders(assetId));
  }

  /** One zoom level of the waveform data (`waveform/<id>/<spp>.dat|.json`), cached like `url`. */
  waveformUrl(assetId: string, samplesPerPixel: number, format: WaveformFormat): Promise<string> {
    const key = waveformKey(assetId, samplesPerPixel, format);
    return this.signed(key, key, waveformHeaders(format));
  }

  /** The OPUS_OGG rendition (`audio/<id>.ogg`, served as audio/ogg), cached like `url`. */
  opusUrl(assetId: string): Promise<string> {
    const key = opusKey(assetId);
    return this.signed(key, key, opusHeaders(assetId));
  }

  private signed(cacheKey: string, key: string, headers: PresignGetResponse): Promise<string> {
    const nowMs = this.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.startsAtMs <= nowMs && nowMs < cached.endsAtMs) return cached.url;
    const w = signingWindow(nowMs, this.ttlSeconds);
    const url = this.storage.presignPublicGet(key, w.expiresInSeconds, headers, w.signingDate);
    if (w.endsAtMs > nowMs) {
      const entry = { startsAtMs: w.signingDate.getTime(), endsAtMs: w.endsAtMs, url };
      this.cache.set(cacheKey, entry);
      url.catch(() => {
        if (this.cache.peek(cacheKey) === entry) this.cache.delete(cacheKey);
      });
    }
    return url;
  }

  /** An asset that is gone needs no URL any more. */
  forget(assetId: string): void {
    this.cache.delete(assetId);
  }
}

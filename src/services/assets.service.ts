import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { type AssetView, decodeCursor, encodeCursor } from '../domain/asset.js';
import { AssetStatus } from '../domain/asset-status.js';
import { badInput, notFound } from '../domain/errors.js';
import { validateBars } from '../domain/upload-policy.js';
import { decodeEnvelope, waveformBars } from '../analysis/peaks.js';
import { RenditionFormat } from '../domain/processing-options.js';
import { assetObjectKeys, opusHeaders, opusKey, uploadKey } from '../storage/keys.js';
import { PlaybackUrls } from '../storage/playback-urls.js';
import type { Storage } from '../storage/s3.js';
import { TerminalAssetCache } from './terminal-asset-cache.js';

export interface RenditionView {
  format: RenditionFormat;
  url: string;
  size: number;
  mimeType: string;
}

export interface AssetPage {
  nodes: AudioAssetEntity[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Reading and deleting a viewer's assets, and what a DONE asset resolves to. */
export class AssetsService {
  private readonly playbackUrls: PlaybackUrls;
  private readonly opusUrls: PlaybackUrls;

  /**
   * `finalAssets`: DONE/FAILED rows kept in this process; the caller feeds it
   * every committed change (AssetEvents' observer). Without it, every read goes
   * to the database.
   */
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    config: { playbackUrlTtlSeconds: number },
    private readonly finalAssets: TerminalAssetCache = new TerminalAssetCache(),
  ) {
    this.playbackUrls = new PlaybackUrls(storage, config.playbackUrlTtlSeconds);
    this.opusUrls = new PlaybackUrls(storage, config.playbackUrlTtlSeconds, {}, { key: opusKey, headers: opusHeaders });
  }

  /** The viewer's asset; a DONE or FAILED one usually from memory (see TerminalAssetCache). */
  async get(ownerId: string, id: string): Promise<AssetView | null> {
    const key = id.toLowerCase();
    const cached = this.finalAssets.get(key);
    if (cached) return cached.ownerId === ownerId ? cached : null;
    return this.finalAssets.load(key, () => this.assets.findOwned(key, ownerId));
  }

  async list(ownerId: string, args: { first: number; after: string | null; status: AssetStatus | null }): Promise<AssetPage> {
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > 100) throw badInput('first must be from 1 to 100', 'first');
    const after = args.after ? decodeCursor(args.after) : null;
    if (args.after && !after) throw badInput('after is not a cursor this API returned', 'after');
    const { nodes, hasNextPage } = await this.assets.listOwned(ownerId, { first: args.first, after, status: args.status });
    const last = nodes.at(-1);
    return { nodes, pageInfo: { hasNextPage, endCursor: last ? encodeCursor(last) : null } };
  }

  /** Removes the row and every object it may have (original, output). */
  async delete(ownerId: string, id: string): Promise<boolean> {
    const deleted = await this.assets.deleteOwned(id, ownerId);
    if (!deleted) throw notFound();
    // This node answers from the database from now on, before its LISTEN hears of it.
    this.finalAssets.deleted(deleted.id);
    this.playbackUrls.forget(deleted.id);
    this.opusUrls.forget(deleted.id);
    // A worker running this asset hears the deletion (asset_deleted) and stops;
    // whatever it still writes afterwards it removes itself, and the sweep
    // catches the rest.
    if (deleted.multipartUploadId) await this.storage.abortMultipart(uploadKey(id), deleted.multipartUploadId);
    await Promise.all(assetObjectKeys(id).map((key) => this.storage.delete(key)));
    return true;
  }

  /**
   * A presigned GET of the M4A, served as audio/mp4 under a server-made name,
   * valid for at least PLAYBACK_URL_TTL_SECONDS from now; the same URL for
   * every read within a signing window (storage/playback-urls.ts).
   */
  async playbackUrl(asset: AssetView): Promise<string | null> {
    if (asset.status !== AssetStatus.DONE) return null;
    return this.playbackUrls.url(asset.id);
  }

  async waveform(asset: AssetView, bars: number): Promise<number[] | null> {
    validateBars(bars);
    if (asset.status !== AssetStatus.DONE) return null;
    const stored = await this.assets.loadEnvelope(asset.id);
    return stored ? waveformBars(decodeEnvelope(stored), bars) : null;
  }

  /** The renditions made for a DONE asset, each with a presigned GET like `url`'s. */
  async renditions(asset: AssetView): Promise<RenditionView[]> {
    if (asset.status !== AssetStatus.DONE) return [];
    const size = asset.renditionSizes?.[RenditionFormat.OPUS_OGG];
    if (size === undefined) return [];
    const url = await this.opusUrls.url(asset.id);
    return [{ format: RenditionFormat.OPUS_OGG, url, size, mimeType: opusHeaders(asset.id).contentType }];
  }
}

import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { type AssetView, decodeCursor, encodeCursor } from '../domain/asset.js';
import { AssetStatus } from '../domain/asset-status.js';
import { badInput, notFound } from '../domain/errors.js';
import { validateBars } from '../domain/upload-policy.js';
import { type ChatFormat, type ChatWaveformValues, chatWaveform } from '../analysis/chat-waveform.js';
import { ANALYSIS_SAMPLE_RATE } from '../analysis/analyser.js';
import { waveformBars } from '../analysis/peaks.js';
import { RenditionFormat } from '../domain/processing-options.js';
import { opusHeaders, uploadKey } from '../storage/keys.js';
import { deleteAssetObjects } from '../storage/waveform-objects.js';
import { PlaybackUrls } from '../storage/playback-urls.js';
import type { Storage } from '../storage/s3.js';
import { EnvelopeStore } from './envelope-store.js';
import { TerminalAssetCache } from './terminal-asset-cache.js';

export interface RenditionView {
  format: RenditionFormat;
  url: string;
  size: number;
  mimeType: string;
}

/** One zoom level as the API serves it; the URLs are signed only when asked for (getters). */
export interface WaveformDataView {
  sampleRate: number;
  samplesPerPixel: number;
  length: number;
  bits: number;
  readonly datUrl: Promise<string>;
  readonly jsonUrl: Promise<string>;
}

export interface AssetPage {
  nodes: AudioAssetEntity[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Reading and deleting a viewer's assets, and what a DONE asset resolves to. */
export class AssetsService {
  private readonly playbackUrls: PlaybackUrls;
  readonly envelopes: EnvelopeStore;

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
    this.envelopes = new EnvelopeStore(assets);
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
    this.envelopes.forget(deleted.id);
    // A worker running this asset hears the deletion (asset_deleted) and stops;
    // whatever it still writes afterwards it removes itself, and the sweep
    // catches the rest.
    if (deleted.multipartUploadId) await this.storage.abortMultipart(uploadKey(id), deleted.multipartUploadId);
    await deleteAssetObjects(this.storage, deleted.id);
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

  /** Envelope reads are batched per tick and cached: see EnvelopeStore. */
  async waveform(asset: AssetView, bars: number): Promise<number[] | null> {
    validateBars(bars);
    if (asset.status !== AssetStatus.DONE) return null;
    const envelope = await this.envelopes.load(asset.id);
    return envelope ? waveformBars(envelope, bars) : null;
  }

  async chatWaveform(asset: AssetView, format: ChatFormat): Promise<ChatWaveformValues | null> {
    if (asset.status !== AssetStatus.DONE) return null;
    const envelope = await this.envelopes.load(asset.id);
    return envelope ? chatWaveform(envelope, format, asset.durationSeconds ?? envelope.sampleCount / ANALYSIS_SAMPLE_RATE) : null;
  }

  /** The stored zoom levels, finest first; null until DONE and for assets DONE before levels were made. */
  waveformData(asset: AssetView): WaveformDataView[] | null {
    // [] is a backfill that could not decode the stored M4A: no levels, as for an asset not yet backfilled.
    if (asset.status !== AssetStatus.DONE || !asset.waveformLevels?.length) return null;
    const urls = this.playbackUrls;
    return asset.waveformLevels.map((l) => ({
      sampleRate: ANALYSIS_SAMPLE_RATE,
      samplesPerPixel: l.samplesPerPixel,
      length: l.length,
      bits: l.bits,
      get datUrl() {
        return urls.waveformUrl(asset.id, l.samplesPerPixel, 'dat');
      },
      get jsonUrl() {
        return urls.waveformUrl(asset.id, l.samplesPerPixel, 'json');
      },
    }));
  }

  /** The renditions made for a DONE asset, each with a presigned GET like `url`'s. */
  async renditions(asset: AssetView): Promise<RenditionView[]> {
    if (asset.status !== AssetStatus.DONE) return [];
    const size = asset.renditionSizes?.[RenditionFormat.OPUS_OGG];
    if (size === undefined) return [];
    const url = await this.playbackUrls.opusUrl(asset.id);
    return [{ format: RenditionFormat.OPUS_OGG, url, size, mimeType: opusHeaders(asset.id).contentType }];
  }
}

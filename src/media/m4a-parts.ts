// A faststart M4A streamed out as multipart parts while ffmpeg is still
// writing the ADTS it is made from: a long file's payload is stored by the
// time ffmpeg exits, instead of being muxed and uploaded afterwards (~1 s of
// a 2-hour podcast, measured). Only the header, which needs every frame's
// size, waits for the end: it goes in part 1, before the first `partBytes`
// of payload, which are read back from the ADTS file then.
//
//   part 1: ftyp + moov + mdat header | payload [0, P)
//   part 2: payload [P, 2P)    <- uploaded while ffmpeg runs
//   ...
//   last:   payload [nP, end)  <- at the end, any size
//
// Short outputs (under two parts) never open an upload: `finish` says so and
// the caller writes the file the ordinary way (m4a-file.ts).
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdtsIndexer } from './adts.js';
import { buildM4aHeaderFromAdts } from './m4a-mux.js';
import { isFaststart, headerBoxes } from './mp4-boxes.js';

/** Where the parts go: the storage's multipart upload, seen from the media side. */
export interface PartUpload {
  /** Uploads one part made of `body`'s chunks; they may be reused once it settles. */
  put(partNumber: number, body: readonly Uint8Array[]): Promise<void>;
  complete(): Promise<void>;
  /** Best effort; never throws. */
  abort(): Promise<void>;
}

/** A storage failure (as opposed to a bad ADTS stream): the caller retries the job. */
export class PartUploadError extends Error {}

export interface M4aPartsOptions {
  adtsPath: string;
  /** Starts the upload; called once the output is certain to fill two parts. */
  openUpload: () => Promise<PartUpload>;
  /** Size of every part but the last (S3: at least 5 MiB). */
  partBytes: number;
  /** Wait at the end of what ffmpeg has written so far before reading again. */
  pollMs?: number;
  /** Nothing is read before this: short files are done before it and take the ordinary path untouched. */
  startDelayMs?: number;
  readBytes?: number;
}

export interface M4aTiming {
  durationSamples: number;
  sampleRate: number;
  movieTimescale: number;
}

const ENOENT = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Follows one ADTS file while it is written (`follow`), then completes the
 * object (`finish`) or gives up (`discard`). Memory: one part buffer
 * (allocated when the payload first passes one part), a small read buffer
 * and the index's 2 bytes a frame.
 */
export class M4aPartsWriter {
  private readonly index = new AdtsIndexer();
  /** Allocated on the first read: a voice note, done before the start delay, never needs it. */
  private readBuffer: Buffer | null = null;
  private part: Buffer | null = null;
  private fill = 0;
  private payload = 0;
  private position = 0;
  private nextPart = 2;
  private file: FileHandle | null = null;
  private upload: PartUpload | null = null;
  private completed = false;

  constructor(private readonly o: M4aPartsOptions) {}

  private get read(): Buffer {
    return (this.readBuffer ??= Buffer.allocUnsafe(Math.min(this.o.readBytes ?? 256 * 1024, this.o.partBytes)));
  }

  /**
   * Reads the file as it grows until `ended` settles (ffmpeg exited) and
   * everything written before that is read, or until `signal` aborts.
   * Rejects with PartUploadError when storing a part fails, or with the
   * indexer's error on a malformed stream.
   */
  async follow(ended: Promise<unknown>, signal?: AbortSignal): Promise<void> {
    let done = false;
    const exit = new AbortController(); // ends a pending wait the moment ffmpeg exits
    const settled = ended.then(() => { done = true; exit.abort(); }, () => { done = true; exit.abort(); });
    const wait = (ms: number) => Promise.race([sleep(ms, undefined, { signal: exit.signal }).catch(() => {}), settled]);
    await wait(this.o.startDelayMs ?? 0);
    if (done) return; // short: the ordinary path reads it
    for (;;) {
      if (signal?.aborted) return; // the job is over: nothing more is stored
      const last = done; // a read that starts after the exit sees everything
      if ((await this.readSome()) > 0) continue;
      if (last) return;
      await wait(this.o.pollMs ?? 200);
    }
  }

  /**
   * Uploads the last part and the header part and completes the object.
   * Returns its size, or null when no upload was opened (the output fits in
   * fewer than two parts, or `follow` never ran): write the file instead.
   */
  async finish(timing: M4aTiming): Promise<{ bytes: number; parts: number } | null> {
    if (this.upload === null) return null;
    const built = buildM4aHeaderFromAdts(this.index, timing);
    if (this.fill > 0) await this.put(this.nextPart++, [this.part!.subarray(0, this.fill)]);
    const header = Buffer.from(built.buffer, built.byteOffset, built.length); // a view, not a copy
    const bytes = header.length + this.payload;
    // Built by us, still checked like any file: ftyp, then moov, then mdat.
    if (!isFaststart(headerBoxes(header, bytes))) throw new Error('the M4A header is not faststart');
    const first = await this.readFirstPayload();
    await this.put(1, [header, first]);
    try {
      await this.upload.complete();
    } catch (e) {
      throw new PartUploadError(`completing the upload failed: ${(e as Error).message}`, { cause: e });
    }
    this.completed = true;
    return { bytes, parts: this.nextPart - 1 };
  }

  /** Closes the file and, unless the object was completed, aborts the upload. */
  async discard(): Promise<void> {
    await this.file?.close().catch(() => {});
    this.file = null;
    if (this.upload !== null && !this.completed) await this.upload.abort();
  }

  /** One read at the current end; returns the ADTS bytes read (0: nothing new yet). */
  private async readSome(): Promise<number> {
    if (this.file === null) {
      try {
        this.file = await open(this.o.adtsPath, 'r');
      } catch (e) {
        if (ENOENT(e)) return 0; // ffmpeg opens its outputs after probing the input
        throw e;
      }
    }
    const room = this.part === null ? this.read.length : Math.min(this.read.length, this.o.partBytes - this.fill);
    const { bytesRead } = await this.file.read(this.read, 0, room, this.position);
    if (bytesRead === 0) return 0;
    this.position += bytesRead;
    const chunk = this.read.subarray(0, bytesRead);
    // Payload past the first part is copied into the part buffer; the first
    // part's payload is skipped now and read back at the end (after the header).
    this.index.feed(chunk, (from, to) => {
      const skip = Math.max(0, Math.min(to - from, this.o.partBytes - this.payload));
      this.payload += to - from;
      if (skip === to - from) return;
      this.part ??= Buffer.allocUnsafe(this.o.partBytes);
      chunk.copy(this.part, this.fill, from + skip, to);
      this.fill += to - from - skip;
    });
    if (this.fill === this.o.partBytes) {
      this.upload ??= await this.openUpload();
      await this.put(this.nextPart++, [this.part!]);
      this.fill = 0;
    }
    return bytesRead;
  }

  /** The first part's payload, stripped from the start of the ADTS file into the part buffer. */
  private async readFirstPayload(): Promise<Buffer> {
    const strip = new AdtsIndexer({ keepFrameSizes: false });
    const part = this.part!;
    let got = 0;
    for (let position = 0; got < this.o.partBytes; ) {
      // Payload is never longer than the ADTS it comes in: this cannot overrun the part.
      const { bytesRead } = await this.file!.read(this.read, 0, Math.min(this.read.length, this.o.partBytes - got), position);
      if (bytesRead === 0) throw new Error('the ADTS file ended before the first part was read back');
      position += bytesRead;
      const chunk = this.read.subarray(0, bytesRead);
      strip.feed(chunk, (from, to) => {
        const take = Math.min(to - from, this.o.partBytes - got);
        chunk.copy(part, got, from, from + take);
        got += take;
      });
    }
    return part;
  }

  private async openUpload(): Promise<PartUpload> {
    try {
      return await this.o.openUpload();
    } catch (e) {
      throw new PartUploadError(`starting the upload failed: ${(e as Error).message}`, { cause: e });
    }
  }

  private async put(partNumber: number, body: readonly Uint8Array[]): Promise<void> {
    try {
      await this.upload!.put(partNumber, body);
    } catch (e) {
      throw new PartUploadError(`uploading part ${partNumber} failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

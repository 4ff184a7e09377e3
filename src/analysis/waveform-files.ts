// The file adapter of the level pyramid (waveform-levels.ts): each level is
// streamed into a temporary audiowaveform `.dat` (version 2, 8-bit) through a
// small buffer, and turned into audiowaveform's JSON at finish(), so memory
// stays the same whatever the length (a 2-hour finest level is ~2.5 MB of
// `.dat` and ~9 MB of JSON text).
import { closeSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { ANALYSIS_SAMPLE_RATE, type PcmAnalyser } from './analyser.js';
import { type LevelSummary, type PairSink, WaveformLevelsReducer } from './waveform-levels.js';

/** One stored zoom level: what the asset records and the run step uploads. */
export interface WaveformLevelFile {
  samplesPerPixel: number;
  /** Number of min/max pairs. */
  length: number;
  bits: 8;
  datPath: string;
  jsonPath: string;
}

/** audiowaveform's data format version 2 header: six 32-bit little-endian fields. */
export const DAT_HEADER_BYTES = 24;
const DAT_VERSION = 2;
/** Header flag bit 0: 8-bit values. */
const FLAG_8_BIT = 1;
const BUFFER_BYTES = 64 * 1024;

export function datHeader(samplesPerPixel: number, length: number, sampleRate = ANALYSIS_SAMPLE_RATE): Buffer {
  const h = Buffer.alloc(DAT_HEADER_BYTES);
  h.writeInt32LE(DAT_VERSION, 0);
  h.writeUInt32LE(FLAG_8_BIT, 4);
  h.writeInt32LE(sampleRate, 8);
  h.writeInt32LE(samplesPerPixel, 12);
  h.writeUInt32LE(length, 16);
  h.writeInt32LE(1, 20); // channels
  return h;
}

/** The JSON text before the values, key order as audiowaveform writes it. */
export function jsonHead(samplesPerPixel: number, length: number, sampleRate = ANALYSIS_SAMPLE_RATE): string {
  return (
    `{"version":${DAT_VERSION},"channels":1,"sample_rate":${sampleRate},"samples_per_pixel":${samplesPerPixel},` +
    `"bits":8,"length":${length},"data":[`
  );
}

/**
 * Appends pairs to a `.dat` file through a 64 KiB buffer. The writes are
 * synchronous: one every 32 Ki pairs (8 M samples, about three minutes of
 * audio at the finest level), far cheaper than holding the level.
 */
class DatWriter implements PairSink {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(BUFFER_BYTES);
  private pos = 0;
  private offset = DAT_HEADER_BYTES;

  constructor(
    readonly file: string,
    private readonly samplesPerPixel: number,
  ) {
    this.fd = openSync(file, 'w');
  }

  pair(min: number, max: number): void {
    if (this.pos === BUFFER_BYTES) this.flush();
    this.buf[this.pos++] = min & 0xff;
    this.buf[this.pos++] = max & 0xff;
  }

  /** Writes what is buffered and the header (its length known now), and closes the file. */
  close(length: number): void {
    try {
      this.flush();
      writeSync(this.fd, datHeader(this.samplesPerPixel, length), 0, DAT_HEADER_BYTES, 0);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Closes without caring for the content (a run that did not finish). */
  abandon(): void {
    closeSync(this.fd);
  }

  private flush(): void {
    let done = 0;
    while (done < this.pos) done += writeSync(this.fd, this.buf, done, this.pos - done, this.offset + done);
    this.offset += this.pos;
    this.pos = 0;
  }
}

/** Decimal text of every int8 value, as bytes. */
const INT8_TEXT = Array.from({ length: 256 }, (_, i) => Buffer.from(String(i - 128)));

/** Writes the JSON twin of a finished `.dat`, reading it back in chunks. */
export async function datToJson(datFile: string, jsonFile: string, samplesPerPixel: number, length: number): Promise<void> {
  const src = await open(datFile, 'r');
  const dst = await open(jsonFile, 'w');
  try {
    const inBuf = Buffer.alloc(BUFFER_BYTES);
    // Each value: at most 4 characters and a comma.
    const outBuf = Buffer.alloc(BUFFER_BYTES * 5 + 16);
    await dst.write(jsonHead(samplesPerPixel, length));
    let position = DAT_HEADER_BYTES;
    let first = true;
    for (;;) {
      const { bytesRead } = await src.read(inBuf, 0, BUFFER_BYTES, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let o = 0;
      for (let i = 0; i < bytesRead; i++) {
        if (!first) outBuf[o++] = 0x2c; // ','
        first = false;
        const text = INT8_TEXT[((inBuf[i]! << 24) >> 24) + 128]!;
        o += text.copy(outBuf, o);
      }
      await dst.write(outBuf, 0, o);
    }
    await dst.write(']}');
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/**
 * The waveform-level analyser of the run step: feeds the pyramid and writes
 * every level as `<workDir>/waveform-<samplesPerPixel>.dat|.json`.
 */
export class WaveformLevelsAnalyser implements PcmAnalyser<WaveformLevelFile[]> {
  private readonly writers = new Map<number, DatWriter>();
  private readonly reducer: WaveformLevelsReducer;

  constructor(private readonly workDir: string) {
    this.reducer = new WaveformLevelsReducer((spp) => {
      const w = new DatWriter(this.filePath(spp, 'dat'), spp);
      this.writers.set(spp, w);
      return w;
    });
  }

  push(samples: Int16Array): void {
    this.reducer.push(samples);
  }

  async finish(): Promise<WaveformLevelFile[]> {
    let levels: LevelSummary[];
    try {
      levels = this.reducer.finish();
      for (const l of levels) this.writers.get(l.samplesPerPixel)!.close(l.length);
    } catch (e) {
      this.abandon();
      throw e;
    }
    this.writers.clear();
    const files = levels.map((l) => ({
      samplesPerPixel: l.samplesPerPixel,
      length: l.length,
      bits: 8 as const,
      datPath: this.filePath(l.samplesPerPixel, 'dat'),
      jsonPath: this.filePath(l.samplesPerPixel, 'json'),
    }));
    for (const f of files) await datToJson(f.datPath, f.jsonPath, f.samplesPerPixel, f.length);
    return files;
  }

  /** Closes the open files of a run that will not finish (the work dir is removed by its owner). */
  abandon(): void {
    for (const w of this.writers.values()) {
      try {
        w.abandon();
      } catch {
        // already closed
      }
    }
    this.writers.clear();
  }

  private filePath(samplesPerPixel: number, ext: 'dat' | 'json'): string {
    return path.join(this.workDir, `waveform-${samplesPerPixel}.${ext}`);
  }
}

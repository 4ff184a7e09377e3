// The file side of our M4A writer: ADTS file in, faststart M4A file out, in
// two sequential passes over one reused buffer (the boxes: m4a-mux.ts).
import { open, rm, type FileHandle } from 'node:fs/promises';
import { AdtsIndexer } from './adts.js';
import { buildM4aHeaderFromAdts } from './m4a-mux.js';

export interface WriteFaststartM4aOptions {
  adtsPath: string;
  outputPath: string;
  /** Real decoded samples (the worker's PCM count), at `sampleRate`. */
  durationSamples: number;
  /** Rate `durationSamples` is counted at; must match the ADTS stream's (checked). Default: the stream's. */
  sampleRate?: number;
  movieTimescale?: number;
}

/** Read buffer, reused for both passes. */
const BUFFER_BYTES = 256 * 1024;

export interface WriteFaststartM4aResult {
  /** Size of the written M4A. */
  bytes: number;
  frames: number;
  headerBytes: number;
}

/** Reads the whole file front to back into the one reused `buffer`, handing each filled part to `onChunk`. */
async function readSequentially(file: FileHandle, buffer: Buffer, onChunk: (chunk: Buffer) => unknown): Promise<void> {
  for (let position = 0; ;) {
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    await onChunk(buffer.subarray(0, bytesRead));
  }
}

async function writeAll(file: FileHandle, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await file.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

/**
 * Turns an ADTS file into a faststart M4A in two sequential passes: index
 * the frames, then write the header and the payloads with the ADTS headers
 * stripped. Memory: the read buffer, 2 bytes a frame and the header (about
 * 4 bytes a frame for stsz). On failure the partial output is removed.
 */
export async function writeFaststartM4a(options: WriteFaststartM4aOptions): Promise<WriteFaststartM4aResult> {
  const { adtsPath, outputPath } = options;
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  const input = await open(adtsPath, 'r');
  let output: FileHandle | undefined;
  try {
    const index = new AdtsIndexer();
    await readSequentially(input, buffer, (chunk) => index.feed(chunk));
    let header: Uint8Array;
    try {
      header = buildM4aHeaderFromAdts(index, options);
    } catch (error) {
      throw new Error(`${adtsPath}: ${(error as Error).message}`, { cause: error });
    }
    output = await open(outputPath, 'w');
    await writeAll(output, header);
    const strip = new AdtsIndexer({ keepFrameSizes: false });
    await readSequentially(input, buffer, async (chunk) => {
      // Move the payload runs to the front of the buffer in place (they only
      // ever move left), then write them with one call.
      let end = 0;
      strip.feed(chunk, (from, to) => { chunk.copyWithin(end, from, to); end += to - from; });
      await writeAll(output!, chunk.subarray(0, end));
    });
    strip.finish();
    if (strip.frameCount !== index.frameCount || strip.payloadBytes !== index.payloadBytes) {
      throw new Error(`${adtsPath} changed while being muxed (${index.frameCount} frames, then ${strip.frameCount})`);
    }
    await output.close();
    output = undefined;
    return { bytes: header.length + index.payloadBytes, frames: index.frameCount, headerBytes: header.length };
  } catch (error) {
    if (output !== undefined) {
      await output.close().catch(() => {});
      await rm(outputPath, { force: true });
    }
    throw error;
  } finally {
    await input.close();
  }
}

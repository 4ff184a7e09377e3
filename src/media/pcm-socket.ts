// The PCM channel between ffmpeg and the analysers: a connected pair of Unix
// stream sockets. ffmpeg gets one end as its stdout; we read the other into
// ONE reused buffer (net.Socket's `onread`), which child_process pipes cannot
// do: each pipe read is a fresh Buffer that V8 frees lazily (40-60 MB of dead
// PCM on a 2-hour file, BENCHMARKS.md).
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PCM_READ_BUFFER_BYTES = 64 * 1024;

export interface PcmChannel {
  /** Give this to the child as its stdout, then call `releaseChildEnd()`. */
  readonly childEnd: net.Socket;
  /** Our end. 'close' comes once the child (and anything it started) is gone. */
  readonly reader: net.Socket;
  /** Chunks arrive here; each is a view of the reused buffer, valid only during the call. */
  onChunk: (chunk: Buffer) => void;
  /** Closes our copy of the child's end (else EOF never comes). */
  releaseChildEnd(): void;
}

/**
 * Linux: an abstract socket name (no file, nothing to clean up). Elsewhere a
 * path under the temp dir, removed as soon as the pair is connected.
 */
function socketAddress(): { address: string; file: string | null } {
  const name = `audio-service-pcm-${process.pid}-${randomBytes(8).toString('hex')}`;
  if (process.platform === 'linux') return { address: `\0${name}`, file: null };
  const file = path.join(tmpdir(), `${name}.sock`);
  return { address: file, file };
}

export async function openPcmChannel(): Promise<PcmChannel> {
  const { address, file } = socketAddress();
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => resolve());
  });
  try {
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const buffer = Buffer.allocUnsafe(PCM_READ_BUFFER_BYTES);
    const channel: PcmChannel = {
      childEnd: null as unknown as net.Socket,
      reader: net.connect({
        path: address,
        onread: {
          buffer,
          callback: (n: number, buf: Uint8Array) => {
            channel.onChunk((buf as Buffer).subarray(0, n));
            return true; // keep reading: the consumer is synchronous
          },
        },
      }),
      onChunk: () => {},
      releaseChildEnd() {
        channel.childEnd.destroy();
      },
    };
    const connected = new Promise<void>((resolve, reject) => {
      channel.reader.once('connect', resolve);
      channel.reader.once('error', reject);
    });
    const [childEnd] = await Promise.all([accepted, connected]);
    (channel as { childEnd: net.Socket }).childEnd = childEnd;
    // Nothing is ever written the other way; don't read it (and never shut
    // down the child's write side: no end() on either socket before spawn).
    childEnd.pause();
    return channel;
  } finally {
    server.close();
    if (file) await rm(file, { force: true });
  }
}

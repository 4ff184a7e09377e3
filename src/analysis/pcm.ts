// The byte-to-sample adapter between ffmpeg's `-f s16le pipe:1` output and
// the pure analysers. Pipe chunks have arbitrary lengths and arbitrary alignment, so
// a sample may straddle two chunks and a chunk may start at an odd byteOffset
// (where an Int16Array view is not allowed).

export interface SampleSink {
  push(samples: Int16Array): void;
}

export type PcmConsumer = ((chunk: Uint8Array) => void) & {
  /** True when the bytes so far end half-way through a sample (a truncated stream). */
  readonly hasDanglingByte: boolean;
};

// Int16Array views use the platform's byte order; s16le only maps onto them directly on little-endian hosts.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toSamples(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  if (LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, n);
  if (LITTLE_ENDIAN) {
    // Buffer#slice does not copy, so copy explicitly into an aligned array.
    const out = new Int16Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(0, 2 * n));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 2 * n);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}

/** Turns s16le byte chunks into sink.push() calls, carrying an odd trailing byte into the next chunk. */
export function createPcmConsumer(sink: SampleSink): PcmConsumer {
  let carry = -1; // the low byte of a sample whose high byte is in the next chunk
  const consume = (chunk: Uint8Array): void => {
    let bytes = chunk;
    if (carry >= 0 && bytes.length > 0) {
      const v = carry | (bytes[0]! << 8);
      sink.push(Int16Array.of(v > 0x7fff ? v - 0x10000 : v));
      carry = -1;
      bytes = bytes.subarray(1);
    }
    if (bytes.length >= 2) sink.push(toSamples(bytes));
    if (bytes.length % 2 === 1) carry = bytes[bytes.length - 1]!;
  };
  return Object.defineProperty(consume, 'hasDanglingByte', { get: () => carry >= 0 }) as PcmConsumer;
}

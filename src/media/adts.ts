// Incremental ADTS frame indexer: the first half of our own M4A muxer
// (m4a-mux.ts). ffmpeg writes AAC as ADTS, whose muxer keeps no per-frame
// state; this indexer keeps just 2 bytes per frame (the payload size that
// becomes the MP4 `stsz` entry) so the M4A's sample table can be built
// without ffmpeg's ~72-byte-per-frame index. Pure: no I/O, no streams.
//
// Header layout: ISO/IEC 13818-7 §6.2 / 14496-3 §1.A.2.2 (adts_fixed_header +
// adts_variable_header, 56 bits, then a 16-bit CRC when protection_absent = 0).

/** sampling_frequency_index -> Hz (ISO/IEC 14496-3 Table 1.18; 13-14 reserved, 15 = explicit, not allowed in ADTS). */
const ADTS_SAMPLE_RATES: readonly number[] = [
  96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350,
];

/** channel_configuration -> channel count (7 is 7.1, eight channels). 0 means "in a PCE", which we refuse. */
const CHANNELS_BY_CONFIGURATION: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 8];

const FIXED_HEADER_BYTES = 7;
const CRC_BYTES = 2;

export interface AdtsStreamInfo {
  /** The ADTS profile field, which is the MPEG-4 audio object type minus one (1 = AAC LC). */
  profile: number;
  /** MPEG-4 audio object type (2 = AAC LC). */
  objectType: number;
  samplingFrequencyIndex: number;
  sampleRate: number;
  channelConfiguration: number;
  channels: number;
}

export interface AdtsFrameHeader extends AdtsStreamInfo {
  /** 7, or 9 when a CRC follows the header (protection_absent = 0). */
  headerLength: number;
  /** Whole frame, header included (13 bits, so at most 8191). */
  frameLength: number;
}

/** Parses and validates the 7 header bytes at the start of `bytes`; throws on what an M4A can't carry. */
export function parseAdtsHeader(bytes: Uint8Array): AdtsFrameHeader {
  if (bytes.length < FIXED_HEADER_BYTES) {
    throw new Error(`need ${FIXED_HEADER_BYTES} header bytes, got ${bytes.length}`);
  }
  const b1 = bytes[1]!, b2 = bytes[2]!, b3 = bytes[3]!, b4 = bytes[4]!, b5 = bytes[5]!, b6 = bytes[6]!;
  const sync = (bytes[0]! << 4) | (b1 >> 4);
  if (sync !== 0xfff) {
    const got = `0x${sync.toString(16).padStart(3, '0')}`;
    throw new Error(`expected the ADTS sync word 0xfff, got ${got} (not ADTS, or frames out of step)`);
  }
  const layer = (b1 >> 1) & 0b11;
  if (layer !== 0) throw new Error(`ADTS layer must be 0, got ${layer}`);
  const protectionAbsent = b1 & 1;
  const profile = b2 >> 6;
  const samplingFrequencyIndex = (b2 >> 2) & 0b1111;
  const channelConfiguration = ((b2 & 1) << 2) | (b3 >> 6);
  const frameLength = ((b3 & 0b11) << 11) | (b4 << 3) | (b5 >> 5);
  const rawDataBlocks = b6 & 0b11;
  const headerLength = protectionAbsent === 1 ? FIXED_HEADER_BYTES : FIXED_HEADER_BYTES + CRC_BYTES;

  const sampleRate = ADTS_SAMPLE_RATES[samplingFrequencyIndex];
  if (sampleRate === undefined) {
    throw new Error(`sampling_frequency_index ${samplingFrequencyIndex} is reserved`);
  }
  if (channelConfiguration === 0) {
    // The layout would be in a program_config_element inside the raw data,
    // which an MP4 must carry in the AudioSpecificConfig instead.
    throw new Error(`channel_configuration 0 (layout in a PCE) is not supported`);
  }
  if (rawDataBlocks !== 0) {
    // Several raw blocks share one header and need per-block CRC/offset
    // handling; ffmpeg's ADTS muxer always writes one block per frame.
    throw new Error(
      `number_of_raw_data_blocks_in_frame must be 0 (one AAC frame per ADTS frame), got ${rawDataBlocks}`,
    );
  }
  if (frameLength < headerLength) {
    throw new Error(`frame_length ${frameLength} is shorter than its ${headerLength}-byte header`);
  }
  return {
    profile,
    objectType: profile + 1,
    samplingFrequencyIndex,
    sampleRate,
    channelConfiguration,
    channels: CHANNELS_BY_CONFIGURATION[channelConfiguration]!,
    headerLength,
    frameLength,
  };
}

/**
 * The 2-byte AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) an MP4 `esds`
 * carries instead of per-frame headers: 5 bits object type, 4 bits frequency
 * index, 4 bits channel configuration, then frameLengthFlag (1024-sample
 * frames), dependsOnCoreCoder and extensionFlag, all 0.
 */
export function audioSpecificConfig(info: AdtsStreamInfo): Uint8Array {
  const bits = (info.objectType << 11) | (info.samplingFrequencyIndex << 7) | (info.channelConfiguration << 3);
  return Uint8Array.of(bits >> 8, bits & 0xff);
}

/** Called with [start, end) of `chunk` for every run of raw AAC payload bytes (headers and CRCs excluded). */
export type PayloadSink = (start: number, end: number) => void;

const INITIAL_CAPACITY = 1024;
/** Header fields every frame must share, since one MP4 sample entry describes them all. */
const STREAM_KEYS = ['profile', 'samplingFrequencyIndex', 'channelConfiguration'] as const;

/**
 * Feed it the ADTS byte stream in chunks of any size (a frame, or even its
 * header, may be split across chunks); it records each frame's payload size.
 */
export class AdtsIndexer {
  private readonly keepSizes: boolean;
  private sizes: Uint16Array;
  private count = 0;
  private totalPayload = 0;
  private first: AdtsStreamInfo | null = null;
  /** Header bytes of the frame being read, copied so a chunk boundary can cut it anywhere. */
  private readonly header = new Uint8Array(FIXED_HEADER_BYTES + CRC_BYTES);
  private headerHave = 0;
  /** 7 until the fixed header is parsed, then the real header length (7 or 9). */
  private headerNeed = FIXED_HEADER_BYTES;
  private payloadSize = 0;
  private payloadLeft = 0;
  /** Stream offset of the current chunk's first byte, and of the frame being read (for messages). */
  private streamOffset = 0;
  private frameOffset = 0;

  /** `keepFrameSizes: false` counts frames without storing their sizes (a second pass that only strips headers). */
  constructor(options: { keepFrameSizes?: boolean } = {}) {
    this.keepSizes = options.keepFrameSizes ?? true;
    this.sizes = new Uint16Array(this.keepSizes ? INITIAL_CAPACITY : 0);
  }

  /** Indexes `chunk`; `onPayload`, if given, is told where the payload bytes are within it. */
  feed(chunk: Uint8Array, onPayload?: PayloadSink): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        onPayload?.(i, i + take);
        i += take;
        this.payloadLeft -= take;
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      if (this.headerHave === 0) this.frameOffset = this.streamOffset + i;
      const take = Math.min(this.headerNeed - this.headerHave, chunk.length - i);
      // Byte copies, not subarray(): a view object per frame is garbage
      // enough (300k frames in two hours) to grow the heap by megabytes.
      for (let k = 0; k < take; k++) this.header[this.headerHave + k] = chunk[i + k]!;
      this.headerHave += take;
      i += take;
      if (this.headerHave === FIXED_HEADER_BYTES && this.headerNeed === FIXED_HEADER_BYTES) this.readHeader();
      // The CRC (if any) is skipped, not checked: ffmpeg just wrote it, and an
      // MP4 sample has nowhere to carry it.
      if (this.headerHave === this.headerNeed) this.startPayload();
    }
    this.streamOffset += chunk.length;
  }

  /** Asserts the stream ended on a frame boundary (a cut last frame would be muxed short). */
  finish(): void {
    if (this.headerHave > 0 || this.payloadLeft > 0) {
      throw new Error(
        `ADTS stream ends inside frame ${this.count} (started at byte ${this.frameOffset}): truncated input`,
      );
    }
  }

  /** Complete frames seen so far. */
  get frameCount(): number {
    return this.count;
  }

  /** Sum of the complete frames' payload sizes: the M4A's mdat payload length. */
  get payloadBytes(): number {
    return this.totalPayload;
  }

  /** Profile, rate and channels from the first header; null before one was read. */
  get info(): AdtsStreamInfo | null {
    return this.first;
  }

  /** Payload size of each complete frame, in order (a view, valid until the next feed). */
  frameSizes(): Uint16Array {
    if (!this.keepSizes) throw new Error('this AdtsIndexer was created with keepFrameSizes: false');
    return this.sizes.subarray(0, this.count);
  }

  audioSpecificConfig(): Uint8Array {
    if (this.first === null) throw new Error('no ADTS frame has been read yet');
    return audioSpecificConfig(this.first);
  }

  private readHeader(): void {
    let h: AdtsFrameHeader;
    try {
      h = parseAdtsHeader(this.header);
    } catch (error) {
      throw new Error(`${this.where()}: ${(error as Error).message}`, { cause: error });
    }
    if (this.first === null) {
      this.first = {
        profile: h.profile, objectType: h.objectType, samplingFrequencyIndex: h.samplingFrequencyIndex,
        sampleRate: h.sampleRate, channelConfiguration: h.channelConfiguration, channels: h.channels,
      };
    } else {
      for (const key of STREAM_KEYS) {
        if (h[key] !== this.first[key]) {
          throw new Error(`${this.where()}: ${key} ${h[key]} differs from the first frame's ${this.first[key]}`);
        }
      }
    }
    this.headerNeed = h.headerLength;
    this.payloadSize = h.frameLength - h.headerLength;
  }

  private where(): string {
    return `ADTS frame ${this.count} at byte ${this.frameOffset}`;
  }

  private startPayload(): void {
    this.headerHave = 0;
    this.headerNeed = FIXED_HEADER_BYTES;
    this.payloadLeft = this.payloadSize;
    if (this.payloadLeft === 0) this.endFrame();
  }

  private endFrame(): void {
    this.totalPayload += this.payloadSize;
    if (!this.keepSizes) {
      this.count++;
      return;
    }
    if (this.count === this.sizes.length) {
      // Doubling keeps appends amortised O(1) at 2 bytes a frame (plus the
      // slack): about 0.6 MB for two hours of 44.1 kHz AAC.
      const grown = new Uint16Array(this.sizes.length * 2);
      grown.set(this.sizes);
      this.sizes = grown;
    }
    this.sizes[this.count++] = this.payloadSize;
  }
}

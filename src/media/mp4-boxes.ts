// Top-level ISO BMFF (MP4/M4A) box walker, enough to check that an output is
// "faststart" (moov before mdat) without trusting ffmpeg's word for it.
// Box header layout: ISO/IEC 14496-12 §4.2 (32-bit size, 4CC type, size 1 =
// 64-bit largesize follows, size 0 = box runs to the end of the file).
import { open } from 'node:fs/promises';

export interface Mp4Box {
  type: string;
  offset: number;
  size: number;
}

/** Parses one box header at `offset`; null when it is cut short or malformed. */
function parseHeader(header: Buffer, offset: number, fileSize: number): Mp4Box | null {
  if (header.length < 8) return null;
  let size = header.readUInt32BE(0);
  const type = header.toString('latin1', 4, 8);
  let headerSize = 8;
  if (size === 1) {
    if (header.length < 16) return null;
    size = Number(header.readBigUInt64BE(8));
    headerSize = 16;
  } else if (size === 0) {
    size = fileSize - offset;
  }
  if (size < headerSize || offset + size > fileSize) return null;
  return { type, offset, size };
}

/**
 * Top-level boxes of a whole file held in memory. Stops at the first header
 * that is truncated or overruns the buffer, and marks it with type `!bad`
 * so callers can tell a clean file from a cut one.
 */
export function topLevelBoxes(buf: Buffer): Mp4Box[] {
  return headerBoxes(buf, buf.length);
}

/**
 * The boxes whose headers lie in `header`, the first bytes of a file of
 * `fileSize` bytes (e.g. an M4A header whose mdat payload is elsewhere).
 */
export function headerBoxes(header: Buffer, fileSize: number): Mp4Box[] {
  const boxes: Mp4Box[] = [];
  for (let offset = 0; offset < header.length; ) {
    const box = parseHeader(header.subarray(offset, offset + 16), offset, fileSize);
    if (box === null) {
      boxes.push({ type: '!bad', offset, size: fileSize - offset });
      break;
    }
    boxes.push(box);
    offset += box.size;
  }
  return boxes;
}

/** Same walk on a file, reading only the 16-byte headers (outputs can be 100+ MB). */
export async function readTopLevelBoxes(path: string): Promise<Mp4Box[]> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const boxes: Mp4Box[] = [];
    const header = Buffer.alloc(16);
    let offset = 0;
    while (offset < fileSize) {
      const { bytesRead } = await file.read(header, 0, 16, offset);
      const box = parseHeader(header.subarray(0, bytesRead), offset, fileSize);
      if (box === null) {
        boxes.push({ type: '!bad', offset, size: fileSize - offset });
        break;
      }
      boxes.push(box);
      offset += box.size;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

/** True when the box list starts with ftyp and has a moov before any mdat. */
export function isFaststart(boxes: readonly Mp4Box[]): boolean {
  const types = boxes.map((box) => box.type);
  const moov = types.indexOf('moov');
  const mdat = types.indexOf('mdat');
  return types[0] === 'ftyp' && moov !== -1 && mdat !== -1 && moov < mdat && !types.includes('!bad');
}

// A tiny ISO BMFF (MP4) box writer: big-endian fields into a growing buffer,
// box sizes patched after each body. Used by m4a-mux.ts.

/**
 * Big-endian writer into a growing buffer. `box()` writes a size placeholder,
 * runs the body, then patches the size, the way ffmpeg's update_size() does,
 * so no box size is computed by hand.
 */
export class BoxWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  /** A good `capacity` guess spares the copies of doubling (the stsz alone is 1.2 MB for two hours). */
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.pos, v); this.pos += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.pos, v); this.pos += 2; }
  u24(v: number): void { this.u8(v >>> 16); this.u16(v & 0xffff); }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.pos, v); this.pos += 4; }
  u64(v: number): void { this.reserve(8); this.view.setBigUint64(this.pos, BigInt(v)); this.pos += 8; }
  /** A 32- or 64-bit field, as a full box's version (0 or 1) says. */
  uv(version: number, v: number): void { if (version === 1) this.u64(v); else this.u32(v); }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  zeros(n: number): void { this.reserve(n); this.buf.fill(0, this.pos, this.pos + n); this.pos += n; }
  fourcc(s: string): void { for (let i = 0; i < 4; i++) this.u8(s.charCodeAt(i)); }
  cstring(s: string): void { for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i)); this.u8(0); }

  box(type: string, body: () => void): void {
    const start = this.pos;
    this.u32(0);
    this.fourcc(type);
    body();
    this.view.setUint32(start, this.pos - start);
  }
  fullBox(type: string, version: number, flags: number, body: () => void): void {
    this.box(type, () => { this.u8(version); this.u24(flags); body(); });
  }
  /** MPEG-4 descriptor with ffmpeg's fixed 4-byte size field (0x80 0x80 0x80 n), which every parser accepts. */
  descriptor(tag: number, body: () => void): void {
    this.u8(tag);
    const sizeAt = this.pos;
    this.zeros(4);
    body();
    const n = this.pos - sizeAt - 4;
    this.buf.set([0x80 | ((n >>> 21) & 0x7f), 0x80 | ((n >>> 14) & 0x7f), 0x80 | ((n >>> 7) & 0x7f), n & 0x7f], sizeAt);
  }
  result(): Uint8Array { return this.buf.subarray(0, this.pos); }
}

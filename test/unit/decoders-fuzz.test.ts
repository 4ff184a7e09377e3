// Property-based fuzzing (fast-check, bounded runs) of the decoders that read
// bytes or strings a client or the database hands us: they must answer or
// refuse clearly, never crash with something else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeCursor, encodeCursor, isAssetId } from '../../src/domain/asset.js';
import { decodeEnvelope, waveformBars } from '../../src/analysis/peaks.js';

const RUNS = { numRuns: 500 };
/** timestamptz runs from 4713 BC to 294276 AD; encodeCursor only ever writes 4-digit years. */
const PG_SAFE = { min: Date.parse('0001-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') };

const isClearEnvelopeError = (e: unknown) => e instanceof Error && /^malformed waveform envelope: /.test(e.message);

/** A header that passes the version and reserved-byte checks, then anything. */
const headedEnvelope = fc
  .record({
    spb: fc.oneof(fc.constantFrom(0, 1, 2, 32, 0xffff_ffff), fc.nat()),
    count: fc.oneof(fc.constantFrom(0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    peaks: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((v) => new Uint8Array(Uint16Array.from(v).buffer))),
  })
  .map(({ spb, count, peaks }) => {
    const b = Buffer.alloc(16 + peaks.length);
    b.writeUInt8(1, 0);
    b.writeUInt32LE(spb >>> 0, 4);
    b.writeBigUInt64LE(count, 8);
    Buffer.from(peaks).copy(b, 16);
    return b;
  });

/** Envelopes that decode: consistent header and peak count, random peaks. */
const consistentEnvelope = fc
  .record({ spb: fc.integer({ min: 1, max: 2 ** 20 }), buckets: fc.integer({ min: 0, max: 300 }), tail: fc.nat(), seed: fc.nat() })
  .map(({ spb, buckets, tail, seed }) => {
    const count = buckets === 0 ? 0 : (buckets - 1) * spb + 1 + (tail % spb);
    const b = Buffer.alloc(16 + 2 * buckets);
    b.writeUInt8(1, 0);
    b.writeUInt32LE(spb, 4);
    b.writeBigUInt64LE(BigInt(count), 8);
    for (let i = 0; i < buckets; i++) b.writeUInt16LE((seed * (i + 7)) % 32768, 16 + 2 * i);
    return b;
  });

describe('decodeEnvelope (fuzz)', () => {
  it('throws nothing but its clear Error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeEnvelope(Buffer.from(bytes));
        } catch (e) {
          assert.ok(isClearEnvelopeError(e), String(e));
        }
      }),
      RUNS,
    );
  });

  it('throws nothing but its clear Error on a valid header followed by anything', () => {
    fc.assert(
      fc.property(headedEnvelope, (b) => {
        try {
          decodeEnvelope(b);
        } catch (e) {
          assert.ok(isClearEnvelopeError(e), String(e));
        }
      }),
      RUNS,
    );
  });

  it('gives, for whatever it accepts, `bars` integers in 0..100 for any bars in 1..1024', () => {
    fc.assert(
      fc.property(consistentEnvelope, fc.integer({ min: 1, max: 1024 }), (b, bars) => {
        const out = waveformBars(decodeEnvelope(b), bars);
        assert.equal(out.length, bars);
        assert.ok(out.every((v) => Number.isInteger(v) && v >= 0 && v <= 100), out.join());
      }),
      RUNS,
    );
  });
});

describe('decodeCursor (fuzz)', () => {
  const forged = fc.oneof(
    fc.string(),
    fc.string().map((s) => Buffer.from(s).toString('base64url')),
    fc.tuple(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9a-f-]{36}$/), fc.string()))
      .map(([iso, id]) => Buffer.from(`${iso}|${id}`).toString('base64url')),
  );

  it('never throws on any string, and round-trips the cursors it makes', () => {
    fc.assert(
      fc.property(forged, (s) => {
        const c = decodeCursor(s);
        if (c) assert.ok(!Number.isNaN(c.createdAt.getTime()));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.date({ min: new Date(PG_SAFE.min), max: new Date(PG_SAFE.max), noInvalidDate: true }), fc.uuid(), (createdAt, id) => {
        assert.deepEqual(decodeCursor(encodeCursor({ createdAt, id })), { createdAt, id });
      }),
      RUNS,
    );
  });

  it('only lets through ids PostgreSQL takes as a uuid and dates it can store', () => {
    fc.assert(
      fc.property(forged, (s) => {
        const c = decodeCursor(s);
        if (!c) return;
        assert.ok(isAssetId(c.id), c.id);
        assert.ok(c.createdAt.getTime() >= PG_SAFE.min && c.createdAt.getTime() <= PG_SAFE.max, c.createdAt.toISOString());
      }),
      RUNS,
    );
  });
});

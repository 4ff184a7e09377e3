import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatWaveform, discordValueCount, packFiveBit } from '../../src/analysis/chat-waveform.js';
import { PeakReducer, waveformBars } from '../../src/analysis/peaks.js';

/**
 * Telegram's own description of a voice note's waveform (tdesktop's
 * `documentWaveformDecode`): value i is the 5 bits starting at bit 5*i, read
 * from the 16-bit little-endian word at byte (5*i)/8, shifted right by
 * (5*i)%8; the count is floor(bytes * 8 / 5).
 */
function telegramDecode(bytes: Uint8Array): number[] {
  const count = Math.floor((bytes.length * 8) / 5);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const byte = (i * 5) >> 3;
    const shift = (i * 5) & 7;
    const word = bytes[byte]! | ((bytes[byte + 1] ?? 0) << 8);
    out.push((word >> shift) & 0x1f);
  }
  return out;
}

function rampEnvelope(seconds: number) {
  const r = new PeakReducer();
  const pcm = new Int16Array(seconds * 44_100);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin(i / 20) * (i / pcm.length) * 30_000);
  r.push(pcm);
  return r.result();
}

describe('chat waveforms', () => {
  it('Telegram: 100 values 0..31 that round-trip through a decoder written from Telegram\'s description', () => {
    const e = rampEnvelope(5);
    const w = chatWaveform(e, 'TELEGRAM', 5);
    assert.equal(w.values.length, 100);
    // The `waveform` bars, rescaled (contract), as for Discord and Matrix.
    assert.deepEqual(w.values, waveformBars(e, 100).map((b) => Math.round((b * 31) / 100)));
    assert.equal(Math.max(...w.values), 31);
    assert.ok(w.values.every((v) => Number.isInteger(v) && v >= 0 && v <= 31));
    const bytes = Buffer.from(w.encoded!, 'base64');
    assert.equal(bytes.length, 63);
    assert.deepEqual(telegramDecode(bytes), w.values);
  });

  it('packs 5-bit values least significant bit first', () => {
    assert.deepEqual([...packFiveBit([1, 0])], [0x01, 0x00]);
    assert.deepEqual([...packFiveBit([0, 1])], [0x20, 0x00]); // value 1 at bit 5
    assert.deepEqual([...packFiveBit([31, 31, 31, 31, 31, 31, 31, 31])], [0xff, 0xff, 0xff, 0xff, 0xff]);
    const all = Array.from({ length: 100 }, (_, i) => (i * 7) % 32);
    assert.deepEqual(telegramDecode(packFiveBit(all)), all);
    assert.throws(() => packFiveBit([32]), RangeError);
  });

  it('Discord: ten values a second up to 256, 0..255, base64 of the bytes', () => {
    assert.equal(discordValueCount(0.04), 1);
    assert.equal(discordValueCount(3.2), 32);
    assert.equal(discordValueCount(25.6), 256);
    assert.equal(discordValueCount(7200), 256);
    const e = rampEnvelope(3);
    const w = chatWaveform(e, 'DISCORD', 3);
    assert.equal(w.values.length, 30);
    assert.equal(Math.max(...w.values), 255);
    assert.deepEqual([...Buffer.from(w.encoded!, 'base64')], w.values);
    // Bars as in `waveform`, rescaled.
    assert.deepEqual(w.values, waveformBars(e, 30).map((b) => Math.round((b * 255) / 100)));
  });

  it('Matrix: 100 values 0..1024 and no encoding', () => {
    const e = rampEnvelope(2);
    const w = chatWaveform(e, 'MATRIX', 2);
    assert.equal(w.encoded, null);
    assert.equal(w.values.length, 100);
    assert.equal(Math.max(...w.values), 1024);
    assert.deepEqual(w.values, waveformBars(e, 100).map((b) => Math.round((b * 1024) / 100)));
  });

  it('digital silence is all zeros in every format', () => {
    const r = new PeakReducer();
    r.push(new Int16Array(44_100));
    for (const f of ['DISCORD', 'TELEGRAM', 'MATRIX'] as const) assert.ok(chatWaveform(r.result(), f, 1).values.every((v) => v === 0));
  });
});

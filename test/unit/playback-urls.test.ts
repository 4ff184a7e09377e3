// Playback URLs are signed per window and reused within it; each one handed
// out must stay valid for at least PLAYBACK_URL_TTL_SECONDS from that moment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PlaybackUrls, signingWindow, windowSeconds } from '../../src/storage/playback-urls.js';
import { MAX_PRESIGN_EXPIRES_SECONDS } from '../../src/storage/sigv4.js';

const ID = '0b7b1c5e-2a7c-4c5e-9a55-7f3f4b0d2e11';
const OTHER = '9f0e2d3c-4b5a-4968-8776-655443322110';

/** A storage stand-in that records what it was asked to sign. */
function fakeStorage() {
  const calls: { key: string; ttl: number; date: Date; response: object }[] = [];
  return {
    calls,
    presignPublicGet: async (key: string, ttl: number, response: object = {}, date?: Date) => {
      calls.push({ key, ttl, date: date!, response });
      return `https://s3.example/${key}?date=${date!.toISOString()}&ttl=${ttl}&n=${calls.length}`;
    },
  };
}

describe('signingWindow', () => {
  it('keeps every URL valid for at least the TTL, at most TTL + window, within the 7-day cap (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_PRESIGN_EXPIRES_SECONDS }), fc.integer({ min: 0, max: 4e12 }), (ttl, now) => {
        const w = signingWindow(now, ttl);
        const expiresAtMs = w.signingDate.getTime() + w.expiresInSeconds * 1000;
        assert.ok(expiresAtMs - now >= ttl * 1000, 'valid for the TTL from now');
        assert.ok(w.expiresInSeconds <= MAX_PRESIGN_EXPIRES_SECONDS, 'S3 refuses longer');
        assert.ok(w.expiresInSeconds <= ttl + windowSeconds(ttl));
        assert.ok(w.signingDate.getTime() <= now, 'never signed in the future');
        assert.ok(w.signingDate.getTime() % 1000 === 0 || windowSeconds(ttl) === 0, 'whole seconds');
      }),
      { numRuns: 2000 },
    );
  });

  it('uses an hour for the default day-long TTL, a quarter for short ones, none at the 7-day cap', () => {
    assert.equal(windowSeconds(86_400), 3600);
    assert.equal(windowSeconds(600), 150);
    assert.equal(windowSeconds(MAX_PRESIGN_EXPIRES_SECONDS), 0);
    assert.equal(windowSeconds(MAX_PRESIGN_EXPIRES_SECONDS - 100), 100);
  });

  it('gives every moment of a window the same signing date, on every node', () => {
    const start = Date.UTC(2026, 10, 25, 20, 0, 0);
    const a = signingWindow(start + 1, 86_400);
    const b = signingWindow(start + 3_599_999, 86_400);
    assert.equal(a.signingDate.getTime(), start);
    assert.equal(b.signingDate.getTime(), start);
    assert.equal(a.expiresInSeconds, 86_400 + 3600);
    assert.equal(signingWindow(start + 3_600_000, 86_400).signingDate.getTime(), start + 3_600_000);
  });
});

describe('PlaybackUrls', () => {
  it('signs once per asset and window, as audio/mp4 under a server-made name', async () => {
    const storage = fakeStorage();
    const clock = { ms: Date.UTC(2026, 10, 25, 20, 10, 0) };
    const urls = new PlaybackUrls(storage, 86_400, { now: () => clock.ms });
    const first = await urls.url(ID);
    clock.ms += 30 * 60_000;
    assert.equal(await urls.url(ID), first, 'same URL later in the window');
    assert.equal(storage.calls.length, 1);
    assert.deepEqual(storage.calls[0], {
      key: `audio/${ID}.m4a`,
      ttl: 86_400 + 3600,
      date: new Date(Date.UTC(2026, 10, 25, 20, 0, 0)),
      response: { contentType: 'audio/mp4', contentDisposition: `inline; filename="audio-${ID}.m4a"` },
    });
    assert.notEqual(await urls.url(OTHER), first, 'another asset, another URL');
  });

  it('signs afresh in the next window, so a URL handed out still has the TTL ahead of it', async () => {
    const storage = fakeStorage();
    const clock = { ms: Date.UTC(2026, 10, 25, 20, 59, 59, 999) };
    const urls = new PlaybackUrls(storage, 86_400, { now: () => clock.ms });
    const late = await urls.url(ID);
    clock.ms += 1;
    const next = await urls.url(ID);
    assert.notEqual(next, late);
    assert.equal(storage.calls[1]!.date.getTime(), clock.ms);
  });

  it('does not serve a URL from a later window when the clock steps back', async () => {
    const storage = fakeStorage();
    const clock = { ms: Date.UTC(2026, 10, 25, 21, 0, 5) };
    const urls = new PlaybackUrls(storage, 86_400, { now: () => clock.ms });
    await urls.url(ID);
    clock.ms -= 10_000;
    await urls.url(ID);
    assert.equal(storage.calls.length, 2);
    assert.ok(storage.calls[1]!.date.getTime() <= clock.ms);
  });

  it('keeps at most maxEntries assets, and forgets a failed signature', async () => {
    const storage = fakeStorage();
    const urls = new PlaybackUrls(storage, 86_400, { maxEntries: 1, now: () => Date.UTC(2026, 0, 1, 0, 30) });
    await urls.url(ID);
    await urls.url(OTHER);
    await urls.url(ID);
    assert.equal(storage.calls.length, 3, 'ID was evicted by OTHER');

    let fail = true;
    const flaky = {
      presignPublicGet: async () => {
        if (fail) throw new Error('signing failed');
        return 'https://s3.example/ok';
      },
    };
    const retrying = new PlaybackUrls(flaky, 86_400);
    await assert.rejects(retrying.url(ID), /signing failed/);
    fail = false;
    await new Promise((r) => setImmediate(r));
    assert.equal(await retrying.url(ID), 'https://s3.example/ok');
  });

  it('signs every call when the TTL leaves no room for a window', async () => {
    const storage = fakeStorage();
    const urls = new PlaybackUrls(storage, MAX_PRESIGN_EXPIRES_SECONDS);
    await urls.url(ID);
    await urls.url(ID);
    assert.equal(storage.calls.length, 2);
    assert.equal(storage.calls[0]!.ttl, MAX_PRESIGN_EXPIRES_SECONDS);
  });
});

// Fair processing through the real worker (two ordinary slots and the
// voice-note slot): the order in which assets reach PROCESSING and DONE, as
// every user's subscription delivers it, one log in commit order.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LONG_JOB_NICE, VOICE_NOTE_MAX_BYTES } from '../../src/domain/fairness.js';
import { COMPLETE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { makeAudio } from '../helpers/fixtures.js';

const SUBSCRIBE = /* GraphQL */ `subscription { assetUpdated { id status } }`;

interface Entry { id: string; status: string }

/** Every status change of the given users' assets, in arrival order. */
class EventLog {
  readonly entries: Entry[] = [];
  private waiters: (() => void)[] = [];

  constructor(private readonly t: TestApp) {}

  async watch(user: string): Promise<void> {
    const ws = this.t.ws(await this.t.token(user));
    await new Promise<void>((resolve, reject) => {
      ws.on('connected', () => setTimeout(resolve, 50));
      ws.subscribe<{ assetUpdated: Entry }>({ query: SUBSCRIBE }, {
        next: (v) => {
          if (!v.data) return;
          this.entries.push(v.data.assetUpdated);
          for (const w of this.waiters.splice(0)) w();
        },
        error: reject,
        complete: () => {},
      });
    });
  }

  /** Index of the first entry of `id` with `status`, or -1. */
  at(id: string, status: string): number {
    return this.entries.findIndex((e) => e.id === id && e.status === status);
  }

  async until(what: string, done: () => boolean, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.entries.slice(-20))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
    }
  }
}

/** Nice levels of the ffmpeg processes this process (the in-process worker) has running, sandboxed or not. */
async function ffmpegNiceLevels(): Promise<number[]> {
  const procs = new Map<number, { name: string; ppid: number; nice: number }>();
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) (.*)$/s.exec(stat);
    if (!m) continue;
    const fields = m[2]!.split(' '); // from field 3 (state) on
    procs.set(Number(pid), { name: m[1]!, ppid: Number(fields[1]), nice: Number(fields[16]) }); // ppid (4), nice (19)
  }
  // Under bubblewrap ffmpeg's parent is the sandbox, whose parent is this process.
  const ours = (pid: number): boolean => {
    for (let p = procs.get(pid)?.ppid, hops = 0; p !== undefined && hops < 4; p = procs.get(p)?.ppid, hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return [...procs].filter(([pid, p]) => p.name === 'ffmpeg' && ours(pid)).map(([, p]) => p.nice);
}

describe('fair processing', () => {
  let t: TestApp;
  let dir: string;
  let longFile: Buffer;
  let voiceFile: Buffer;
  before(async () => {
    t = await startTestApp({ env: { WORKER_CONCURRENCY: '2' } });
    dir = await mkdtemp(path.join(tmpdir(), 'audio-fair-'));
    // 8 kHz mono WAV: ten minutes in ~9.6 MB, far over the voice lane's 2 MiB.
    longFile = await readFile(await makeAudio(dir, { kind: 'wav-8k-mono', seconds: 600 }));
    voiceFile = await readFile(await makeAudio(dir, { kind: 'mp3', seconds: 3 }));
    assert.ok(longFile.length > VOICE_NOTE_MAX_BYTES && voiceFile.length <= VOICE_NOTE_MAX_BYTES);
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const submit = async (user: string, body: Buffer, name: string): Promise<string> => {
    const token = await t.token(user);
    const id = await prepareAndPut(t, body, { filename: name, contentType: name.endsWith('.wav') ? 'audio/wav' : 'audio/mpeg' }, token);
    const c = await t.gql(COMPLETE, { id }, token);
    assert.equal(c.errors, undefined, JSON.stringify(c.errors));
    return id;
  };

  it('runs a voice note completed while long files fill every slot before them, and ends it before they end', async () => {
    const log = new EventLog(t);
    const users = ['long-1', 'long-2', 'long-3', 'talker'];
    for (const u of users) await log.watch(u);
    const longs: string[] = [];
    for (const u of users.slice(0, 3)) longs.push(await submit(u, longFile, 'podcast.wav'));
    await log.until('two long files processing', () => longs.filter((id) => log.at(id, 'PROCESSING') >= 0).length === 2);
    const waiting = longs.find((id) => log.at(id, 'PROCESSING') < 0)!;
    // The long files' ffmpeg yields the CPU (nice 19) to a voice note's.
    let nice: number[] = [];
    for (let i = 0; i < 100 && nice.length === 0; i++) {
      nice = await ffmpegNiceLevels();
      if (nice.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(nice.length > 0 && nice.every((n) => n === LONG_JOB_NICE), `ffmpeg nice levels: ${nice}`);
    const voice = await submit('talker', voiceFile, 'note.mp3');
    await log.until('the voice note to end', () => log.at(voice, 'DONE') >= 0 || log.at(voice, 'FAILED') >= 0);
    assert.ok(log.at(voice, 'DONE') >= 0, JSON.stringify(log.entries));
    // It did not wait for a slot: no long file had ended, and the one queued before it had not started.
    for (const id of longs) assert.equal(log.at(id, 'DONE'), -1, `a long file ended before the voice note: ${JSON.stringify(log.entries)}`);
    assert.equal(log.at(waiting, 'PROCESSING'), -1, JSON.stringify(log.entries));
    // Nothing is lost: every long file still ends DONE, each after exactly one PROCESSING start.
    await log.until('every long file to end', () => longs.every((id) => log.at(id, 'DONE') >= 0), 300_000);
  });

  it("starts user B's file before user A's third-next, with A's 20 long files queued first", async () => {
    const log = new EventLog(t);
    await log.watch('user-a');
    await log.watch('user-b');
    const a: string[] = [];
    for (let i = 0; i < 20; i++) a.push(await submit('user-a', longFile, `a-${i}.wav`));
    const queuedAt = log.entries.length;
    const b = await submit('user-b', longFile, 'b.wav');
    await log.until("B's file to start", () => log.at(b, 'PROCESSING') >= 0, 300_000);
    const bStart = log.at(b, 'PROCESSING');
    const aStartsBetween = a.filter((id) => {
      const i = log.at(id, 'PROCESSING');
      return i >= queuedAt && i < bStart;
    });
    assert.ok(aStartsBetween.length <= 2, `A started ${aStartsBetween.length} files after B queued, before B: ${JSON.stringify(log.entries)}`);
  });
});

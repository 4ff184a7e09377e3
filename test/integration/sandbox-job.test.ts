// A real job's ffmpeg runs sandboxed: while the worker (this process) runs a
// job, every ffmpeg under its job dir is found in /proc and must live in a
// pid namespace of its own (bubblewrap), where the worker's /proc/<pid>/environ
// does not exist, or, without a working bubblewrap, as another user.
import assert from 'node:assert/strict';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { detectSandboxTools, SANDBOX_UID } from '../../src/media/sandbox.js';
import { makeAudio } from '../helpers/fixtures.js';
import { COMPLETE, prepareAndPut, startTestAppWithDir, waitForEnd, type TestApp } from '../helpers/app.js';

interface Seen {
  pid: number;
  /** Its pid in each namespace, outermost first: two entries = a pid namespace of its own. */
  nsPids: number[];
  uid: number;
  pidNamespace: string;
}

/** Every ffmpeg whose command line names a dir under `tmpDir` (a job's), as /proc shows it now. */
async function ffmpegsUnder(tmpDir: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = (await readFile(`/proc/${name}/comm`, 'utf8')).trim();
      if (comm !== 'ffmpeg') continue;
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes(tmpDir)) continue;
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const field = (key: string) => /^(\S+):\t(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${key}:`)) ?? '')?.[2] ?? '';
      seen.push({
        pid: Number(name),
        nsPids: field('NSpid').split(/\s+/).map(Number),
        uid: Number(field('Uid').split(/\s+/)[0]),
        pidNamespace: await readlink(`/proc/${name}/ns/pid`),
      });
    } catch {
      // it ended while we looked
    }
  }
  return seen;
}

describe('ffmpeg of a real job', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    ({ t, dir } = await startTestAppWithDir('sandbox-job-'));
  });
  after(() => t?.stop());

  it('runs in the sandbox: its own pid namespace under bubblewrap, else as nobody', async () => {
    const tools = await detectSandboxTools();
    assert.ok(tools.bwrap || tools.runAs, 'this machine has bubblewrap or root (.ci/run installs bubblewrap)');
    // Long enough to be seen in /proc while it decodes.
    const file = await makeAudio(dir, { kind: 'mp3', seconds: 240 });
    const id = await prepareAndPut(t, file, { contentType: 'audio/mpeg', filename: 'long.mp3' });
    const seen = new Map<number, Seen>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const s of await ffmpegsUnder(t.tmpDir)) seen.set(s.pid, s);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const c = await t.gql(COMPLETE, { id });
    assert.equal(c.errors, undefined, JSON.stringify(c.errors));
    const asset = await waitForEnd(t, id);
    watching = false;
    await watch;
    assert.equal(asset.status, 'DONE', JSON.stringify(asset));
    assert.ok(seen.size > 0, 'an ffmpeg of the job was seen running');
    const ours = await readlink('/proc/self/ns/pid');
    for (const s of seen.values()) {
      if (tools.bwrap) {
        assert.notEqual(s.pidNamespace, ours, `ffmpeg ${s.pid} shares the worker's pid namespace`);
        assert.equal(s.nsPids.length, 2, `NSpid of ffmpeg ${s.pid}: ${s.nsPids.join(' ')}`);
      } else {
        assert.equal(s.uid, SANDBOX_UID, `ffmpeg ${s.pid} runs as uid ${s.uid}`);
      }
    }
  });
});

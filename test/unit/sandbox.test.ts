import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertSandboxed,
  detectSandboxTools,
  endingSignal,
  sandboxCommand,
  sandboxGaps,
  SANDBOX_ENV,
  SandboxUnavailableError,
  type SandboxLimits,
  type SandboxTools,
} from '../../src/media/sandbox.js';

const LIMITS: SandboxLimits = { cpuSeconds: 60, addressSpaceBytes: 1 << 30, fileSizeBytes: 50 << 20, processes: 64, openFiles: 128, nice: 10 };
const ALL: SandboxTools = { bwrap: '/usr/bin/bwrap', setpriv: '/usr/bin/setpriv', prlimit: '/usr/bin/prlimit', nice: '/usr/bin/nice', runAs: { uid: 65534, gid: 65534 } };
const base = { ffmpegPath: '/usr/bin/ffmpeg', args: ['-i', 'http://127.0.0.1:9000/x'], workDir: '/tmp/job-1', limits: LIMITS };

/** The argument after `flag` (each occurrence). */
const after_ = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

describe('sandboxCommand', () => {
  it('runs ffmpeg under bwrap in new pid and user namespaces, as nobody, without capabilities, then prlimit and nice', () => {
    const { kind, argv } = sandboxCommand({ ...base, tools: ALL });
    assert.equal(kind, 'bwrap');
    assert.equal(argv[0], '/usr/bin/bwrap');
    for (const flag of ['--unshare-pid', '--unshare-user', '--die-with-parent', '--clearenv']) assert.ok(argv.includes(flag), flag);
    // The runner's detached spawn is the session (no terminal): a second one would escape its autogroup's nice.
    assert.ok(!argv.includes('--new-session'));
    assert.ok(!argv.includes('--unshare-net'), 'ffmpeg reads its input over the network');
    assert.deepEqual(after_(argv, '--uid'), ['65534']);
    assert.deepEqual(after_(argv, '--cap-drop'), ['ALL']);
    assert.deepEqual(after_(argv, '--proc'), ['/proc']);
    assert.deepEqual(after_(argv, '--bind'), ['/tmp/job-1']);
    assert.ok(after_(argv, '--ro-bind-try').includes('/usr'));
    assert.deepEqual(after_(argv, '--ro-bind'), [], 'a /usr/bin ffmpeg needs no bind of its own');
    const inner = argv.slice(argv.indexOf('--') + 1);
    assert.deepEqual(inner, [
      '/usr/bin/prlimit', '--cpu=60:65', `--as=${1 << 30}`, `--fsize=${50 << 20}`, '--nproc=64', '--nofile=128', '--core=0', '--',
      '/usr/bin/nice', '-n', '10', '/usr/bin/ffmpeg', '-i', 'http://127.0.0.1:9000/x',
    ]);
  });

  it('binds an ffmpeg outside /usr and extra read-only paths (a CA file) read-only', () => {
    const { argv } = sandboxCommand({ ...base, ffmpegPath: '/srv/app/node_modules/ffmpeg', readOnlyPaths: ['/etc/storage-ca.pem'], tools: ALL });
    assert.deepEqual(after_(argv, '--ro-bind'), ['/srv/app/node_modules/ffmpeg', '/etc/storage-ca.pem']);
  });

  it('runs ffmpeg as another user with setpriv when bwrap cannot run but we are root', () => {
    const { kind, argv } = sandboxCommand({ ...base, tools: { ...ALL, bwrap: null } });
    assert.equal(kind, 'user');
    assert.deepEqual(argv.slice(0, 6), ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--']);
    assert.equal(argv[6], '/usr/bin/prlimit');
  });

  it('falls back to limits only, then to ffmpeg alone', () => {
    assert.deepEqual(sandboxCommand({ ...base, tools: { ...ALL, bwrap: null, runAs: null } }).kind, 'none');
    const bare = sandboxCommand({ ...base, tools: { bwrap: null, setpriv: null, prlimit: null, nice: null, runAs: null } });
    assert.deepEqual(bare, { kind: 'none', argv: ['/usr/bin/ffmpeg', '-i', 'http://127.0.0.1:9000/x'] });
  });

  it('refuses relative paths and limits that are not positive numbers', () => {
    assert.throws(() => sandboxCommand({ ...base, workDir: 'job', tools: ALL }), /absolute/);
    assert.throws(() => sandboxCommand({ ...base, limits: { ...LIMITS, openFiles: 0 }, tools: ALL }), /openFiles/);
    assert.throws(() => sandboxCommand({ ...base, limits: { ...LIMITS, fileSizeBytes: Number.NaN }, tools: ALL }), /fileSizeBytes/);
  });
});

describe('production refusal', () => {
  it('names what is missing, and refuses only in production', () => {
    const none: SandboxTools = { bwrap: null, setpriv: '/usr/bin/setpriv', prlimit: null, nice: null, runAs: null };
    assert.equal(sandboxGaps(none).length, 2);
    assert.throws(() => assertSandboxed(none, 'production'), (e: unknown) => e instanceof SandboxUnavailableError && /prlimit/.test(e.message) && /bubblewrap/.test(e.message));
    assert.doesNotThrow(() => assertSandboxed(none, 'development'));
    assert.doesNotThrow(() => assertSandboxed(ALL, 'production'));
    assert.doesNotThrow(() => assertSandboxed({ ...ALL, bwrap: null }, 'production'));
    assert.throws(() => assertSandboxed({ ...ALL, bwrap: null, runAs: null }, 'production'), SandboxUnavailableError);
  });

  it('reads bwrap exit codes over 128 as the signal that ended ffmpeg', () => {
    assert.equal(endingSignal('bwrap', 152, null), 'SIGXCPU');
    assert.equal(endingSignal('bwrap', 153, null), 'SIGXFSZ');
    assert.equal(endingSignal('bwrap', 1, null), null);
    assert.equal(endingSignal('none', 152, null), null);
    assert.equal(endingSignal('none', null, 'SIGKILL'), 'SIGKILL');
  });
});

/**
 * A parent started with a secret in its environment (as the worker is) runs
 * `script` through the sandbox argv, as the runner would, and prints its output.
 */
function runAsWorker(script: string, tools: SandboxTools, workDir: string, secret: string): Promise<string> {
  const moduleUrl = new URL('../../src/media/sandbox.js', import.meta.url).href;
  const parent = `
    const { sandboxCommand, SANDBOX_ENV } = await import(${JSON.stringify(moduleUrl)});
    const { spawn } = await import('node:child_process');
    const { argv } = sandboxCommand({ ffmpegPath: '/bin/sh', args: ['-c', ${JSON.stringify(script)}], workDir: ${JSON.stringify(workDir)},
      limits: ${JSON.stringify(LIMITS)}, tools: ${JSON.stringify(tools)} });
    const child = spawn(argv[0], argv.slice(1), { env: SANDBOX_ENV, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => process.exit(code ?? 1));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', parent], {
      env: { ...process.env, WORKER_SECRET: secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}

// Every environ a process in the sandbox can read, its parent's first.
const READ_ENVIRONS = 'cat /proc/$PPID/environ 2>/dev/null; for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null; done; echo; echo done';

describe('a sandboxed process and the worker secrets', () => {
  let tools: SandboxTools;
  let workDir: string;
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  before(async () => {
    tools = await detectSandboxTools();
    workDir = await mkdtemp(path.join(tmpdir(), 'sandbox-test-'));
    await chmod(workDir, 0o777); // the 'user' sandbox writes as nobody
  });
  after(() => rm(workDir, { recursive: true, force: true }));

  it('can read the worker environment when not sandboxed (the threat is real)', async () => {
    const out = await runAsWorker(READ_ENVIRONS, { bwrap: null, setpriv: null, prlimit: null, nice: null, runAs: null }, workDir, secret);
    assert.ok(out.includes(secret), 'the test would prove nothing');
  });

  it('cannot read the worker environment under bwrap, and runs under the limits', async (t) => {
    if (!tools.bwrap) return t.skip('no working bubblewrap here (.ci/run installs it)');
    const out = await runAsWorker(`${READ_ENVIRONS}; grep -E 'Max (file size|processes|open files)' /proc/self/limits | tr -s ' '; id -u; echo x > ${workDir}/w && echo wrote; ls /root 2>&1 || true`, tools, workDir, secret);
    assert.ok(out.includes('done'), out);
    assert.ok(!out.includes(secret), 'the secret leaked into the sandbox');
    assert.match(out, new RegExp(`Max file size ${LIMITS.fileSizeBytes} ${LIMITS.fileSizeBytes} bytes`));
    assert.match(out, /Max processes 64 64 processes/);
    assert.match(out, /Max open files 128 128 files/);
    assert.match(out, /\n65534\nwrote\n/);
    assert.match(out, /No such file/, 'the host file system beyond the binds is absent');
  });

  it('cannot read the worker environment as another user', async (t) => {
    if (!tools.setpriv || !tools.runAs) return t.skip('needs root and setpriv');
    const out = await runAsWorker(`${READ_ENVIRONS}; id -u`, { ...tools, bwrap: null }, workDir, secret);
    assert.ok(out.includes('done'), out);
    assert.ok(!out.includes(secret), 'the secret leaked to the other user');
    assert.match(out, /65534/);
  });

  it('runs the real ffmpeg under bwrap, and the file-size limit stops it with SIGXFSZ', async (t) => {
    if (!tools.bwrap || !existsSync('/usr/bin/ffmpeg')) return t.skip('needs a working bubblewrap and /usr/bin/ffmpeg');
    const run = (args: string[]) => {
      const { argv, kind } = sandboxCommand({ ffmpegPath: '/usr/bin/ffmpeg', args: ['-hide_banner', '-loglevel', 'error', '-y', ...args], workDir, limits: { ...LIMITS, fileSizeBytes: 1 << 20 }, tools });
      return new Promise<NodeJS.Signals | null | number>((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { env: SANDBOX_ENV, stdio: 'ignore' });
        child.once('exit', (code, signal) => resolve(code === 0 ? 0 : endingSignal(kind, code, signal)));
      });
    };
    assert.equal(await run(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', path.join(workDir, 'ok.m4a')]), 0);
    assert.equal(await run(['-f', 'lavfi', '-i', 'sine=d=60', '-c:a', 'pcm_s16le', path.join(workDir, 'big.wav')]), 'SIGXFSZ');
  });
});

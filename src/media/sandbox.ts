// Where ffmpeg runs: a decoder bug must not hand the worker's secrets to the
// file that triggered it. ffmpeg as the worker's own user could read
// /proc/<worker>/environ (database URL, storage key) and its memory. So it
// runs, best first:
// - 'bwrap': under bubblewrap, in new pid, ipc and uts namespaces (the worker
//   is not in its /proc at all) and a user namespace as uid 65534 with no
//   capabilities, seeing /usr and a few /etc files read-only, its job's work
//   dir writable and nothing else of the host's files. The network is shared:
//   it reads its input over HTTP from the storage.
// - 'user': without a working bwrap but as root, as another user (setpriv),
//   who may not read the worker's /proc files.
// - 'none': as the worker's user (development machines).
// and in every case under prlimit (CPU, address space, file size, processes,
// open files, no core dumps) and nice. Pure decisions here; the runner spawns
// the argv with SANDBOX_ENV.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './ffmpeg-binary.js';

export interface SandboxLimits {
  /** RLIMIT_CPU soft limit (SIGXCPU); hard = soft + 5 s (SIGKILL). */
  cpuSeconds: number;
  /** RLIMIT_AS. */
  addressSpaceBytes: number;
  /** RLIMIT_FSIZE: the largest file ffmpeg may write (SIGXFSZ past it). */
  fileSizeBytes: number;
  /** RLIMIT_NPROC: threads count too (ffmpeg runs a few per codec). */
  processes: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
  nice: number;
}

export type SandboxKind = 'bwrap' | 'user' | 'none';

export interface SandboxTools {
  /** bubblewrap, only when a probe run with our namespace flags worked. */
  bwrap: string | null;
  setpriv: string | null;
  prlimit: string | null;
  nice: string | null;
  /** Set when this process may switch users (root): who ffmpeg runs as without bwrap. */
  runAs: { uid: number; gid: number } | null;
}

export interface SandboxCommand {
  /** argv[0] is the program to spawn. */
  argv: string[];
  kind: SandboxKind;
}

/** nobody/nogroup on Debian: owns no file and no process of the service. */
export const SANDBOX_UID = 65534;

/**
 * The environment to spawn the argv with. bwrap's own init process (pid 1 in
 * the sandbox, readable there as /proc/1/environ) keeps the environment it
 * was started with, so that must already be free of secrets.
 */
export const SANDBOX_ENV: Readonly<Record<string, string>> = { LC_ALL: 'C' };

// What ffmpeg needs of the host: programs and libraries (/usr, /lib... where
// they are not symlinks into /usr, the loader's cache, Debian's alternatives
// that some libraries are reached through: libblas), TLS roots, name resolution.
const READ_ONLY_SYSTEM = [
  '/usr', '/lib', '/lib64', '/bin', '/sbin',
  '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives',
  '/etc/ssl', '/etc/ca-certificates', '/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/gai.conf',
];

/** The namespace and privilege flags; also what detectSandboxTools probes. */
function namespaceArgs(): string[] {
  return [
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID),
    '--cap-drop', 'ALL',
    // Dies with the runner even if only the runner's process is SIGKILLed.
    '--die-with-parent',
    // No `--new-session`: the runner's spawn already starts a session with no
    // controlling terminal (no TIOCSTI), and a second one would put ffmpeg in
    // a scheduler autogroup that setSessionNice does not reach.
  ];
}

function limitArgs(prlimit: string, l: SandboxLimits): string[] {
  const whole = (name: keyof SandboxLimits) => {
    const v = l[name];
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`sandbox limit ${name} must be a positive number, got ${v}`);
    return Math.ceil(v);
  };
  const cpu = whole('cpuSeconds');
  return [
    prlimit,
    `--cpu=${cpu}:${cpu + 5}`,
    `--as=${whole('addressSpaceBytes')}`,
    `--fsize=${whole('fileSizeBytes')}`,
    `--nproc=${whole('processes')}`,
    `--nofile=${whole('openFiles')}`,
    '--core=0',
    '--',
  ];
}

export interface SandboxOptions {
  ffmpegPath: string;
  args: readonly string[];
  /** The job's private directory: the only place ffmpeg may write. */
  workDir: string;
  limits: SandboxLimits;
  tools: SandboxTools;
  /** Files or directories ffmpeg must read besides the system's (a CA file). */
  readOnlyPaths?: readonly string[];
}

/** The sandbox these tools give: bubblewrap, else another user (root with setpriv), else none. */
export function sandboxKind(tools: SandboxTools): SandboxKind {
  if (tools.bwrap) return 'bwrap';
  return tools.setpriv && tools.runAs ? 'user' : 'none';
}

/** The argv that runs ffmpeg in the best sandbox the tools allow (sandboxKind). */
export function sandboxCommand(o: SandboxOptions): SandboxCommand {
  for (const p of [o.ffmpegPath, o.workDir, ...(o.readOnlyPaths ?? [])]) {
    if (!path.isAbsolute(p)) throw new Error(`sandbox paths must be absolute, got ${JSON.stringify(p)}`);
  }
  const inner = [
    ...(o.tools.prlimit ? limitArgs(o.tools.prlimit, o.limits) : []),
    ...(o.tools.nice ? [o.tools.nice, '-n', String(o.limits.nice)] : []),
    o.ffmpegPath,
    ...o.args,
  ];
  const kind = sandboxKind(o.tools);
  if (kind === 'bwrap') {
    const own = [o.ffmpegPath, ...(o.readOnlyPaths ?? [])].filter((p) => !p.startsWith('/usr/'));
    return {
      kind,
      argv: [
        o.tools.bwrap!,
        ...namespaceArgs(),
        ...READ_ONLY_SYSTEM.flatMap((p) => ['--ro-bind-try', p, p]),
        ...own.flatMap((p) => ['--ro-bind', p, p]),
        '--proc', '/proc',
        '--dev', '/dev',
        '--tmpfs', '/tmp',
        '--bind', o.workDir, o.workDir,
        '--chdir', o.workDir,
        '--clearenv', '--setenv', 'LC_ALL', 'C',
        '--',
        ...inner,
      ],
    };
  }
  if (kind === 'user') {
    const { uid, gid } = o.tools.runAs!;
    return { kind, argv: [o.tools.setpriv!, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--no-new-privs', '--', ...inner] };
  }
  return { kind, argv: inner };
}

/** What keeps ffmpeg from running sandboxed and limited here; empty when nothing does. */
export function sandboxGaps(tools: SandboxTools): string[] {
  const gaps: string[] = [];
  if (!tools.prlimit) gaps.push('prlimit (util-linux) is missing, so no resource limits');
  if (!tools.bwrap && !(tools.setpriv && tools.runAs)) {
    gaps.push('no working bubblewrap (bwrap), and not root with setpriv to run ffmpeg as another user');
  }
  return gaps;
}

export class SandboxUnavailableError extends Error {
  constructor(gaps: string[]) {
    super(
      `refusing to run ffmpeg unsandboxed in production: ${gaps.join('; ')}. ` +
        'Install bubblewrap and util-linux (apt-get install bubblewrap util-linux) where user namespaces are allowed, or run the worker as root so ffmpeg runs as another user.',
    );
    this.name = 'SandboxUnavailableError';
  }
}

/** Throws in production when ffmpeg would run without limits or without a sandbox. */
export function assertSandboxed(tools: SandboxTools, nodeEnv: string): void {
  const gaps = sandboxGaps(tools);
  if (nodeEnv === 'production' && gaps.length > 0) throw new SandboxUnavailableError(gaps);
}

/**
 * The signal that ended ffmpeg. bubblewrap reports a child killed by signal
 * N as its own exit code 128 + N (SIGXCPU: 152), where a direct child would
 * show the signal itself.
 */
export function endingSignal(kind: SandboxKind, code: number | null, signal: NodeJS.Signals | null): NodeJS.Signals | null {
  if (signal !== null || kind !== 'bwrap' || code === null || code <= 128) return signal;
  const byNumber = Object.entries(SIGNALS).find(([, n]) => n === code - 128);
  return byNumber ? (byNumber[0] as NodeJS.Signals) : null;
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGXCPU: 24, SIGXFSZ: 25 };

let detected: Promise<SandboxTools> | undefined;

/** Looked up once per process; bwrap counts only if a probe with our flags runs. */
export function detectSandboxTools(): Promise<SandboxTools> {
  detected ??= (async () => {
    const sbin = '/usr/bin:/bin:/usr/sbin:/sbin';
    const [bwrap, setpriv, prlimit, nice] = await Promise.all(
      ['bwrap', 'setpriv', 'prlimit', 'nice'].map((name) => findExecutable(name, sbin)),
    );
    const root = process.getuid?.() === 0;
    return {
      bwrap: bwrap && (await probe(bwrap)) ? bwrap : null,
      setpriv: setpriv ?? null,
      prlimit: prlimit ?? null,
      nice: nice ?? null,
      runAs: root ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : null,
    };
  })();
  return detected;
}

/** Whether bwrap can make our namespaces here (containers often forbid user namespaces). */
async function probe(bwrap: string): Promise<boolean> {
  const args = [...namespaceArgs(), '--ro-bind', '/', '/', '--proc', '/proc', '--', '/bin/true'];
  try {
    await promisify(execFile)(bwrap, args, { env: SANDBOX_ENV, timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Gives a spawned session's scheduler autogroup the job's nice level. With
 * kernel.sched_autogroup_enabled (the default of most distributions), CFS
 * shares the CPU between sessions first and by nice only within one: an
 * ffmpeg in its own session (the runner spawns it detached) got a whole
 * session's share whatever its nice, so long files' ffmpeg at nice 19 took
 * as much CPU as a voice note's. Best effort: without an autogroup file
 * (kernel option off, or a process in a non-root cgroup, where nice works
 * as it is) or permission (a non-root worker may set it once per 100 ms),
 * nice alone decides.
 */
export function setSessionNice(pid: number | undefined, nice: number): void {
  if (pid === undefined) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // See above: nothing to do.
  }
}

// Process helpers: timing a command (wall clock from node, CPU and peak RSS
// from GNU time -v when present), and watching a process tree through /proc.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import os from 'node:os';

export const GNU_TIME = '/usr/bin/time';
export const HAS_GNU_TIME = existsSync(GNU_TIME);
const CLOCK_TICKS = 100; // USER_HZ on Linux x86-64 (/proc/<pid>/stat utime, stime)
const PAGE_BYTES = 4096;

/** Writes a bash script and makes it executable (e.g. an FFMPEG_PATH wrapper); returns its path. */
export async function writeScript(file: string, body: string): Promise<string> {
  await writeFile(file, `#!/bin/bash\n${body}`);
  await chmod(file, 0o755);
  return file;
}

/** Wall-clock now in epoch milliseconds with sub-millisecond precision. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface TimedRun {
  wallMs: number;
  exitCode: number | null;
  /** From GNU time -v (null without it). */
  userSeconds: number | null;
  systemSeconds: number | null;
  maxRssBytes: number | null;
  stderr: string;
}

/**
 * Runs a command to completion and times it. With GNU time the command runs
 * under `/usr/bin/time -v` (one extra fork+exec, < 1 ms, on both sides of any
 * comparison that uses this function).
 */
export function timedRun(command: string, args: string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<TimedRun> {
  const argv = HAS_GNU_TIME ? [GNU_TIME, '-v', command, ...args] : [command, ...args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], cwd: options.cwd });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const num = (re: RegExp) => {
        const m = re.exec(stderr);
        return m ? Number(m[1]) : null;
      };
      const rssKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
      resolve({
        wallMs,
        exitCode: code,
        userSeconds: num(/User time \(seconds\): ([\d.]+)/),
        systemSeconds: num(/System time \(seconds\): ([\d.]+)/),
        maxRssBytes: rssKb === null ? null : rssKb * 1024,
        stderr,
      });
    });
  });
}

/** Runs commands with at most `parallelism` at once; resolves with the elapsed wall time. */
export async function runPool(jobs: (() => Promise<unknown>)[], parallelism: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, jobs.length) }, lane));
  return performance.now() - started;
}

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime in seconds. */
  cpuSeconds: number;
  /** cutime + cstime: CPU of children it has waited for (node reaps its ffmpeg children). */
  childCpuSeconds: number;
  rssBytes: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // Fields after comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21) in pages.
    return {
      pid,
      ppid: Number(f[1]),
      comm,
      cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
      childCpuSeconds: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
      rssBytes: Number(f[21]) * PAGE_BYTES,
    };
  } catch {
    return null; // exited between readdir and read
  }
}

/** /proc/<pid>/status VmHWM: the process's own peak resident set. */
export function peakRss(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The root and all its descendants, from one /proc scan. */
export function processTree(root: number, all = allProcesses()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const self = all.find((p) => p.pid === root);
  if (!self) return [];
  const tree = [self];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!.pid) ?? []));
  return tree;
}

export interface TreeSample {
  peakTreeRssBytes: number;
  /** Peak of each process seen (own VmHWM when readable, else sampled RSS), by comm. */
  peakByComm: Record<string, number>;
  /** Last CPU seconds seen of every descendant (not the root), summed: their CPU while we watched. */
  childCpuSeconds: number;
  rootCpuSeconds: number;
  samples: number;
}

/**
 * Samples a process tree's resident set every `intervalMs` (sum of the RSS of
 * the root and every descendant), keeping the peak, and each process's own
 * VmHWM, so short peaks between samples are still seen per process. The whole
 * of /proc is scanned for new descendants only every `scanEvery` samples
 * (~3 ms of CPU each on this kind of machine); in between only the known
 * pids are read (~0.1 ms), so the sampler itself barely competes with the job.
 */
export class TreeSampler {
  private timer: NodeJS.Timeout | null = null;
  private peakTree = 0;
  private readonly peaks = new Map<number, { comm: string; peak: number; cpu: number }>();
  private known: number[] = [];
  private samples = 0;

  constructor(
    private readonly root: number,
    private readonly intervalMs = 100,
    private readonly scanEvery = 5,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(fullScan = false): void {
    let tree: ProcStat[];
    if (fullScan || this.samples % this.scanEvery === 0 || this.known.length === 0) {
      tree = processTree(this.root);
      this.known = tree.map((p) => p.pid);
    } else {
      tree = this.known.map(readStat).filter((p): p is ProcStat => p !== null);
    }
    if (tree.length === 0) return;
    this.samples++;
    let total = 0;
    for (const p of tree) {
      total += p.rssBytes;
      const hwm = peakRss(p.pid) ?? p.rssBytes;
      const prev = this.peaks.get(p.pid);
      this.peaks.set(p.pid, { comm: p.comm, peak: Math.max(prev?.peak ?? 0, hwm), cpu: p.cpuSeconds });
    }
    this.peakTree = Math.max(this.peakTree, total);
  }

  stop(): TreeSample {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const peakByComm: Record<string, number> = {};
    let childCpu = 0;
    let rootCpu = 0;
    for (const [pid, p] of this.peaks) {
      peakByComm[p.comm] = Math.max(peakByComm[p.comm] ?? 0, p.peak);
      if (pid === this.root) rootCpu = p.cpu;
      else childCpu += p.cpu;
    }
    return { peakTreeRssBytes: this.peakTree, peakByComm, childCpuSeconds: childCpu, rootCpuSeconds: rootCpu, samples: this.samples };
  }
}

/** CPU seconds of one process so far (utime + stime) and of its reaped children, or null when it is gone. */
export function cpuOf(pid: number): { self: number; children: number } | null {
  const s = readStat(pid);
  return s ? { self: s.cpuSeconds, children: s.childCpuSeconds } : null;
}

/** CPU seconds of every process whose name starts with `comm` (e.g. postgres backends), summed. */
export function cpuOfComm(comm: string): number {
  return allProcesses().filter((p) => p.comm.startsWith(comm)).reduce((a, p) => a + p.cpuSeconds + p.childCpuSeconds, 0);
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat). */
export function machineCpu(): { busySeconds: number; totalSeconds: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busySeconds: busy / CLOCK_TICKS, totalSeconds: (busy + idle! + iowait!) / CLOCK_TICKS };
}

export const cpuCount = (): number => os.availableParallelism();

/** Runs a node script of the bench (dist/bench/...) and parses the JSON line it prints. */
export function nodeJson<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`${script} exited with ${code}`);
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T);
      } catch (e) {
        reject(e);
      }
    });
  });
}

// Results and the markdown they become. Each section returns a SectionResult;
// run.ts keeps the latest full result of every section in bench/results.json
// and rebuilds BENCHMARKS.md from all of them, so running one section alone
// updates its part and keeps the others (each part says when it was measured).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Target {
  /** e.g. "1. Podcast" */
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

export interface SectionResult {
  key: string;
  title: string;
  measuredAt: string;
  quick: boolean;
  machine: string;
  targets: Target[];
  /** The section's body: what was run, tables, notes. */
  markdown: string;
  data?: unknown;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const verdict = (met: boolean | null): string => (met === null ? 'n/a' : met ? '**met**' : '**missed**');

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memory: string;
  node: string;
  ffmpeg: string;
  gnuTime: boolean;
  database: string;
  os: string;
}

export function machineInfo(ffmpeg: string, database: string, gnuTime: boolean): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux
  }
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // no coreutils
  }
  return {
    cpus: nproc,
    cpuModel,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    ffmpeg,
    gnuTime,
    database,
    os: `${os.type()} ${os.release()}`,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpus} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memory} RAM, ${m.os}; Node ${m.node}; ${m.ffmpeg}; ${m.database}`;
}

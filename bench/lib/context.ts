import type { Cluster, ServiceProcess } from './infra.js';
import type { SectionResult } from './report.js';

export interface BenchContext {
  cluster: Cluster;
  /** The first API process (sections start more when they need them). */
  api: ServiceProcess;
  quick: boolean;
  /** Repetitions for medians (--runs, default 3, 1 with --quick). */
  runs: number;
  machine: string;
  /** A scratch directory for baseline outputs (deleted at the end). */
  scratch: string;
  log(msg: string): void;
  token(sub: string): Promise<string>;
}

export type Section = (ctx: BenchContext) => Promise<SectionResult[]>;

export function result(ctx: BenchContext, r: Omit<SectionResult, 'measuredAt' | 'quick' | 'machine'>): SectionResult {
  return { ...r, measuredAt: new Date().toISOString(), quick: ctx.quick, machine: ctx.machine };
}

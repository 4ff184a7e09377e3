/**
 * Who goes first when the workers are busy (README "Fair processing"): pure
 * rules that become pg-boss job and fetch options, so pg-boss's one claiming
 * statement applies them and no scheduler of ours can lose or double a job.
 */

export type Lane = 'voice' | 'long';
export const LANES: readonly Lane[] = ['voice', 'long'];

/** A minute of audio at up to ~280 kbit/s: every phone voice note, by declared size. */
export const VOICE_NOTE_MAX_BYTES = 2 * 1024 * 1024;
/** Audio longer than this (by the probe) is a long job: its ffmpeg yields the CPU. */
export const VOICE_NOTE_MAX_SECONDS = 60;

/** pg-boss fetches `priority desc, created_on`: voice notes before long files. */
export const LANE_PRIORITY: Record<Lane, number> = { voice: 10, long: 0 };

/**
 * CPU priority (nice) of a job's ffmpeg. Every ffmpeg runs below the node
 * processes (the API stays responsive in `--role all`); a long job's runs at
 * the lowest priority, so a voice note's ffmpeg (CFS weight 110 against 15)
 * gets a core almost to itself while long jobs fill every core.
 */
export const VOICE_NOTE_NICE = 10;
export const LONG_JOB_NICE = 19;

export const laneOfSize = (declaredBytes: number): Lane => (declaredBytes <= VOICE_NOTE_MAX_BYTES ? 'voice' : 'long');

/** A long job by the probed duration (null: unknown, judged by the declared size). */
export function isLongJob(durationSeconds: number | null, declaredBytes: number): boolean {
  return durationSeconds === null ? laneOfSize(declaredBytes) === 'long' : durationSeconds > VOICE_NOTE_MAX_SECONDS;
}

/** The nice level of a job's ffmpeg (isLongJob). */
export function niceFor(durationSeconds: number | null, declaredBytes: number): number {
  return isLongJob(durationSeconds, declaredBytes) ? LONG_JOB_NICE : VOICE_NOTE_NICE;
}

/** Where one asset's job queues: its lane's priority and the owner's group. */
export interface JobOrder {
  priority: number;
  group: { id: string; tier: Lane };
}

export function jobFairness(ownerId: string, declaredBytes: number): JobOrder {
  const lane = laneOfSize(declaredBytes);
  return { priority: LANE_PRIORITY[lane], group: { id: ownerId, tier: lane } };
}

/**
 * Long jobs one user may have running at once across all workers: half of a
 * worker's slots, so another user's file finds a free slot as soon as it is
 * queued.
 */
export const longJobsPerUser = (workerConcurrency: number): number => Math.max(1, Math.floor(workerConcurrency / 2));

export interface SlotOptions {
  minPriority?: number;
  groupConcurrency: { default: number; tiers: Record<Lane, number> };
}

/**
 * Voice-only slots per ordinary slot. A voice note's job spends much of its
 * time waiting (ranged read, ffmpeg's start in its sandbox, three PUTs, two
 * updates) rather than on its ~0.25 s of ffmpeg CPU: with twice the slots,
 * 50 notes under a long-file backlog reached DONE sooner (p50 5.2 s against
 * 6.1-6.9 s with one per core, before the autogroup fix; bench/findings.md 15).
 */
export const VOICE_SLOTS_PER_SLOT = 2;

/**
 * The fetch options of a worker process's slots: `workerConcurrency` slots
 * that take any job (voice notes first), and twice as many that take only
 * voice notes, so a voice note never waits for a long file to end and a
 * burst of them is spread over every core. pg-boss counts a user's running
 * jobs of both lanes against the limit of the candidate's lane: a user's
 * long files stop at their cap, and the same user's voice notes may still
 * use every voice slot beside them.
 */
export function workerSlots(workerConcurrency: number): SlotOptions[] {
  const perUser = longJobsPerUser(workerConcurrency);
  const voiceSlots = workerConcurrency * VOICE_SLOTS_PER_SLOT;
  const groupConcurrency = { default: perUser, tiers: { long: perUser, voice: perUser + voiceSlots } };
  const any = Array.from({ length: workerConcurrency }, () => ({ groupConcurrency }));
  const voiceOnly = Array.from({ length: voiceSlots }, () => ({ minPriority: LANE_PRIORITY.voice, groupConcurrency }));
  return [...any, ...voiceOnly];
}

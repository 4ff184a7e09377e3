// Is a quiet run waiting for a CPU? A long file's ffmpeg runs at the lowest
// priority, so a burst of voice notes can hold it off the CPU for many
// seconds: no PCM then is the scheduler's doing, not a stalled decoder, and
// must not end a good file as UNREADABLE_AUDIO. A starved process is
// runnable (state R) yet gets little CPU time; a spinning decoder gets much,
// and a hung one sleeps.
import { readFileSync, readdirSync } from 'node:fs';

export interface RunState {
  /** Some process of the groups is runnable: running, or waiting on a run queue. */
  runnable: boolean;
  /** CPU time the processes have used, in total (/proc/<pid>/schedstat, first field). */
  cpuMs: number;
}

/** The processes of these process groups, from /proc; nothing runnable where /proc cannot be read. */
export function runState(groups: readonly number[]): RunState {
  const state: RunState = { runnable: false, cpuMs: 0 };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return state;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // After the command's closing parenthesis: state, ppid, pgrp.
      const [status, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (!groups.includes(Number(pgrp))) continue;
      if (status === 'R') state.runnable = true;
      state.cpuMs += Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0] ?? 0) / 1e6;
    } catch {
      // exited meanwhile, or no schedstat on this kernel
    }
  }
  return state;
}

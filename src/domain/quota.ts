import { ApiError } from './errors.js';

/** Per-user quotas; 0 = no limit (config: QUOTA_STORED_BYTES_PER_USER, QUOTA_AUDIO_SECONDS_PER_DAY). */
export interface QuotaLimits {
  storedBytesPerUser: number;
  audioSecondsPerDay: number;
}

/** What one user has used, as the usage row says (see db/usage.repository.ts). */
export interface UsageCounters {
  storedBytes: number;
  /** Seconds of audio that reached DONE on `audioDay`. */
  audioSeconds: number;
  /** The UTC day `audioSeconds` counts, YYYY-MM-DD. */
  audioDay: string;
}

export interface UsageView {
  storedBytes: number;
  audioSecondsToday: number;
  maxStoredBytes: number | null;
  maxAudioSecondsPerDay: number | null;
}

export const NO_USAGE: UsageCounters = { storedBytes: 0, audioSeconds: 0, audioDay: '1970-01-01' };

export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

export const hasQuota = (limits: QuotaLimits): boolean => limits.storedBytesPerUser > 0 || limits.audioSecondsPerDay > 0;

/** Today's seconds: a day other than today's UTC day counts as none used. */
export function audioSecondsToday(usage: UsageCounters, now: Date): number {
  return usage.audioDay === utcDay(now) ? usage.audioSeconds : 0;
}

export function usageView(usage: UsageCounters, limits: QuotaLimits, now: Date): UsageView {
  return {
    storedBytes: usage.storedBytes,
    audioSecondsToday: audioSecondsToday(usage, now),
    maxStoredBytes: limits.storedBytesPerUser > 0 ? limits.storedBytesPerUser : null,
    maxAudioSecondsPerDay: limits.audioSecondsPerDay > 0 ? limits.audioSecondsPerDay : null,
  };
}

/**
 * Why an upload of `size` bytes is refused, or null when it fits. The same
 * rule as the SQL that decides atomically (db/usage.repository.ts): stored
 * bytes count this upload; audio seconds count only what is already used
 * today (an upload's length is unknown until it is processed).
 */
export function quotaRefusal(usage: UsageCounters, limits: QuotaLimits, size: number, now: Date): ApiError | null {
  const { storedBytesPerUser: maxBytes, audioSecondsPerDay: maxSeconds } = limits;
  if (maxBytes > 0 && usage.storedBytes + size > maxBytes) {
    const left = Math.max(0, maxBytes - usage.storedBytes);
    return new ApiError(
      'QUOTA_EXCEEDED',
      `stored-bytes quota exceeded: this upload is ${size} bytes and ${left} of your ${maxBytes} bytes are left; delete assets to free space`,
      { quota: 'STORED_BYTES', limit: maxBytes, remaining: left },
    );
  }
  const today = audioSecondsToday(usage, now);
  if (maxSeconds > 0 && today >= maxSeconds) {
    return new ApiError(
      'QUOTA_EXCEEDED',
      `daily audio quota exceeded: ${round(today)} of your ${maxSeconds} seconds of audio per day are used, 0 left until 00:00 UTC`,
      { quota: 'AUDIO_SECONDS_PER_DAY', limit: maxSeconds, remaining: 0 },
    );
  }
  return null;
}

const round = (s: number) => Math.round(s * 10) / 10;

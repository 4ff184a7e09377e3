// Small statistics helpers: every time in the report is a median (or a
// percentile over many samples) and, where there is a baseline, a ratio.

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank on the sorted sample: p95 of 50 values is the 48th.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const max = (values: readonly number[]): number => (values.length ? Math.max(...values) : Number.NaN);
export const min = (values: readonly number[]): number => (values.length ? Math.min(...values) : Number.NaN);
export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Formats a number for a table: fixed digits, NaN as an em dash. */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const ms = (value: number, digits = 0): string => `${fmt(value, digits)} ms`;
export const sec = (valueMs: number, digits = 2): string => `${fmt(valueMs / 1000, digits)} s`;
export const mb = (bytes: number, digits = 1): string => `${fmt(bytes / 1024 / 1024, digits)} MB`;
export const ratio = (value: number, digits = 3): string => `${fmt(value, digits)}x`;

import { z } from 'zod';

/*
 * The parsers config.ts builds its schema from: each turns one environment
 * string into a typed value or a message naming what was expected.
 */

export const MIB = 1024 * 1024;

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));

export const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'expected true or false'))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const url = (what: string) =>
  z.string().trim().refine((v) => /^(https?|postgres(ql)?):\/\/[^\s]+$/.test(v), `expected ${what}`);

/** A comma-separated list of origins, each normalised to scheme://host[:port]. */
export const origins = z
  .string()
  .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
  .pipe(
    z.array(
      z.string().refine((o) => {
        // scheme://host[:port], nothing after it: no path, query, fragment, credentials or wildcard.
        if (!/^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?\/?$/i.test(o)) return false;
        return URL.canParse(o);
      }, 'expected comma-separated origins like https://app.example.com (scheme, host and port only)'),
    ),
  )
  .transform((list) => list.map((o) => new URL(o).origin));

export const s3Endpoint = z
  .string()
  .trim()
  .refine((v) => v === 'aws' || /^https?:\/\/[^\s/]+/.test(v), 'expected an http(s):// URL or "aws"');

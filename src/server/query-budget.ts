import { GraphQLError } from 'graphql';
import { ApiError } from '../domain/errors.js';
import type { GraphQLContext } from '../schema/context.js';

/**
 * Each user's GraphQL operations draw on a budget of complexity points a
 * minute (QUERY_COST_PER_MINUTE), counted in the shared rate-limit table so
 * every API process sees the same total: one user's loop of costly reads is
 * refused with RATE_LIMITED before it slows anyone else's queries. Requests
 * without a viewer are not charged (every field that reads needs one).
 */

/**
 * Operations cheaper than this (one asset's fields, `__typename`) are not
 * counted: they are served from memory or one indexed row, and counting them
 * would cost a database round trip each, more than the operation itself.
 */
export const UNCOUNTED_BELOW = 100;
export async function chargeQueryCost(cost: number, ctx: Pick<GraphQLContext, 'viewer' | 'rateLimits'>): Promise<void> {
  if (!ctx.viewer || cost < UNCOUNTED_BELOW) return;
  try {
    await ctx.rateLimits.consume('query', ctx.viewer.id, cost);
  } catch (e) {
    if (e instanceof ApiError) {
      throw new GraphQLError(e.message, { extensions: { code: e.code, ...e.details, http: { status: 429 } } });
    }
    throw e;
  }
}

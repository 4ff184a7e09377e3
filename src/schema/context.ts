import type { Viewer } from '../auth/jwt.js';
import { unauthenticated } from '../domain/errors.js';
import type { AssetEvents } from '../events/asset-events.js';
import type { AssetsService } from '../services/assets.service.js';
import type { QuotaService } from '../services/quota.service.js';
import type { RateLimitService } from '../services/rate-limit.service.js';
import type { UploadsService } from '../services/uploads.service.js';

/** What every resolver gets: the viewer (null: no or bad token) and the services. */
export interface GraphQLContext {
  viewer: Viewer | null;
  /** Why there is no viewer, to answer with when one is required. */
  authError: Error | null;
  assets: AssetsService;
  uploads: UploadsService;
  /** Per-user quotas and the viewer's usage. */
  quotas: QuotaService;
  events: AssetEvents;
  /** Per-user budgets of the upload mutations, shared by every API process. */
  rateLimits: RateLimitService;
}

export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw ctx.authError ?? unauthenticated();
  return ctx.viewer;
}

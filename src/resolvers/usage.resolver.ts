import { Ctx, Query, Resolver } from 'type-graphql';
import type { UsageView } from '../domain/quota.js';
import { type GraphQLContext, requireViewer } from '../schema/context.js';
import { UsageType } from '../schema/usage.type.js';

@Resolver(() => UsageType)
export class UsageResolver {
  @Query(() => UsageType, { description: "The viewer's use of their quotas." })
  usage(@Ctx() ctx: GraphQLContext): Promise<UsageView> {
    const viewer = requireViewer(ctx);
    return ctx.quotas.usageOf(viewer.id);
  }
}

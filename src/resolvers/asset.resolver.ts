import { Arg, Args, ArgsType, Ctx, Field, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { type AssetView, parseAssetId } from '../domain/asset.js';
import { notFound } from '../domain/errors.js';
import { AudioAssetType } from '../schema/asset.type.js';
import { type GraphQLContext, requireViewer } from '../schema/context.js';
import { AssetStatus } from '../schema/enums.js';
import { AudioAssetConnection } from '../schema/page.type.js';

@ArgsType()
class AssetsArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20 })
  first!: number;

  @Field(() => String, { nullable: true })
  after?: string | null;

  @Field(() => AssetStatus, { nullable: true })
  status?: AssetStatus | null;
}

/** Reading, deleting and watching the viewer's assets. Thin: services decide. */
@Resolver(() => AudioAssetType)
export class AssetResolver {
  @Query(() => AudioAssetType, {
    nullable: true,
    description: "One of the viewer's assets; null when it does not exist or is not the viewer's.",
  })
  asset(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AssetView | null> {
    const viewer = requireViewer(ctx);
    const assetId = parseAssetId(id);
    return assetId ? ctx.assets.get(viewer.id, assetId) : Promise.resolve(null);
  }

  @Query(() => AudioAssetConnection, { description: "The viewer's assets, newest first." })
  assets(@Args(() => AssetsArgs) args: AssetsArgs, @Ctx() ctx: GraphQLContext) {
    const viewer = requireViewer(ctx);
    return ctx.assets.list(viewer.id, { first: args.first ?? 20, after: args.after ?? null, status: args.status ?? null });
  }

  @Mutation(() => Boolean, { description: 'Delete an asset and every stored object of it. True when something was deleted.' })
  async deleteAudioAsset(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    const assetId = parseAssetId(id);
    if (!assetId) throw notFound(); // not an id: no asset has it, no query needed
    return ctx.assets.delete(viewer.id, assetId);
  }

  @Subscription(() => AudioAssetType, {
    description:
      "Every change of one of the viewer's assets (status, progress, result), or of all of the viewer's assets when `id` is omitted. The event is the asset as it is after the change.",
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const viewer = requireViewer(ctx);
      const id = args['id'] as string | null | undefined;
      // An id that cannot be an asset's watches nothing (as asset(id) answers null).
      return ctx.events.subscribe(viewer.id, id ? (parseAssetId(id) ?? id) : null);
    },
  })
  assetUpdated(@Root() asset: AssetView, @Arg('id', () => ID, { nullable: true }) _id?: string): AssetView {
    return asset;
  }
}

import { Arg, Ctx, FieldResolver, Float, Int, Resolver, Root } from 'type-graphql';
import type { AssetView } from '../domain/asset.js';
import { ASSET_ERROR_MESSAGES, AssetStatus } from '../domain/asset-status.js';
import { AssetError, AudioAssetType } from '../schema/asset.type.js';
import type { GraphQLContext } from '../schema/context.js';

/** The AudioAsset fields that are computed, not stored as such. */
@Resolver(() => AudioAssetType)
export class AssetFieldsResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: 'A time-limited GET URL of the processed AAC (M4A, +faststart) file; null until DONE.',
  })
  url(@Root() asset: AssetView, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    return ctx.assets.playbackUrl(asset);
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Exact duration of the processed audio in seconds; null until DONE.' })
  duration(@Root() asset: AssetView): number | null {
    return asset.status === AssetStatus.DONE ? asset.durationSeconds : null;
  }

  @FieldResolver(() => [Int], {
    nullable: true,
    description: 'Amplitude peaks for a waveform UI: `bars` integers from 0 to 100, the loudest bar being 100. Null until DONE.',
  })
  waveform(
    @Root() asset: AssetView,
    @Arg('bars', () => Int, { nullable: true, defaultValue: 64 }) bars: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<number[] | null> {
    return ctx.assets.waveform(asset, bars ?? 64);
  }

  @FieldResolver(() => AssetError, { nullable: true })
  error(@Root() asset: AssetView): AssetError | null {
    if (!asset.errorCode) return null;
    return { code: asset.errorCode, message: asset.errorMessage ?? ASSET_ERROR_MESSAGES[asset.errorCode] };
  }
}

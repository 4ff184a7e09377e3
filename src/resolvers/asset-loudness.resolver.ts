import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { AssetView } from '../domain/asset.js';
import { AssetStatus } from '../domain/asset-status.js';
import type { RenditionView } from '../services/assets.service.js';
import { AudioAssetType } from '../schema/asset.type.js';
import type { GraphQLContext } from '../schema/context.js';
import { LoudnessType, RenditionType } from '../schema/loudness.type.js';

/** AudioAsset's loudness and renditions (issue 20), beside AssetFieldsResolver. */
@Resolver(() => AudioAssetType)
export class AssetLoudnessResolver {
  @FieldResolver(() => LoudnessType, {
    nullable: true,
    description: 'Loudness of the processed audio (ITU-R BS.1770-4 / EBU R128). Null until DONE, and null for digital silence.',
  })
  loudness(@Root() asset: AssetView): LoudnessType | null {
    const { loudnessIntegrated: integrated, loudnessRange: range, loudnessTruePeak: truePeak } = asset;
    if (asset.status !== AssetStatus.DONE || integrated == null || range == null || truePeak == null) return null;
    return { integrated, range, truePeak };
  }

  @FieldResolver(() => [RenditionType], { description: 'The further encodings asked for in prepareAudioUpload; empty until DONE.' })
  renditions(@Root() asset: AssetView, @Ctx() ctx: GraphQLContext): Promise<RenditionView[]> {
    return ctx.assets.renditions(asset);
  }
}

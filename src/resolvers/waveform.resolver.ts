import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { ChatWaveformValues } from '../analysis/chat-waveform.js';
import type { AssetView } from '../domain/asset.js';
import { AudioAssetType } from '../schema/asset.type.js';
import type { GraphQLContext } from '../schema/context.js';
import { ChatWaveformFormat, ChatWaveformType, WaveformDataType } from '../schema/waveform.type.js';
import type { WaveformDataView } from '../services/assets.service.js';

/** The AudioAsset fields for waveform players and chat apps (issue 19). */
@Resolver(() => AudioAssetType)
export class WaveformResolver {
  @FieldResolver(() => [WaveformDataType], {
    nullable: true,
    description:
      'The waveform as BBC audiowaveform data (format version 2, one channel, min/max pairs), so peaks.js and waveform-data.js read it unchanged: one entry per zoom level, finest first. Null until DONE.',
  })
  waveformData(@Root() asset: AssetView, @Ctx() ctx: GraphQLContext): WaveformDataView[] | null {
    return ctx.assets.waveformData(asset);
  }

  @FieldResolver(() => ChatWaveformType, { nullable: true, description: "The waveform in a chat app's own voice-message format. Null until DONE." })
  chatWaveform(
    @Root() asset: AssetView,
    @Arg('format', () => ChatWaveformFormat) format: ChatWaveformFormat,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ChatWaveformValues | null> {
    return ctx.assets.chatWaveform(asset, format);
  }
}

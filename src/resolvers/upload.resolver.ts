import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { notFound } from '../domain/errors.js';
import { AudioAssetType } from '../schema/asset.type.js';
import { type GraphQLContext, requireViewer } from '../schema/context.js';
import { CompleteAudioUploadInput, PrepareAudioUploadInput, PreparedUpload } from '../schema/upload.type.js';
import { isUuid } from './asset.resolver.js';

@Resolver()
export class UploadResolver {
  @Mutation(() => PreparedUpload, { description: 'Create an asset and get a presigned URL to upload its original to.' })
  async prepareAudioUpload(
    @Arg('input', () => PrepareAudioUploadInput) input: PrepareAudioUploadInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const viewer = requireViewer(ctx);
    const prepared = await ctx.uploads.prepare(viewer.id, input);
    return { ...prepared, multipart: null };
  }

  @Mutation(() => AudioAssetType, {
    description:
      'Confirm the upload and queue processing. Idempotent: calling it again for a QUEUED, PROCESSING, DONE or FAILED asset returns it unchanged and queues nothing.',
  })
  completeAudioUpload(
    @Arg('input', () => CompleteAudioUploadInput) input: CompleteAudioUploadInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const viewer = requireViewer(ctx);
    if (!isUuid(input.id)) throw notFound();
    return ctx.uploads.complete(viewer.id, input.id.toLowerCase());
  }
}

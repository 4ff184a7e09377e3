import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { notFound } from '../domain/errors.js';
import { AudioAssetType } from '../schema/asset.type.js';
import { type GraphQLContext, requireViewer } from '../schema/context.js';
import { CompleteAudioUploadInput, PrepareAudioUploadInput, PreparedUpload, RecordUploadedPartInput, UploadedPart } from '../schema/upload.type.js';
import { parseAssetId } from '../domain/asset.js';

@Resolver()
export class UploadResolver {
  @Mutation(() => PreparedUpload, { description: 'Create an asset and get a presigned URL to upload its original to.' })
  async prepareAudioUpload(@Arg('input', () => PrepareAudioUploadInput) input: PrepareAudioUploadInput, @Ctx() ctx: GraphQLContext) {
    const viewer = requireViewer(ctx);
    await ctx.rateLimits.consume('prepareAudioUpload', viewer.id);
    return ctx.uploads.prepare(viewer.id, input);
  }

  @Mutation(() => PreparedUpload, {
    description:
      'New upload URL(s) for an upload still AWAITING_UPLOAD, e.g. when a long multipart upload outlives its URLs. Parts already uploaded stay; the upload window starts again.',
  })
  async renewUploadUrls(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const viewer = requireViewer(ctx);
    await ctx.rateLimits.consume('renewUploadUrls', viewer.id);
    const assetId = parseAssetId(id);
    if (!assetId) throw notFound();
    return ctx.uploads.renew(viewer.id, assetId);
  }

  @Mutation(() => AudioAssetType, {
    description:
      'Confirm the upload and queue processing. Idempotent: calling it again for a QUEUED, PROCESSING, DONE or FAILED asset returns it unchanged and queues nothing.',
  })
  async completeAudioUpload(@Arg('input', () => CompleteAudioUploadInput) input: CompleteAudioUploadInput, @Ctx() ctx: GraphQLContext) {
    const viewer = requireViewer(ctx);
    await ctx.rateLimits.consume('completeAudioUpload', viewer.id);
    const assetId = parseAssetId(input.id);
    if (!assetId) throw notFound();
    return ctx.uploads.complete(viewer.id, assetId, input.parts ?? null);
  }

  @Mutation(() => UploadedPart, {
    description:
      'Record a stored part of a multipart upload and its ETag, so that a client that lost its state (a reloaded page) learns from renewUploadUrls which parts to skip.',
  })
  async recordUploadedPart(@Arg('input', () => RecordUploadedPartInput) input: RecordUploadedPartInput, @Ctx() ctx: GraphQLContext) {
    const viewer = requireViewer(ctx);
    // Counted with completions: both are a few calls per upload.
    await ctx.rateLimits.consume('completeAudioUpload', viewer.id);
    const assetId = parseAssetId(input.id);
    if (!assetId) throw notFound();
    return ctx.uploads.recordPart(viewer.id, assetId, { partNumber: input.partNumber, etag: input.etag });
  }
}

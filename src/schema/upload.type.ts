import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { AudioAssetType } from './asset.type.js';
import { RenditionFormat } from './loudness.type.js';

@ObjectType()
export class HttpHeader {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'One part of a multipart upload.' })
export class PresignedPart {
  @Field(() => Int)
  partNumber!: number;

  @Field(() => String)
  url!: string;
}

@ObjectType({ description: 'How to upload a large file in parts (each `partSize` bytes, the last one shorter).' })
export class MultipartUpload {
  @Field(() => Int)
  partSize!: number;

  @Field(() => [PresignedPart])
  parts!: PresignedPart[];
}

@ObjectType({ description: 'A part of a multipart upload that storage holds, with the ETag it answered.' })
export class UploadedPart {
  @Field(() => Int)
  partNumber!: number;

  @Field(() => String)
  etag!: string;
}

@ObjectType({ description: 'Where and how to PUT the original file, straight to object storage.' })
export class PreparedUpload {
  @Field(() => AudioAssetType)
  asset!: AudioAssetType;

  @Field(() => String, { nullable: true, description: 'Single-request upload URL (PUT). Null when `multipart` is set.' })
  uploadUrl!: string | null;

  @Field(() => [HttpHeader], { description: 'Headers the PUT requests must carry exactly as given.' })
  uploadHeaders!: HttpHeader[];

  @Field(() => MultipartUpload, { nullable: true, description: 'Set for files above the multipart threshold; then PUT each part to its URL.' })
  multipart!: MultipartUpload | null;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => [UploadedPart], {
    description:
      'Parts of a multipart upload already stored (from storage\'s ListParts, or else from recordUploadedPart): a resumed upload PUTs only the others and completes with all. Empty from prepareAudioUpload.',
  })
  uploadedParts!: UploadedPart[];
}

@InputType()
export class PrepareAudioUploadInput {
  @Field(() => String)
  filename!: string;

  @Field(() => Int, { description: 'Exact size of the file in bytes.' })
  size!: number;

  @Field(() => String, { description: 'Declared MIME type, e.g. audio/mpeg. Must be an audio type.' })
  contentType!: string;

  @Field(() => Float, {
    nullable: true,
    description: 'Normalise the output to this integrated loudness in LUFS (-40 to -5; -16 is the podcast norm), its true peak kept at or below -1 dBTP. Null keeps the loudness as it is.',
  })
  loudnessTarget?: number | null;

  @Field(() => [RenditionFormat], { nullable: true, defaultValue: [], description: 'Further encodings to make besides the AAC M4A, from the same decode.' })
  renditions?: RenditionFormat[] | null;
}

@InputType()
export class UploadedPartInput {
  @Field(() => Int)
  partNumber!: number;

  @Field(() => String, { description: "The ETag header that the storage returned for this part's PUT." })
  etag!: string;
}

@InputType()
export class CompleteAudioUploadInput {
  @Field(() => ID)
  id!: string;

  @Field(() => [UploadedPartInput], { nullable: true, description: 'Required for a multipart upload: every part, in order.' })
  parts?: UploadedPartInput[] | null;
}

@InputType()
export class RecordUploadedPartInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  partNumber!: number;

  @Field(() => String, { description: "The ETag header that the storage returned for this part's PUT." })
  etag!: string;
}

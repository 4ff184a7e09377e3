import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { AssetErrorCode, AssetStatus } from './enums.js';

@ObjectType({ description: 'Why an asset failed, fit to show a user.' })
export class AssetError {
  @Field(() => AssetErrorCode)
  code!: AssetErrorCode;

  @Field(() => String, { description: 'A short message fit to show a user.' })
  message!: string;
}

/**
 * The AudioAsset type. Its source object is an AssetView (a row or a change
 * event); url, duration, waveform and error are resolved in AssetFieldsResolver.
 */
@ObjectType('AudioAsset', { description: 'An uploaded audio file and what processing made of it.' })
export class AudioAssetType {
  @Field(() => ID)
  id!: string;

  @Field(() => AssetStatus)
  status!: AssetStatus;

  @Field(() => String, { description: 'The file name the client declared. Display only: never part of a storage key.' })
  filename!: string;

  @Field(() => Int, { description: 'The size in bytes the client declared.' })
  size!: number;

  @Field(() => String, { description: 'The content type the client declared.' })
  contentType!: string;

  @Field(() => String, { nullable: true, description: "The MIME type detected from the file's magic bytes, once known." })
  detectedType!: string | null;

  @Field(() => Float, { nullable: true, description: '0..1 while PROCESSING; 1 when DONE; null before processing starts.' })
  progress!: number | null;

  @Field(() => Int, { description: 'Increases with every change; orders events of one asset.' })
  version!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

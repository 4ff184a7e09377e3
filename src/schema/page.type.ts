import { Field, ObjectType } from 'type-graphql';
import { AudioAssetType } from './asset.type.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class AudioAssetConnection {
  @Field(() => [AudioAssetType])
  nodes!: AudioAssetType[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

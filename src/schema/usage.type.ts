import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType('Usage', { description: 'What the viewer has used of their quotas. A limit is null when there is none.' })
export class UsageType {
  @Field(() => Float, { description: "Declared bytes of the viewer's assets that are not deleted or FAILED." })
  storedBytes!: number;

  @Field(() => Float, { description: 'Seconds of audio that reached DONE for the viewer since 00:00 UTC.' })
  audioSecondsToday!: number;

  @Field(() => Float, { nullable: true })
  maxStoredBytes!: number | null;

  @Field(() => Float, { nullable: true })
  maxAudioSecondsPerDay!: number | null;
}

import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import { RenditionFormat } from '../domain/processing-options.js';

registerEnumType(RenditionFormat, {
  name: 'RenditionFormat',
  valuesConfig: { OPUS_OGG: { description: 'Opus in Ogg, mono, 48 kHz: what chat apps send voice notes as.' } },
});

@ObjectType('Loudness', { description: 'Loudness of the processed audio.' })
export class LoudnessType {
  @Field(() => Float, { description: 'Integrated loudness, LUFS.' })
  integrated!: number;

  @Field(() => Float, { description: 'Loudness range, LU.' })
  range!: number;

  @Field(() => Float, { description: 'True peak, dBTP (4x oversampled), of the PCM that was encoded.' })
  truePeak!: number;
}

@ObjectType('Rendition')
export class RenditionType {
  @Field(() => RenditionFormat)
  format!: RenditionFormat;

  @Field(() => String, { description: 'A time-limited GET URL, like `url`.' })
  url!: string;

  @Field(() => Float, { description: 'Bytes.' })
  size!: number;

  @Field(() => String)
  mimeType!: string;
}

export { RenditionFormat };

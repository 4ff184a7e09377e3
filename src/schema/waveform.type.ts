import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

/** The chat apps whose voice-message waveform format `chatWaveform` speaks. */
export enum ChatWaveformFormat {
  DISCORD = 'DISCORD',
  TELEGRAM = 'TELEGRAM',
  MATRIX = 'MATRIX',
}

registerEnumType(ChatWaveformFormat, {
  name: 'ChatWaveformFormat',
  valuesConfig: {
    DISCORD: { description: 'Discord voice messages: at most 256 values 0..255; `encoded` is their bytes in base64.' },
    TELEGRAM: {
      description:
        'Telegram voice notes: 100 values 0..31; `encoded` is them packed 5 bits each (value i at bit 5*i, least significant bit first) in base64.',
    },
    MATRIX: {
      description:
        "Matrix voice messages: 100 values 0..1024, the `waveform` of `org.matrix.msc1767.audio` that Element sends (MSC3246's unstable form); `encoded` is null.",
    },
  },
});

@ObjectType('WaveformData', { description: "One zoom level of a waveform in audiowaveform's data format." })
export class WaveformDataType {
  @Field(() => Int, { description: "Sample rate the pairs were computed at: the processed audio's, 44100." })
  sampleRate!: number;

  @Field(() => Int, { description: 'Samples of the processed audio behind each min/max pair.' })
  samplesPerPixel!: number;

  @Field(() => Int, { description: 'Number of min/max pairs.' })
  length!: number;

  @Field(() => Int, { description: '8 (values -128..127) or 16 (values -32768..32767).' })
  bits!: number;

  @Field(() => String, { description: 'Time-limited GET URL of the binary data (.dat, version 2), readable by browser pages.' })
  datUrl!: string;

  @Field(() => String, { description: "Time-limited GET URL of the same data in audiowaveform's JSON format." })
  jsonUrl!: string;
}

@ObjectType('ChatWaveform')
export class ChatWaveformType {
  @Field(() => ChatWaveformFormat)
  format!: ChatWaveformFormat;

  @Field(() => [Int])
  values!: number[];

  @Field(() => String, { nullable: true })
  encoded!: string | null;
}

// The seam between the media run step and the pure PCM consumers (peak
// envelope, waveform levels, loudness meter). The run step decodes once and
// hands every analyser the same samples: the mono 44.1 kHz signed 16-bit PCM
// that the AAC encoder is fed. Analysers import no streams and do no I/O in
// push(); whatever must be written (a waveform level to a temp file, say) is
// written by the analyser's own small adapter at finish().

/** Sample rate of the PCM every analyser sees (the processed audio's). */
export const ANALYSIS_SAMPLE_RATE = 44_100;

export interface PcmAnalyser<R = unknown> {
  /** The next samples, in order. The array is a view of a reused buffer: copy what you keep. */
  push(samples: Int16Array): void;
  /** Called once, after the last sample of a run that decoded to the end. */
  finish(): R | Promise<R>;
}

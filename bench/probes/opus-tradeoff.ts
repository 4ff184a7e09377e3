// Which libopus settings for the OPUS_OGG rendition: CPU of each
// -application / -compression_level at 24 kbit/s against two listening-free
// quality proxies (log-spectral distance and segmental SNR of the decoded
// rendition against the source PCM), beside the AAC encode and beside
// ffmpeg's ebur128 filter. Run: node dist/bench/probes/opus-tradeoff.js [seconds
// [applications [levels [vbr]]]] (default 120 s, all, 0-10 by 2, vbr on). Writes its inputs under .data/bench/opus.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const seconds = Number(process.argv[2] ?? 120);
const dir = join(process.cwd(), '.data/bench/opus');
mkdirSync(dir, { recursive: true });
const src = join(dir, `speech-${seconds}.wav`);

/** Voiced speech stand-in: a 6-harmonic source (f0 100-140 Hz) through three formant peaks, syllable rhythm, plus fricative noise. */
const VOICED = "aevalsrc='0.25*(sin(2*PI*(120+20*sin(2*PI*0.4*t))*t)+0.7*sin(4*PI*(120+20*sin(2*PI*0.4*t))*t)+0.5*sin(6*PI*(120+20*sin(2*PI*0.4*t))*t)+0.35*sin(8*PI*(120+20*sin(2*PI*0.4*t))*t)+0.25*sin(10*PI*(120+20*sin(2*PI*0.4*t))*t)+0.18*sin(12*PI*(120+20*sin(2*PI*0.4*t))*t))':s=44100";
function makeSource(): void {
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', VOICED,
    '-f', 'lavfi', '-i', 'anoisesrc=color=white:seed=5:sample_rate=44100:amplitude=0.05',
    '-filter_complex',
    '[0]equalizer=f=500:t=q:w=3:g=10,equalizer=f=1500:t=q:w=4:g=8,equalizer=f=2500:t=q:w=4:g=6,tremolo=f=4:d=0.9[v];' +
    '[1]highpass=f=4000,tremolo=f=2:d=1[n];[v][n]amix=inputs=2:normalize=0',
    '-t', String(seconds), '-ac', '1', '-ar', '44100', '-c:a', 'pcm_s16le', src,
  ]);
}


function timed(args: string[]): number {
  const r = execFileSync('bash', ['-c', '/usr/bin/time -f "%U %S" ffmpeg -hide_banner -loglevel error -y "$@" 2>&1 >/dev/null | tail -1', '_', ...args], { encoding: 'utf8' });
  const [u, s] = r.trim().split(' ').map(Number);
  return u! + s!;
}

function pcmOf(file: string): Float64Array {
  const b = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-ac', '1', '-ar', '44100', '-f', 's16le', 'pipe:1'], { maxBuffer: 1 << 30 });
  return Float64Array.from(new Int16Array(b.buffer, b.byteOffset, b.length >> 1));
}

/** In-place radix-2 FFT magnitudes of `frame` (length a power of two). */
function magnitudes(frame: Float64Array): Float64Array {
  const n = frame.length;
  const re = Float64Array.from(frame, (v, i) => v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n)));
  const im = new Float64Array(n);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j]!, re[i]!]; [im[i], im[j]] = [im[j]!, im[i]!]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k), wi = Math.sin(ang * k);
        const a = i + k, b = a + len / 2;
        const tr = re[b]! * wr - im[b]! * wi, ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr; im[b] = im[a]! - ti; re[a] = re[a]! + tr; im[a] = im[a]! + ti;
      }
    }
  }
  return Float64Array.from({ length: n / 2 }, (_, k) => Math.hypot(re[k]!, im[k]!));
}

/** Lag of `b` against `a` (samples) that best matches, within +-maxLag. */
function bestLag(a: Float64Array, b: Float64Array, maxLag = 400): number {
  let best = 0, bestScore = -Infinity;
  const from = 44_100, to = Math.min(a.length, b.length, from + 44_100) - maxLag;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let s = 0;
    for (let i = from; i < to; i++) s += a[i]! * b[i + lag]!;
    if (s > bestScore) { bestScore = s; best = lag; }
  }
  return best;
}

/** Log-spectral distance (dB, 0-12 kHz, frames above -50 dBFS) and segmental SNR (dB, clamped -10..35). */
function quality(ref: Float64Array, test: Float64Array): { lsd: number; segSnr: number } {
  const lag = bestLag(ref, test);
  const N = 1024, top = Math.floor((12_000 / 44_100) * N);
  let lsdSum = 0, snrSum = 0, frames = 0;
  for (let at = Math.max(0, -lag); at + N + Math.abs(lag) < Math.min(ref.length, test.length); at += N) {
    const r = ref.subarray(at, at + N), t = test.subarray(at + lag, at + lag + N);
    let e = 0, d = 0;
    for (let i = 0; i < N; i++) { e += r[i]! ** 2; d += (r[i]! - t[i]!) ** 2; }
    if (e / N < (32768 * 10 ** (-50 / 20)) ** 2) continue;
    const R = magnitudes(r), T = magnitudes(t);
    let l = 0;
    for (let k = 1; k < top; k++) l += (20 * Math.log10((R[k]! + 1) / (T[k]! + 1))) ** 2;
    lsdSum += Math.sqrt(l / (top - 1));
    snrSum += Math.max(-10, Math.min(35, 10 * Math.log10(e / Math.max(d, 1e-9))));
    frames++;
  }
  return { lsd: lsdSum / frames, segSnr: snrSum / frames };
}

function durationOf(file: string): number {
  return Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim());
}

makeSource();
const ref = pcmOf(src);
const median = (f: () => number) => [f(), f(), f()].sort((a, b) => a - b)[1]!;
const aac = median(() => timed(['-i', src, '-c:a', 'aac', '-b:a', '64k', join(dir, 'out.m4a')]));
const ebur = median(() => timed(['-i', src, '-af', 'ebur128=peak=true', '-f', 'null', '-'])) - median(() => timed(['-i', src, '-f', 'null', '-']));
console.log(`source ${seconds} s; AAC 64k encode ${aac.toFixed(2)} CPU s; ebur128=peak=true adds ${ebur.toFixed(2)} CPU s`);
console.log('application level  cpu_s  x_aac  kbit/s  lsd_dB  segsnr_dB  duration_err_ms');
const apps = (process.argv[3] ?? 'voip,audio,lowdelay').split(',');
const levels = (process.argv[4] ?? '0,2,4,6,8,10').split(',').map(Number);
const vbr = process.argv[5] ?? 'on';
console.log(`-vbr ${vbr}`);
for (const app of apps) {
  for (const level of levels) {
    const out = join(dir, `${app}-${level}.ogg`);
    const t = median(() => timed(['-i', src, '-af', 'aresample=48000', '-c:a', 'libopus', '-b:a', '24k', '-vbr', vbr, '-application', app, '-compression_level', String(level), '-f', 'ogg', out]));
    const q = quality(ref, pcmOf(out));
    const size = readFileSync(out).length;
    const dur = durationOf(out);
    console.log(`${app.padEnd(11)} ${String(level).padStart(5)}  ${t.toFixed(2).padStart(5)}  ${(t / aac).toFixed(2).padStart(5)}  ${((size * 8) / seconds / 1000).toFixed(1).padStart(6)}  ${q.lsd.toFixed(2).padStart(6)}  ${q.segSnr.toFixed(2).padStart(9)}  ${((dur - seconds) * 1000).toFixed(1).padStart(6)}`);
  }
}

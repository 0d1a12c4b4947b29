/**
 * Test tones: a sine written as a 16-bit PCM WAV (what a real UA such as baresip plays), and the
 * dominant frequency of a recording, to tell which peer's tone came through a call.
 *
 * Detection is Goertzel over a grid of candidate frequencies on Hann-windowed 100 ms blocks;
 * blocks quieter than a threshold are skipped, so leading silence (ringing, jitter-buffer fill,
 * a late first packet) and gaps do not count.
 *
 * @module
 */

/** Mono samples in [-1, 1) and their rate. */
export interface Pcm {
  sampleRate: number;
  samples: Float32Array;
}

export interface SineOptions {
  /** default 8000: G.711's rate, so baresip's aufile source needs no resampler */
  sampleRate?: number;
  /** default 10 */
  seconds?: number;
  /** peak level as a fraction of full scale; default 0.5 (-6 dBFS, well clear of clipping) */
  amplitude?: number;
}

/** The dominant frequency of the audible part of a recording. */
export interface ToneAnalysis {
  /** Hz, on the candidate grid; 0 when nothing was audible */
  frequency: number;
  /** fraction of the audible energy at `frequency`: ~1 for a clean tone, small for noise */
  share: number;
  /** how much audio was above the silence threshold (analysed up to `maxSeconds`) */
  audibleSeconds: number;
}

export interface DetectOptions {
  /** explicit candidates; default every `stepHz` from `minHz` to `maxHz` */
  candidates?: readonly number[];
  /** default 100 */
  minHz?: number;
  /** default 3900 (below 4 kHz, the Nyquist limit of 8 kHz audio) */
  maxHz?: number;
  /** default 5 */
  stepHz?: number;
  /** RMS below which a block is silence, as a fraction of full scale; default 0.01 (-40 dBFS) */
  silence?: number;
  /** stop after this much audible audio; default 5 */
  maxSeconds?: number;
}

const BLOCK_SECONDS = 0.1;

/** A WAV file (RIFF, PCM, 16-bit little-endian, mono) holding a sine at `frequency` Hz. */
export function sineWav(frequency: number, options: SineOptions = {}): Uint8Array {
  const sampleRate = options.sampleRate ?? 8000;
  const count = Math.round(sampleRate * (options.seconds ?? 10));
  const peak = (options.amplitude ?? 0.5) * 0x7fff;
  const samples = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    samples[i] = Math.round(peak * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  }
  return encodeWav(samples, sampleRate);
}

/** A canonical 44-byte-header WAV around 16-bit mono samples. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((sample, i) => view.setInt16(44 + i * 2, sample, true));
  return bytes;
}

/**
 * Reads a 16-bit PCM WAV, channels mixed to mono. A data chunk whose size is 0 or runs past the
 * end (a writer killed before it fixed the header) is taken to be the rest of the file.
 */
export function decodeWav(bytes: Uint8Array): Pcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new SyntaxError("Cannot decode WAV: no RIFF/WAVE header");
  }
  let format: { channels: number; sampleRate: number; bits: number; code: number } | undefined;
  for (let offset = 12; offset + 8 <= bytes.byteLength;) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      format = {
        code: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (!format) throw new SyntaxError("Cannot decode WAV: data chunk before fmt chunk");
      // 0xFFFE is WAVE_FORMAT_EXTENSIBLE, which libsndfile may write for the same PCM
      if ((format.code !== 1 && format.code !== 0xfffe) || format.bits !== 16) {
        throw new SyntaxError(
          `Cannot decode WAV: format ${format.code} with ${format.bits} bits is not 16-bit PCM`,
        );
      }
      const end = size === 0 || body + size > bytes.byteLength ? bytes.byteLength : body + size;
      const frames = Math.floor((end - body) / (2 * format.channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < format.channels; c++) {
          sum += view.getInt16(body + (i * format.channels + c) * 2, true);
        }
        samples[i] = sum / format.channels / 0x8000;
      }
      return { sampleRate: format.sampleRate, samples };
    }
    offset = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw new SyntaxError("Cannot decode WAV: no data chunk");
}

/** Finds the candidate frequency holding the most energy over the audible blocks of `pcm`. */
export function dominantFrequency(pcm: Pcm, options: DetectOptions = {}): ToneAnalysis {
  const candidates = options.candidates ?? grid(options);
  const blockSize = Math.max(16, Math.round(pcm.sampleRate * BLOCK_SECONDS));
  const threshold = options.silence ?? 0.01;
  const maxBlocks = Math.ceil((options.maxSeconds ?? 5) / BLOCK_SECONDS);
  const window = new Float32Array(blockSize);
  for (let n = 0; n < blockSize; n++) {
    window[n] = 0.5 * (1 - Math.cos((2 * Math.PI * n) / blockSize));
  }
  const coefficients = candidates.map((f) => 2 * Math.cos((2 * Math.PI * f) / pcm.sampleRate));
  const power = new Float64Array(candidates.length);
  const block = new Float32Array(blockSize);
  let energy = 0;
  let blocks = 0;
  for (
    let start = 0;
    start + blockSize <= pcm.samples.length && blocks < maxBlocks;
    start += blockSize
  ) {
    let blockEnergy = 0;
    for (let n = 0; n < blockSize; n++) {
      const x = pcm.samples[start + n]!;
      blockEnergy += x * x;
      block[n] = x * window[n]!;
    }
    if (Math.sqrt(blockEnergy / blockSize) < threshold) continue;
    energy += blockEnergy;
    blocks++;
    coefficients.forEach((coefficient, k) => {
      power[k]! += goertzel(block, coefficient);
    });
  }
  if (blocks === 0) return { frequency: 0, share: 0, audibleSeconds: 0 };
  let best = 0;
  power.forEach((p, k) => {
    if (p > power[best]!) best = k;
  });
  // |X|² of a Hann-windowed sine of amplitude A over N samples is A²N²/16, its energy A²N/2
  const share = (8 * power[best]!) / (blockSize * energy);
  return {
    frequency: candidates[best]!,
    share: Math.min(1, share),
    audibleSeconds: Math.round((blocks * blockSize * 1000) / pcm.sampleRate) / 1000,
  };
}

/** Writes `sineWav(frequency, options)` to `path`. */
export async function writeToneWav(
  path: string,
  frequency: number,
  options: SineOptions = {},
): Promise<void> {
  await Deno.writeFile(path, sineWav(frequency, options));
}

/** `dominantFrequency()` of the WAV file at `path`. */
export async function detectWavFrequency(
  path: string,
  options: DetectOptions = {},
): Promise<ToneAnalysis> {
  return dominantFrequency(decodeWav(await Deno.readFile(path)), options);
}

function grid(options: DetectOptions): number[] {
  const step = options.stepHz ?? 5;
  const frequencies: number[] = [];
  for (let f = options.minHz ?? 100; f <= (options.maxHz ?? 3900); f += step) frequencies.push(f);
  return frequencies;
}

/** Squared magnitude of the DTFT of `block` at the frequency whose 2cos(ω) is `coefficient`. */
function goertzel(block: Float32Array, coefficient: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let n = 0; n < block.length; n++) {
    const s0 = block[n]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

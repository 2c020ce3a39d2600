/**
 * pytorchvideo's ConstantClipsPerVideoSampler, in exact arithmetic (docs/preprocessing.md): the clip
 * windows ImageBind cuts a recording (and a video's frames) into. Shared by audio.ts and video.ts.
 *
 * pytorchvideo computes clip starts with fractions.Fraction:
 *   max_start = Fraction(max(duration − clip, 0));  start_i = max_start / max(n − 1, 1) · i
 * and ImageBind slices audio at int(start · sr), exactly. Doubles would round twice, so starts are
 * kept as BigInt rationals and only converted (correctly rounded, like float(Fraction)) at the end.
 */

export interface ClipWindow {
  startS: number;
  endS: number;
}

interface Rational {
  num: bigint;
  den: bigint;
}

/** The exact value of a finite, non-negative double. */
function rationalOf(x: number): Rational {
  if (!(x >= 0) || !Number.isFinite(x)) throw new Error(`expected a finite non-negative number, got ${x}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp = (biased === 0 ? 1 : biased) - 1075;
  return exp >= 0 ? { num: mantissa << BigInt(exp), den: 1n } : { num: mantissa, den: 1n << BigInt(-exp) };
}

const bitLength = (v: bigint): number => (v === 0n ? 0 : v.toString(2).length);

/** float(Fraction): the double nearest to num/den, ties to even. */
function rationalToNumber({ num, den }: Rational): number {
  if (num === 0n) return 0;
  // Scale so the integer quotient has 54–55 bits, then round it to 53.
  const shift = 54 - (bitLength(num) - bitLength(den));
  const n = shift >= 0 ? num << BigInt(shift) : num;
  const d = shift >= 0 ? den : den << BigInt(-shift);
  let q = n / d;
  const exact = n % d === 0n;
  const extra = BigInt(bitLength(q) - 53);
  const half = 1n << (extra - 1n);
  const dropped = q & ((1n << extra) - 1n);
  q >>= extra;
  if (dropped > half || (dropped === half && (!exact || (q & 1n) === 1n))) q += 1n;
  return Number(q) * 2 ** (Number(extra) - shift);
}

export interface ExactWindow extends ClipWindow {
  start: Rational;
  end: Rational;
}

export function exactClipWindows(
  durationS: number,
  clipDurationS: number,
  clipsPerVideo: number,
): ExactWindow[] {
  if (!Number.isInteger(clipsPerVideo) || clipsPerVideo < 1)
    throw new Error('clipsPerVideo must be a positive integer');
  // duration − clip is a float subtraction in Python (float − Fraction → float).
  const maxStart = rationalOf(Math.max(durationS - clipDurationS, 0));
  const clip = rationalOf(clipDurationS);
  const steps = BigInt(Math.max(clipsPerVideo - 1, 1));
  const windows: ExactWindow[] = [];
  for (let i = 0; i < clipsPerVideo; i++) {
    const start = { num: maxStart.num * BigInt(i), den: maxStart.den * steps };
    const end = { num: start.num * clip.den + clip.num * start.den, den: start.den * clip.den };
    windows.push({ start, end, startS: rationalToNumber(start), endS: rationalToNumber(end) });
  }
  return windows;
}

/**
 * ImageBind's get_clip_timepoints with ConstantClipsPerVideoSampler: start_i = i·max(dur − clip, 0)/(n − 1),
 * end_i = start_i + clip, as the doubles Python's float(Fraction) gives.
 */
export function clipTimepoints(
  durationS: number,
  clipDurationS: number,
  clipsPerVideo: number,
): ClipWindow[] {
  return exactClipWindows(durationS, clipDurationS, clipsPerVideo).map(({ startS, endS }) => ({
    startS,
    endS,
  }));
}

/** `waveform[:, int(start·sr) : int(end·sr)]`, with the products taken exactly; end clamped to n. */
export function sampleRange(w: ExactWindow, sampleRate: number, n: number): [number, number] {
  const sr = BigInt(sampleRate);
  const a = Number((w.start.num * sr) / w.start.den);
  const b = Number((w.end.num * sr) / w.end.den);
  return [Math.min(a, n), Math.min(b, n)];
}

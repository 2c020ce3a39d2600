// Size: ImageBind's IMU pipeline with the CSV and header reader it needs.
/**
 * IMU preprocessing → float32 `[windows, 6, samples]` (ImageBind: 2000 samples per window;
 * docs/preprocessing.md § IMU).
 *
 * Channel order: accelerometer x, y, z, then gyroscope x, y, z — the order of Meta's own Ego4D
 * IMU pipeline (IMU2CLIP's `extract_imu.py`), Ego4D being the data ImageBind's IMU tower was
 * trained on. ImageBind itself never published its IMU loader. Ego4D's CSVs list the gyroscope
 * first, so columns are always taken by header name when there is a header.
 *
 * Input is a CSV with one row per sample:
 * - with a header, columns are found by name in any order: the time (`canonical_timestamp_ms`
 *   first, then `time`/`timestamp`/`t`…, then `component_timestamp_ms`; `component_idx` is a
 *   counter, not time), `accl_x`/`acc_x`/`ax`/`accelX`…, `gyro_x`/`gx`/`gyroX`…; a header that
 *   names a role twice (two time columns of the same rank, two x accelerometers) or not at all is
 *   an error naming the columns;
 * - without a header, by position: `timestamp, ax, ay, az, gx, gy, gz`;
 * - separators: comma, semicolon or tab (with `;` or tab, decimal commas are accepted);
 * - timestamps in s, ms, µs or ns, relative or absolute: the unit comes from the header
 *   (`time_ms`, `t (s)`…) or else from the median interval (2 Hz to 2 kHz in every unit);
 * - rows are sorted by time (Ego4D's can be out of order) and a repeated timestamp keeps its first
 *   row; rows with an empty or NULL value (Ego4D has some) are left out, and the gap interpolated.
 *
 * The recording is cut into windows of `samples / rateHz` seconds (5 s): one for a short
 * recording, enough to cover a long one, at most `maxWindows`, spread evenly like ImageBind's clip
 * sampler spreads audio clips. Each window is resampled by linear interpolation onto the
 * `rateHz` grid (zero-padded past the end). Values pass through in the sensor's units (m/s², rad/s).
 * Every malformed input is an Error whose one-line message names the input and, where it applies,
 * the line.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ImuParamsSchema, type ImuParams } from '../../../app/pack.js';
import type { ClipWindow } from './clip-sampler.js';
import { floatTensor, type FloatTensor } from './tensor.js';

export const DEFAULT_IMU_PARAMS: ImuParams = ImuParamsSchema.parse({});
/** Larger files are refused: an hour of Ego4D IMU at 200 Hz is about 70 MB. */
export const MAX_IMU_CSV_BYTES = 256 * 1024 * 1024;

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';
const UNIT_SECONDS: Record<TimeUnit, number> = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };

/** The channels in the order ImageBind's IMU stem takes them. */
export const IMU_CHANNELS = ['accl_x', 'accl_y', 'accl_z', 'gyro_x', 'gyro_y', 'gyro_z'] as const;

/** A parsed recording: timestamps in seconds from the first sample, and the six channels. */
export interface ImuRecording {
  t: Float64Array;
  /** ax, ay, az, gx, gy, gz. */
  channels: Float64Array[];
}

export interface ImuWindows {
  /** [windows, 6, samples] */
  tensor: FloatTensor;
  windows: ClipWindow[];
  durationS: number;
}

export interface ImuOptions {
  /** Overrides the timestamp unit detection. */
  timeUnit?: TimeUnit;
  /** Names the input in error messages. */
  label?: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING = /^(|null|nan|na|none)$/i;
const COLUMN_COUNT = 7;

/** A malformed IMU CSV; the message names the input and, where it applies, the line. */
export class ImuCsvError extends Error {
  constructor(label: string, line: number | null, reason: string) {
    super(`IMU CSV ${label}: ${line === null ? '' : `line ${line}: `}${reason}`);
    this.name = 'ImuCsvError';
  }
}

interface Row {
  line: number;
  fields: string[];
}

/** Non-empty, non-comment lines with their 1-based line numbers. */
function rowsOf(text: string): { line: number; text: string }[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .map((t, i) => ({ line: i + 1, text: t.trim() }))
    .filter((r) => r.text !== '' && !r.text.startsWith('#'));
}

function detectSeparator(sample: string): string {
  const counts = [',', ';', '\t'].map((sep) => ({ sep, n: sample.split(sep).length - 1 }));
  counts.sort((a, b) => b.n - a.n);
  return counts[0].n > 0 ? counts[0].sep : ',';
}

function splitRow(text: string, sep: string): string[] {
  return text.split(sep).map((f) => {
    const t = f.trim();
    const unquoted = t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
    // "0,25" is a decimal comma when the separator is not the comma.
    return sep !== ',' ? unquoted.replace(/^([+-]?\d*),(\d+)$/, '$1.$2') : unquoted;
  });
}

const isNumeric = (f: string) => NUMBER.test(f);

// ---------------------------------------------------------------------------------------------
// Columns from a header

const UNIT_WORDS = '(s|ms|us|ns|sec|secs|seconds|millis|micros|nanos)?';
/** Time columns by rank: Ego4D's canonical time, any plain time name, then Ego4D's per-component time. */
const TIME_NAMES = [
  /^canonicaltimestamp(ms)?$/,
  new RegExp(`^(t|ts|time|times|timestamp|elapsed|elapsedtime|sec|seconds)${UNIT_WORDS}$`),
  /^componenttimestamp(ms)?$/,
];
const ACC = 'a|acc|accl|accel|accelerometer|acceleration|linacc|linearacceleration';
const GYR = 'g|gyr|gyro|gyroscope|w|omega|rot|rotationrate|angvel|angularvelocity';
const SENSOR_UNITS = '(ms|mss|mps|g|rad|rads|dps|deg|degs|raw)?';

/** "acc_x (m/s^2)" → "accx": units in brackets and punctuation carry no name. */
function normalName(h: string): string {
  return h
    .toLowerCase()
    .replace(/\(.*?\)|\[.*?\]/g, '')
    .replace(/[^a-z]/g, '');
}

/** Column index for each of time, ax…gz; throws when the header is ambiguous or incomplete. */
function columnsFromHeader(header: string[], label: string): number[] {
  const names = header.map(normalName);
  const matching = (re: RegExp) => names.flatMap((n, i) => (re.test(n) ? [i] : []));
  const describe = (cols: number[]) => cols.map((c) => JSON.stringify(header[c])).join(' and ');
  const one = (role: string, candidates: number[][]): number => {
    const found = candidates.find((c) => c.length > 0) ?? [];
    if (found.length > 1)
      throw new ImuCsvError(label, 1, `ambiguous header: ${describe(found)} both name ${role}`);
    if (found.length === 0)
      throw new ImuCsvError(label, 1, `the header names no ${role} column (columns: ${header.join(', ')})`);
    return found[0];
  };
  // Only unit words may follow the axis letter, or "gyrox" would also read as "g" + "y".
  const axis = (prefix: string, a: string) =>
    matching(new RegExp(`^((${prefix})${a}|${a}(${prefix}))${SENSOR_UNITS}$`));
  const time = one('time', TIME_NAMES.map(matching));
  const acc = ['x', 'y', 'z'].map((a) => one(`accelerometer ${a}`, [axis(ACC, a)]));
  const gyr = ['x', 'y', 'z'].map((a) => one(`gyroscope ${a}`, [axis(GYR, a)]));
  const cols = [time, ...acc, ...gyr];
  if (new Set(cols).size !== COLUMN_COUNT)
    throw new ImuCsvError(label, 1, `ambiguous header: one column names two roles (${header.join(', ')})`);
  return cols;
}

/** The timestamp unit a header states, e.g. `time_ms`, `timestamp (s)`, `t[ns]`. */
function unitFromHeader(name: string): TimeUnit | undefined {
  const n = name.toLowerCase();
  if (/(^|[^a-z])(ns|nanos?|nanoseconds?)([^a-z]|$)/.test(n)) return 'ns';
  if (/(^|[^a-z])(us|µs|micros?|microseconds?)([^a-z]|$)/.test(n)) return 'us';
  if (/(^|[^a-z])(ms|millis?|milliseconds?)([^a-z]|$)/.test(n)) return 'ms';
  if (/(^|[^a-z])(s|sec|secs|seconds?)([^a-z]|$)/.test(n)) return 's';
  return undefined;
}

/** The unit from the median interval: the one that makes the rate between 2 Hz and 2 kHz. */
function unitFromIntervals(t: Float64Array): TimeUnit {
  if (t.length < 2) return 's';
  const dts = Array.from(t.subarray(1), (v, i) => v - t[i]).sort((a, b) => a - b);
  const median = dts[Math.floor(dts.length / 2)];
  return median < 0.5 ? 's' : median < 500 ? 'ms' : median < 5e5 ? 'us' : 'ns';
}

// ---------------------------------------------------------------------------------------------
// Rows → a sorted recording

interface Sample {
  t: number;
  values: number[];
}

/** One row's time and six values; null when it has an empty or NULL field (left out). */
function sampleOf(row: Row, cols: number[], width: number, label: string): Sample | null {
  if (row.fields.length < width) {
    throw new ImuCsvError(
      label,
      row.line,
      `expected ${width} columns (timestamp, ax, ay, az, gx, gy, gz), found ${row.fields.length}`,
    );
  }
  const values: number[] = [];
  for (const col of cols) {
    const f = row.fields[col];
    if (MISSING.test(f)) return null;
    if (!isNumeric(f))
      throw new ImuCsvError(
        label,
        row.line,
        `column ${col + 1} is not a number: ${JSON.stringify(f.slice(0, 40))}`,
      );
    values.push(Number(f));
  }
  return { t: values[0], values: values.slice(1) };
}

/** Samples in time order, one per timestamp (the first row of a repeated one wins). */
function sortedSamples(rows: Row[], cols: number[], label: string): Sample[] {
  const width = Math.max(...cols) + 1;
  const samples = rows.map((r) => sampleOf(r, cols, width, label)).filter((s): s is Sample => s !== null);
  if (samples.length === 0) throw new ImuCsvError(label, null, 'no row has a value in every column');
  // Array.prototype.sort is stable, so among equal timestamps the file's first row comes first.
  samples.sort((a, b) => a.t - b.t);
  return samples.filter((s, i) => i === 0 || s.t !== samples[i - 1].t);
}

/** Parses IMU CSV text into timestamps (seconds from the first sample) and six channels. */
export function parseImuCsv(text: string, opts: ImuOptions = {}): ImuRecording {
  const label = opts.label ?? '<text>';
  const lines = rowsOf(text);
  if (lines.length === 0) throw new ImuCsvError(label, null, 'no data (empty file)');
  const sep = detectSeparator(lines[0].text);
  const first = splitRow(lines[0].text, sep);
  // A header has no numbers; a row with some is data, and its bad fields are reported as such.
  const hasHeader = first.every((f) => !isNumeric(f));
  const cols = hasHeader ? columnsFromHeader(first, label) : [0, 1, 2, 3, 4, 5, 6];
  const rows = lines.slice(hasHeader ? 1 : 0).map((l) => ({ line: l.line, fields: splitRow(l.text, sep) }));
  if (rows.length === 0) throw new ImuCsvError(label, null, 'a header but no data rows');
  const samples = sortedSamples(rows, cols, label);
  const raw = Float64Array.from(samples, (s) => s.t);
  const unit =
    opts.timeUnit ?? (hasHeader ? unitFromHeader(first[cols[0]]) : undefined) ?? unitFromIntervals(raw);
  const t = raw.map((v) => (v - raw[0]) * UNIT_SECONDS[unit]);
  const channels = Array.from({ length: 6 }, (_, c) => Float64Array.from(samples, (s) => s.values[c]));
  return { t, channels };
}

// ---------------------------------------------------------------------------------------------
// Windows and resampling

/**
 * Window starts (seconds): one window for a recording no longer than a window; otherwise as many
 * as cover it (at most `maxWindows`), the first at 0 and the last ending at the end, evenly spaced.
 */
export function imuWindowStarts(durationS: number, params: ImuParams): number[] {
  const length = params.samples / params.rateHz;
  if (durationS <= length) return [0];
  const n = Math.min(params.maxWindows, Math.ceil(durationS / length - 1e-9));
  if (n === 1) return [0];
  const step = (durationS - length) / (n - 1);
  return Array.from({ length: n }, (_, i) => i * step);
}

/**
 * Linear interpolation onto `rateHz` from `startS`, cut to or zero-padded to `samples`;
 * channel-major `[6, samples]`.
 */
export function resampleImu(
  rec: ImuRecording,
  params: ImuParams = DEFAULT_IMU_PARAMS,
  startS = 0,
): Float32Array {
  const { samples, rateHz } = params;
  const out = new Float32Array(6 * samples);
  const { t } = rec;
  const last = t[t.length - 1];
  // The small epsilon keeps a grid point that lands on the last timestamp despite rounding.
  const n = Math.max(0, Math.min(samples, Math.floor((last - startS) * rateHz + 1e-9) + 1));
  let j = 0;
  for (let k = 0; k < n; k++) {
    const tk = startS + k / rateHz;
    while (j < t.length - 2 && t[j + 1] < tk) j++;
    const span = t[j + 1] - t[j];
    const w = t.length < 2 || span <= 0 ? 0 : Math.min(1, Math.max(0, (tk - t[j]) / span));
    for (let c = 0; c < 6; c++) {
      const v = rec.channels[c];
      out[c * samples + k] = t.length < 2 ? v[0] : v[j] + (v[j + 1] - v[j]) * w;
    }
  }
  return out;
}

/** A recording → its windows, `[windows, 6, samples]`. */
export function imuWindows(rec: ImuRecording, params: ImuParams = DEFAULT_IMU_PARAMS): ImuWindows {
  const durationS = rec.t[rec.t.length - 1];
  const length = params.samples / params.rateHz;
  const starts = imuWindowStarts(durationS, params);
  const data = new Float32Array(starts.length * 6 * params.samples);
  starts.forEach((s, i) => data.set(resampleImu(rec, params, s), i * 6 * params.samples));
  return {
    tensor: floatTensor(data, [starts.length, 6, params.samples]),
    windows: starts.map((s) => ({ startS: s, endS: s + length })),
    durationS,
  };
}

/** The file's bytes: a regular file no larger than MAX_IMU_CSV_BYTES (never a FIFO or a device). */
async function readCsvFile(file: string, label: string): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; for regular files it changes nothing.
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new ImuCsvError(label, null, 'not a regular file');
    if (info.size > MAX_IMU_CSV_BYTES)
      throw new ImuCsvError(
        label,
        null,
        `${info.size} bytes; IMU CSVs over ${MAX_IMU_CSV_BYTES} bytes are refused`,
      );
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** An IMU CSV file (path) or its bytes → ImageBind's IMU input, `[windows, 6, samples]`. */
export async function preprocessImu(
  input: string | Buffer,
  params: ImuParams = DEFAULT_IMU_PARAMS,
  opts: ImuOptions = {},
): Promise<ImuWindows> {
  const label =
    opts.label ?? (typeof input === 'string' ? JSON.stringify(input) : `<buffer of ${input.length} bytes>`);
  const bytes = typeof input === 'string' ? await readCsvFile(input, label) : input;
  if (bytes.length === 0) throw new ImuCsvError(label, null, 'no data (empty file)');
  if (bytes.includes(0)) throw new ImuCsvError(label, null, 'binary data, not a CSV text file');
  return imuWindows(parseImuCsv(bytes.toString('utf8'), { ...opts, label }), params);
}

/**
 * IMU preprocessing → float32 `[6, samples]` (ImageBind: 2000 samples, 5 s at 400 Hz as in Ego4D).
 *
 * Input is a CSV of `timestamp, ax, ay, az, gx, gy, gz` (accelerometer, then gyroscope):
 * - a header row is optional; when it names the columns (`time`, `acc_x`/`ax`/`accelX`,
 *   `gyro_x`/`gx`…), they are found by name, otherwise by position, and extra columns are ignored;
 * - separators: comma, semicolon or tab (with `;` or tab, decimal commas are accepted);
 * - timestamps in seconds, milliseconds, microseconds or nanoseconds, relative or absolute: the
 *   unit comes from the header (`time_ms`, `t (s)`…) or else from the median sample interval
 *   (below 0.5 → s, below 500 → ms, below 5e5 → µs, else ns, i.e. 2 Hz to 2 kHz in every unit);
 * - timestamps must strictly increase.
 *
 * The recording is resampled by linear interpolation onto a `rateHz` grid starting at its first
 * timestamp, then cut to `samples` (the first 5 s) or padded with zeros. Values pass through
 * unchanged: ImageBind's IMU tower takes raw sensor units (m/s² and rad/s in Ego4D).
 * Every malformed input is an Error whose one-line message names the line.
 */
import { readFile } from 'node:fs/promises';
import { ImuParamsSchema, type ImuParams } from '../../../app/pack.js';
import { floatTensor, type FloatTensor } from './tensor.js';

export const DEFAULT_IMU_PARAMS: ImuParams = ImuParamsSchema.parse({});

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';
const UNIT_SECONDS: Record<TimeUnit, number> = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };

/** A parsed recording: timestamps in seconds and the six sensor channels. */
export interface ImuRecording {
  t: Float64Array;
  /** ax, ay, az, gx, gy, gz. */
  channels: Float64Array[];
}

export interface ImuOptions {
  /** Overrides the timestamp unit detection. */
  timeUnit?: TimeUnit;
  /** Names the input in error messages. */
  label?: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
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

const UNIT_WORDS = '(s|ms|us|ns|sec|secs|seconds|millis|micros|nanos)?';
const TIME_NAME = new RegExp(`^(t|ts|time|times|timestamp|elapsed|elapsedtime|sec|seconds)${UNIT_WORDS}$`);
const ACC = 'a|acc|accel|accelerometer|acceleration|linacc|linearacceleration';
const GYR = 'g|gyr|gyro|gyroscope|w|omega|rot|rotationrate|angvel|angularvelocity';
const SENSOR_UNITS = '(ms|mss|mps|g|rad|rads|dps|deg|degs|raw)?';

/** Column index for each of timestamp, ax…gz from a header, or null to go by position. */
function columnsFromHeader(header: string[]): number[] | null {
  // "acc_x (m/s^2)" → "accx": units in brackets and punctuation carry no name.
  const names = header.map((h) =>
    h
      .toLowerCase()
      .replace(/\(.*?\)|\[.*?\]/g, '')
      .replace(/[^a-z]/g, ''),
  );
  const find = (re: RegExp) => names.findIndex((n) => re.test(n));
  // Only unit words may follow the axis letter, or "gyrox" would also read as "g" + "y".
  const axis = (prefix: string, a: string) =>
    find(new RegExp(`^((${prefix})${a}|${a}(${prefix}))${SENSOR_UNITS}$`));
  const xyz = ['x', 'y', 'z'];
  const cols = [find(TIME_NAME), ...xyz.map((a) => axis(ACC, a)), ...xyz.map((a) => axis(GYR, a))];
  return cols.every((c) => c >= 0) && new Set(cols).size === COLUMN_COUNT ? cols : null;
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

function parseRows(
  rows: Row[],
  cols: number[],
  label: string,
): { raw: Float64Array; channels: Float64Array[] } {
  const raw = new Float64Array(rows.length);
  const channels = Array.from({ length: 6 }, () => new Float64Array(rows.length));
  const width = Math.max(...cols) + 1;
  rows.forEach((row, i) => {
    if (row.fields.length < width) {
      throw new ImuCsvError(
        label,
        row.line,
        `expected ${width} columns (timestamp, ax, ay, az, gx, gy, gz), found ${row.fields.length}`,
      );
    }
    cols.forEach((col, k) => {
      const f = row.fields[col];
      if (!isNumeric(f))
        throw new ImuCsvError(
          label,
          row.line,
          `column ${col + 1} is not a number: ${JSON.stringify(f.slice(0, 40))}`,
        );
      if (k === 0) raw[i] = Number(f);
      else channels[k - 1][i] = Number(f);
    });
    if (i > 0 && !(raw[i] > raw[i - 1])) {
      throw new ImuCsvError(
        label,
        row.line,
        `timestamp ${raw[i]} does not increase (previous row: ${raw[i - 1]})`,
      );
    }
  });
  return { raw, channels };
}

/** Parses IMU CSV text into timestamps (seconds) and six channels. */
export function parseImuCsv(text: string, opts: ImuOptions = {}): ImuRecording {
  const label = opts.label ?? '<text>';
  const lines = rowsOf(text);
  if (lines.length === 0) throw new ImuCsvError(label, null, 'no data (empty file)');
  const sep = detectSeparator(lines[0].text);
  const first = splitRow(lines[0].text, sep);
  // A header has no numbers; a row with some is data, and its bad fields are reported as such.
  const hasHeader = first.every((f) => !isNumeric(f));
  const cols = (hasHeader && columnsFromHeader(first)) || [0, 1, 2, 3, 4, 5, 6];
  const rows = lines.slice(hasHeader ? 1 : 0).map((l) => ({ line: l.line, fields: splitRow(l.text, sep) }));
  if (rows.length === 0) throw new ImuCsvError(label, null, 'a header but no data rows');
  const { raw, channels } = parseRows(rows, cols, label);
  const unit =
    opts.timeUnit ?? (hasHeader ? unitFromHeader(first[cols[0]]) : undefined) ?? unitFromIntervals(raw);
  const t = raw.map((v) => (v - raw[0]) * UNIT_SECONDS[unit]);
  return { t, channels };
}

/**
 * Linear interpolation onto `rateHz` from the first timestamp, cut to or zero-padded to `samples`;
 * channel-major `[6, samples]`.
 */
export function resampleImu(rec: ImuRecording, params: ImuParams = DEFAULT_IMU_PARAMS): Float32Array {
  const { samples, rateHz } = params;
  const out = new Float32Array(6 * samples);
  const { t } = rec;
  const duration = t[t.length - 1] - t[0];
  // The small epsilon keeps a grid point that lands on the last timestamp despite rounding.
  const n = Math.min(samples, Math.floor(duration * rateHz + 1e-9) + 1);
  let j = 0;
  for (let k = 0; k < n; k++) {
    const tk = t[0] + k / rateHz;
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

/** An IMU CSV file (path) or its bytes → ImageBind's IMU input, float32 `[6, samples]`. */
export async function preprocessImu(
  input: string | Buffer,
  params: ImuParams = DEFAULT_IMU_PARAMS,
  opts: ImuOptions = {},
): Promise<FloatTensor> {
  const label =
    opts.label ?? (typeof input === 'string' ? JSON.stringify(input) : `<buffer of ${input.length} bytes>`);
  const bytes = typeof input === 'string' ? await readFile(input) : input;
  if (bytes.length === 0) throw new ImuCsvError(label, null, 'no data (empty file)');
  if (bytes.includes(0)) throw new ImuCsvError(label, null, 'binary data, not a CSV text file');
  const rec = parseImuCsv(bytes.toString('utf8'), { ...opts, label });
  return floatTensor(resampleImu(rec, params), [6, params.samples]);
}

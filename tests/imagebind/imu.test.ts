import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imuWindowStarts,
  parseImuCsv,
  preprocessImu as preprocessImuWindows,
  resampleImu,
} from '../../main/core/imagebind/imu.js';

/** The first window's [6, 2000] tensor, as a flat view. */
async function preprocessImu(input: string | Buffer) {
  const w = await preprocessImuWindows(input);
  return { dims: w.tensor.dims.slice(1), data: w.tensor.data.subarray(0, 6 * 2000), windows: w };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bindery-imu-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeCsv(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Channel c as a linear function of time (seconds), so linear interpolation is exact. */
const signal = (c: number, t: number) => (c + 1) * 0.5 + (c % 2 ? -1 : 1) * (c + 1) * t;

function rows(n: number, dtSeconds: number, unitScale: number, sep = ',', decimalComma = false): string[] {
  return Array.from({ length: n }, (_, i) => {
    const t = i * dtSeconds;
    const fields = [t * unitScale, ...[0, 1, 2, 3, 4, 5].map((c) => signal(c, t))].map((v) => {
      const s = String(Number(v.toFixed(9)));
      return decimalComma ? s.replace('.', ',') : s;
    });
    return fields.join(sep);
  });
}

const at = (data: Float32Array, c: number, k: number, samples = 2000) => data[c * samples + k];

describe('preprocessImu: formats', () => {
  it('400 Hz seconds with a header: [6, 2000], values at the grid', async () => {
    const file = writeCsv('s400.csv', ['timestamp,ax,ay,az,gx,gy,gz', ...rows(2001, 1 / 400, 1)].join('\n'));
    const t = await preprocessImu(file);
    expect(t.dims).toEqual([6, 2000]);
    for (const k of [0, 1, 999, 1999]) {
      for (let c = 0; c < 6; c++) expect(at(t.data, c, k)).toBeCloseTo(signal(c, k / 400), 4);
    }
  });

  it('100 Hz in milliseconds is upsampled to 400 Hz and zero-padded', async () => {
    const file = writeCsv('ms100.csv', rows(201, 0.01, 1000).join('\n'));
    const t = await preprocessImu(file);
    // 2 s of data → 801 samples at 400 Hz, then zeros.
    for (const k of [0, 3, 401, 800]) {
      for (let c = 0; c < 6; c++) expect(at(t.data, c, k)).toBeCloseTo(signal(c, k / 400), 4);
    }
    for (let c = 0; c < 6; c++) {
      expect(at(t.data, c, 801)).toBe(0);
      expect(at(t.data, c, 1999)).toBe(0);
    }
  });

  it('covers a long recording with 5 s windows, spread evenly, each with its time', async () => {
    const file = writeCsv('long.csv', rows(1201, 0.01, 1).join('\n')); // 12 s at 100 Hz
    const w = await preprocessImuWindows(file);
    expect(w.tensor.dims).toEqual([3, 6, 2000]);
    expect(w.windows).toEqual([
      { startS: 0, endS: 5 },
      { startS: 3.5, endS: 8.5 },
      { startS: 7, endS: 12 },
    ]);
    expect(w.durationS).toBeCloseTo(12, 9);
    const second = w.tensor.data.subarray(6 * 2000, 12 * 2000);
    for (const k of [0, 1000, 1999])
      for (let c = 0; c < 6; c++) expect(at(second, c, k)).toBeCloseTo(signal(c, 3.5 + k / 400), 4);
  });

  it('caps the windows of a very long recording at maxWindows, first and last at the ends', () => {
    const p = { samples: 2000, rateHz: 400, maxWindows: 8 };
    expect(imuWindowStarts(4, p)).toEqual([0]);
    expect(imuWindowStarts(5, p)).toEqual([0]);
    expect(imuWindowStarts(5.5, p)).toEqual([0, 0.5]);
    const hour = imuWindowStarts(3600, p);
    expect(hour).toHaveLength(8);
    expect(hour[0]).toBe(0);
    expect(hour[7]).toBeCloseTo(3595, 9);
  });

  it('semicolons with decimal commas, tabs, CRLF, BOM, quotes, comments and blank lines', async () => {
    const semi = await preprocessImu(Buffer.from(rows(101, 0.01, 1, ';', true).join('\r\n')));
    const tab = await preprocessImu(
      Buffer.from(['\uFEFF# exported by a phone app', '', ...rows(101, 0.01, 1, '\t'), ''].join('\n')),
    );
    const quoted = rows(101, 0.01, 1).map((r) =>
      r
        .split(',')
        .map((f) => `"${f}"`)
        .join(','),
    );
    const q = await preprocessImu(Buffer.from(['"t","ax","ay","az","gx","gy","gz"', ...quoted].join('\n')));
    for (const t of [semi, tab, q]) {
      for (let c = 0; c < 6; c++) expect(at(t.data, c, 200)).toBeCloseTo(signal(c, 0.5), 4);
    }
  });

  it('finds columns by header name in any order, ignoring extra columns', async () => {
    const header = 'gyro_x,gyro_y,gyro_z,temperature,time_ms,acc_x (m/s^2),acc_y (m/s^2),acc_z (m/s^2)';
    const lines = Array.from({ length: 101 }, (_, i) => {
      const t = i * 0.01;
      const v = [0, 1, 2, 3, 4, 5].map((c) => signal(c, t).toFixed(6));
      return [v[3], v[4], v[5], '21.5', (t * 1000).toFixed(3), v[0], v[1], v[2]].join(',');
    });
    const t = await preprocessImu(Buffer.from([header, ...lines].join('\n')));
    for (let c = 0; c < 6; c++) expect(at(t.data, c, 100)).toBeCloseTo(signal(c, 0.25), 4);
    // Short names, gyroscope first.
    const swapped = rows(101, 0.01, 1).map((r) => {
      const f = r.split(',');
      return [f[0], f[4], f[5], f[6], f[1], f[2], f[3]].join(',');
    });
    const u = await preprocessImu(Buffer.from(['t,gx,gy,gz,ax,ay,az', ...swapped].join('\n')));
    for (let c = 0; c < 6; c++) expect(at(u.data, c, 100)).toBeCloseTo(signal(c, 0.25), 4);
  });

  it('detects ns timestamps (Android) and honours a unit stated in the header', () => {
    const base = 1.7e18;
    const ns = rows(11, 0.0025, 1)
      .map((r, i) => [String(base + i * 2_500_000), ...r.split(',').slice(1)].join(','))
      .join('\n');
    expect(parseImuCsv(ns).t[10]).toBeCloseTo(0.025, 6);
    // 1 Hz in seconds would be read as milliseconds by interval alone; the header settles it.
    const slow = ['time (s),ax,ay,az,gx,gy,gz', ...rows(6, 1, 1)].join('\n');
    expect(parseImuCsv(slow).t[5]).toBe(5);
    expect(parseImuCsv(rows(6, 1, 1).join('\n')).t[5]).toBeCloseTo(0.005, 9);
    expect(parseImuCsv(rows(6, 1, 1).join('\n'), { timeUnit: 's' }).t[5]).toBe(5);
  });

  it('a single row gives one sample, then zeros', () => {
    const out = resampleImu(parseImuCsv('0,1,2,3,4,5,6'), { samples: 4, rateHz: 400, maxWindows: 1 });
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0]);
  });

  it('interpolates between uneven samples', () => {
    const rec = parseImuCsv(['0,0,0,0,0,0,0', '0.004,4,0,0,0,0,0', '0.005,0,0,0,0,0,0'].join('\n'), {
      timeUnit: 's',
    });
    const out = resampleImu(rec, { samples: 4, rateHz: 1000, maxWindows: 1 });
    expect(Array.from(out.subarray(0, 4)).map((v) => Number(v.toFixed(6)))).toEqual([0, 1, 2, 3]);
  });
});

describe('preprocessImu: errors name the line', () => {
  const cases: [string, string, RegExp][] = [
    ['empty file', '', /no data \(empty file\)/],
    ['only blank lines', '\n\n  \n', /no data/],
    ['header only', 'timestamp,ax,ay,az,gx,gy,gz\n', /header but no data rows/],
    ['too few columns', '0,1,2,3,4,5,6\n0.01,1,2,3\n', /line 2: expected 7 columns .* found 4/],
    [
      'non-numeric value',
      't,ax,ay,az,gx,gy,gz\n0,1,2,3,4,5,6\n0.01,1,abc,3,4,5,6\n',
      /line 3: column 3 is not a number: "abc"/,
    ],
    [
      'only rows with missing values',
      '0,1,,3,4,5,6\n0.01,NULL,2,3,4,5,6\n',
      /no row has a value in every column/,
    ],
    ['unknown header', 'a,b,c,d,e,f,g\n0,1,2,3,4,5,6\n', /line 1: the header names no time column/],
    [
      'ambiguous header',
      'time,acc_x,accel_x,ay,az,gx,gy,gz\n0,1,1,2,3,4,5,6\n',
      /line 1: ambiguous header: "acc_x" and "accel_x" both name accelerometer x/,
    ],
    ['header without gyroscope', 'time,ax,ay,az\n0,1,2,3\n', /the header names no gyroscope x column/],
    ['binary data', '\u0000\u0001\u0002PK', /binary data/],
  ];
  for (const [name, text, pattern] of cases) {
    it(name, async () => {
      const file = writeCsv(`${name.replace(/\W+/g, '-')}.csv`, text);
      const err = await preprocessImu(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).toContain(path.basename(file));
      expect((err as Error).message).not.toMatch(/\n/);
    });
  }

  it('a missing file is an ENOENT error', async () => {
    await expect(preprocessImu(path.join(dir, 'nope.csv'))).rejects.toThrow(/ENOENT/);
  });
});

describe('preprocessImu: Ego4D CSVs', () => {
  const EGO4D_HEADER =
    'component_idx,component_timestamp_ms,canonical_timestamp_ms,gyro_x,gyro_y,gyro_z,accl_x,accl_y,accl_z';
  /** Ego4D's layout: a component counter, two clocks, the gyroscope first. Values from `signal`. */
  function ego4dRow(i: number, dtMs: number, opts: { canonical?: string } = {}): string {
    const t = (i * dtMs) / 1000;
    const v = [0, 1, 2, 3, 4, 5].map((c) => signal(c, t).toFixed(6));
    const canonical = opts.canonical ?? (i * dtMs + 1234).toFixed(3);
    return [
      String(Math.floor(i / 50)),
      (i * dtMs).toFixed(3),
      canonical,
      v[3],
      v[4],
      v[5],
      v[0],
      v[1],
      v[2],
    ].join(',');
  }

  it('takes the accelerometer from accl_* and the gyroscope from gyro_*, whatever their order', async () => {
    const lines = Array.from({ length: 201 }, (_, i) => ego4dRow(i, 5));
    const t = await preprocessImu(Buffer.from([EGO4D_HEADER, ...lines].join('\n')));
    // Channel order ax, ay, az, gx, gy, gz: the accelerometer first although the file lists it last.
    for (const k of [0, 100, 399])
      for (let c = 0; c < 6; c++) expect(at(t.data, c, k)).toBeCloseTo(signal(c, k / 400), 4);
  });

  it('uses canonical_timestamp_ms as time, never component_idx, and sorts out-of-order rows', () => {
    const lines = Array.from({ length: 11 }, (_, i) => ego4dRow(i, 5));
    [lines[3], lines[4]] = [lines[4], lines[3]];
    const rec = parseImuCsv([EGO4D_HEADER, ...lines].join('\n'));
    expect(Array.from(rec.t).map((x) => Number(x.toFixed(6)))).toEqual(
      Array.from({ length: 11 }, (_, i) => i * 0.005),
    );
    expect(rec.channels[0][4]).toBeCloseTo(signal(0, 0.02), 5);
  });

  it('leaves out rows whose canonical time or values are NULL or empty, and keeps the first of a repeated time', () => {
    const lines = Array.from({ length: 11 }, (_, i) => ego4dRow(i, 5));
    lines[2] = ego4dRow(2, 5, { canonical: '' });
    lines[5] = ego4dRow(5, 5, { canonical: 'NULL' });
    lines[7] = lines[7].replace(/,[^,]*$/, ',');
    lines.push(ego4dRow(9, 5).replace(/,[^,]*$/, ',999'));
    const rec = parseImuCsv([EGO4D_HEADER, ...lines].join('\n'));
    expect(rec.t).toHaveLength(8);
    expect(rec.channels[2][rec.t.length - 2]).toBeCloseTo(signal(2, 0.045), 5);
  });

  it('a full Ego4D-style recording (several minutes at 200 Hz) gives several windows', async () => {
    const lines = Array.from({ length: 200 * 60 + 1 }, (_, i) => ego4dRow(i, 5));
    const w = await preprocessImuWindows(Buffer.from([EGO4D_HEADER, ...lines].join('\n')));
    expect(w.tensor.dims).toEqual([8, 6, 2000]);
    expect(w.windows[7].endS).toBeCloseTo(60, 6);
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = path.join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    await expect(preprocessImu(fifo)).rejects.toThrow(/not a regular file/);
  });
});

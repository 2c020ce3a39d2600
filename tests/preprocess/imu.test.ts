import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImuCsv, preprocessImu, resampleImu } from '../../main/core/preprocess/imu.js';

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

  it('cuts a long recording to the first 2000 samples', async () => {
    const file = writeCsv('long.csv', rows(1001, 0.01, 1).join('\n')); // 10 s at 100 Hz
    const t = await preprocessImu(file);
    expect(at(t.data, 0, 1999)).toBeCloseTo(signal(0, 1999 / 400), 4);
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
    const out = resampleImu(parseImuCsv('0,1,2,3,4,5,6'), { samples: 4, rateHz: 400 });
    expect(Array.from(out)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0]);
  });

  it('interpolates between uneven samples', () => {
    const rec = parseImuCsv(['0,0,0,0,0,0,0', '0.004,4,0,0,0,0,0', '0.005,0,0,0,0,0,0'].join('\n'), {
      timeUnit: 's',
    });
    const out = resampleImu(rec, { samples: 4, rateHz: 1000 });
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
    ['empty field', '0,1,2,3,4,5,6\n0.01,1,,3,4,5,6\n', /line 2: column 3 is not a number/],
    ['NaN', '0,1,2,3,4,5,6\n0.01,NaN,2,3,4,5,6\n', /line 2: column 2 is not a number/],
    [
      'non-monotonic timestamps',
      '0,1,2,3,4,5,6\n0.02,1,2,3,4,5,6\n0.01,1,2,3,4,5,6\n',
      /line 3: timestamp 0.01 does not increase/,
    ],
    ['repeated timestamp', '0,1,2,3,4,5,6\n0,1,2,3,4,5,6\n', /line 2: timestamp 0 does not increase/],
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

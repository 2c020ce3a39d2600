import { API_SCHEMAS, type ApiMethod } from '../../app/api.js';
import { mulberry32 } from '../../app/random.js';

/**
 * Payloads no API method may accept (issue 13: the fuzz suite every transport must refuse with a
 * schema error). Built systematically from one valid request per method: every object gets unknown
 * and prototype keys, every field wrong types and out-of-range values, every required field goes
 * missing, every array is emptied or overfilled; then seeded random deep mutations. Only payloads
 * the method's own schema refuses are kept, so "0 accepted" is the claim a transport must meet.
 */

export const VALID_REQUESTS: Record<ApiMethod, Record<string, unknown>> = {
  status: {},
  listRoots: {},
  addRoot: { path: '/home/me/Pictures' },
  removeRoot: { id: 1 },
  listDirs: { path: '/home/me' },
  index: { retryFailed: false, skipScan: false },
  cancelIndex: {},
  search: {
    terms: [
      { modality: 'text', text: 'a dog on a beach', weight: 1 },
      { modality: 'image', path: '/home/me/Pictures/dog.jpg', weight: 0.5 },
      { modality: 'segment', segmentId: 3, weight: -0.5 },
    ],
    k: 5,
    level: 'files',
    filters: {
      kinds: ['image'],
      roots: [1],
      pathPrefix: '/home',
      dateFrom: 0,
      dateTo: 1,
      minBytes: 0,
      maxBytes: 10,
      bbox: { south: 40, west: -10, north: 50, east: 10 },
    },
    sort: 'date',
  },
  failures: {},
  fileInfo: { fileId: 3 },
  waveform: { fileId: 3, points: 64 },
  listModels: {},
  useModel: { id: 'imagebind-huge' },
  installModel: {
    source: '/packs/imagebind',
    precision: 'fp16',
    acceptLicence: true,
    skipSelftest: false,
    keepCheckpoint: false,
  },
  removeModel: { id: 'old-pack' },
  embed: { modality: 'image', path: '/home/me/Pictures/dog.jpg' },
  availableModels: {},
  cancelModelInstall: {},
  setModelMirror: { url: 'http://127.0.0.1:8000/' },
  selfTestModel: { id: 'imagebind-huge-fp16' },
  browse: { limit: 50, after: { takenMs: 1_600_000_000_000, fileId: 7 }, filters: { kinds: ['image'] } },
  settings: {},
  setSettings: { ignoreJunk: false },
};

export interface FuzzCase {
  method: ApiMethod;
  payload: unknown;
  /** What was done to the valid request, for failure messages. */
  how: string;
}

type Path = (string | number)[];

const NOT_OBJECTS: unknown[] = [42, 'status', true, false, [], [{}], 1.5, -1, ''];
const EXTRA_KEYS = ['extra', '__proto__', 'constructor', 'prototype', 'toString', '', 'x'.repeat(300)];
const WRONG: Record<string, unknown[]> = {
  string: [42, true, null, [], {}, 1.5, ['a'], ''],
  number: ['1', true, null, [], {}, 1.5, -1, 0, 1e300, -1e300, 2 ** 53 + 2, '0x10'],
  boolean: ['true', 1, 0, null, [], {}, 'yes'],
};
const ENUM_WRONG = ['sonar', 'TEXT', ' text', 'everything', 'fp8'];

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  const copy = clone(root);
  if (path.length === 0) return value;
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

function deleteAt(root: unknown, path: Path): unknown {
  const copy = clone(root);
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  delete node[path.at(-1)!];
  return copy;
}

/** An own key, even `__proto__`, as JSON.parse makes it (an object literal would set the prototype). */
function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const text = JSON.stringify(obj);
  const extra = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return JSON.parse(text === '{}' ? `{${extra}}` : `${text.slice(0, -1)},${extra}}`) as Record<
    string,
    unknown
  >;
}

function* walk(value: unknown, path: Path = []): Generator<{ path: Path; value: unknown }> {
  yield { path, value };
  if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* walk(v, [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* walk(v, [...path, k]);
}

function* systematic(method: ApiMethod, valid: Record<string, unknown>): Generator<FuzzCase> {
  const at = (p: Path) => p.join('.') || 'request';
  for (const v of NOT_OBJECTS) yield { method, payload: v, how: `request = ${JSON.stringify(v)}` };
  for (const { path, value } of walk(valid)) {
    if (Array.isArray(value)) {
      yield { method, payload: setAt(valid, path, []), how: `${at(path)} = []` };
      yield {
        method,
        payload: setAt(
          valid,
          path,
          Array.from({ length: 1001 }, () => value[0]),
        ),
        how: `${at(path)} × 1001`,
      };
      yield { method, payload: setAt(valid, path, 'not a list'), how: `${at(path)} not a list` };
    } else if (value && typeof value === 'object') {
      for (const key of EXTRA_KEYS)
        yield {
          method,
          payload: setAt(valid, path, withKey(value as Record<string, unknown>, key, { polluted: 1 })),
          how: `${at(path)} + key ${JSON.stringify(key.slice(0, 20))}`,
        };
      if (path.length > 0)
        for (const v of NOT_OBJECTS)
          yield { method, payload: setAt(valid, path, v), how: `${at(path)} = ${JSON.stringify(v)}` };
    } else {
      if (path.length > 0) yield { method, payload: deleteAt(valid, path), how: `${at(path)} missing` };
      const wrong = [...(WRONG[typeof value] ?? []), ...(typeof value === 'string' ? ENUM_WRONG : [])];
      for (const w of wrong)
        yield { method, payload: setAt(valid, path, w), how: `${at(path)} = ${JSON.stringify(w)}` };
      if (typeof value === 'string')
        yield {
          method,
          payload: setAt(valid, path, 'x'.repeat(5000)),
          how: `${at(path)} of 5000 characters`,
        };
    }
  }
}

const RANDOM_LEAVES: unknown[] = [
  null,
  0,
  -7,
  3.25,
  1e308,
  '',
  'x',
  '/etc/passwd',
  '\u0000',
  true,
  [],
  {},
  [[[]]],
];

function randomMutation(valid: unknown, rnd: () => number): unknown {
  const nodes = [...walk(valid)].filter((n) => n.path.length > 0);
  if (nodes.length === 0)
    return withKey(
      {},
      `k${Math.floor(rnd() * 1000)}`,
      RANDOM_LEAVES[Math.floor(rnd() * RANDOM_LEAVES.length)],
    );
  let out = valid;
  for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
    // Paths of the payload as mutated so far: an earlier mutation may have replaced a parent.
    const now = [...walk(out)].filter((n) => n.path.length > 0);
    if (now.length === 0) break;
    const { path } = now[Math.floor(rnd() * now.length)];
    out = setAt(out, path, RANDOM_LEAVES[Math.floor(rnd() * RANDOM_LEAVES.length)]);
  }
  return out;
}

/** Every generated case, in a fixed order (seeded), before the schema filter. */
export function generatedPayloads(randomPerMethod = 40, seed = 20261127): FuzzCase[] {
  const rnd = mulberry32(seed);
  const cases: FuzzCase[] = [];
  for (const method of Object.keys(API_SCHEMAS) as ApiMethod[]) {
    const valid = VALID_REQUESTS[method];
    cases.push(...systematic(method, valid));
    for (let i = 0; i < randomPerMethod; i++)
      cases.push({ method, payload: randomMutation(valid, rnd), how: `random mutation ${i}` });
  }
  return cases;
}

/** The generated cases that each method's own schema refuses. */
export function invalidPayloads(randomPerMethod = 40, seed = 20261127): FuzzCase[] {
  return generatedPayloads(randomPerMethod, seed).filter(
    (c) => !API_SCHEMAS[c.method].request.safeParse(c.payload).success,
  );
}

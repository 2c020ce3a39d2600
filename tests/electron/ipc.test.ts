import { describe, expect, it, vi } from 'vitest';
import { API_SCHEMAS, type ApiMethod } from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import { mulberry32 } from '../../app/random.js';
import {
  CALL_CHANNEL,
  createCallHandler,
  EVENT_CHANNEL,
  MAX_PAYLOAD_CHARS,
  registerIpc,
  sendEvent,
  senderAllowed,
  type IpcDeps,
  type IpcOutcome,
} from '../../main/electron/ipc.js';

/**
 * The IPC door without Electron: fake events carry the sender identity Electron would, and a fake
 * engine records exactly what would have crossed into the utility process.
 */

type Frame = { url: string; parent: unknown; routingId: number; processId: number };

function fakeWindow(url = 'app://bindery/index.html') {
  const mainFrame: Frame = { url, parent: null, routingId: 1, processId: 7 };
  return { webContents: { id: 42, mainFrame } };
}

function eventFrom(
  win: ReturnType<typeof fakeWindow>,
  frame: Frame | null = win.webContents.mainFrame,
  senderId = 42,
) {
  return { sender: { id: senderId }, senderFrame: frame } as never;
}

function setup(overrides: Partial<IpcDeps> = {}) {
  const win = fakeWindow();
  const forwarded: { method: string; payload: unknown }[] = [];
  const call = vi.fn(async (method: string, payload: unknown) => {
    forwarded.push({ method, payload });
    if (method === 'fileInfo') return { path: '/library/photo.jpg' };
    return { echoed: method };
  });
  const deps: IpcDeps = {
    window: () => win as never,
    call,
    chooseFolder: vi.fn(async () => '/home/me/Pictures'),
    showItemInFolder: vi.fn(),
    ...overrides,
  };
  const handle = createCallHandler(deps);
  const invoke = (method: unknown, payload?: unknown) => handle(eventFrom(win), method, payload);
  return { win, deps, handle, invoke, forwarded, call };
}

const VALID: Record<ApiMethod, unknown> = {
  status: {},
  listRoots: {},
  addRoot: { path: '/home/me/Pictures' },
  removeRoot: { id: 1 },
  listDirs: {},
  index: {},
  cancelIndex: {},
  search: { terms: [{ modality: 'text', text: 'a dog on a beach' }] },
  failures: {},
  fileInfo: { fileId: 3 },
  waveform: { fileId: 3, points: 64 },
  listModels: {},
  useModel: { id: 'imagebind-huge' },
  installModel: { source: '/packs/imagebind' },
  removeModel: { id: 'old-pack' },
  embed: { modality: 'text', text: 'a dog' },
  availableModels: {},
  cancelModelInstall: {},
  setModelMirror: { url: 'http://127.0.0.1:8000/' },
  selfTestModel: { id: 'imagebind-huge-fp16' },
  browse: {},
  settings: {},
  setSettings: { ignoreJunk: true },
};
const METHODS = Object.keys(API_SCHEMAS) as ApiMethod[];

function expectError(out: IpcOutcome, code: string): asserts out is Extract<IpcOutcome, { ok: false }> {
  expect(out.ok, JSON.stringify(out).slice(0, 300)).toBe(false);
  if (!out.ok) expect(out.error.code).toBe(code);
}

describe('sender check', () => {
  it('accepts our window’s main frame on the app origin', async () => {
    const { invoke, call } = setup();
    const out = await invoke('status', {});
    expect(out).toEqual({ ok: true, value: { echoed: 'status' } });
    expect(call).toHaveBeenCalledOnce();
  });

  it('rejects other frames, other windows, other origins and vanished frames, forwarding nothing', async () => {
    const { win, handle, call } = setup();
    const main = win.webContents.mainFrame;
    const cases: [string, unknown][] = [
      [
        'sub-frame',
        eventFrom(win, { url: 'app://bindery/index.html', parent: main, routingId: 2, processId: 7 }),
      ],
      ['other window', eventFrom(win, main, 43)],
      ['null frame (navigated away)', eventFrom(win, null)],
      ['file://', eventFrom(fakeWindow('file:///etc/passwd'))],
      ['https page', eventFrom(fakeWindow('https://evil.example/'))],
      ['other app host', eventFrom(fakeWindow('app://evil/index.html'))],
      ['app with port', eventFrom(fakeWindow('app://bindery:8080/index.html'))],
      ['app with credentials', eventFrom(fakeWindow('app://user:pw@bindery/index.html'))],
      ['media scheme', eventFrom(fakeWindow('media://file/1/original'))],
      ['data url', eventFrom(fakeWindow('data:text/html,<script>1</script>'))],
      ['about:blank', eventFrom(fakeWindow('about:blank'))],
      [
        'same ids, other process',
        eventFrom(win, { url: 'app://bindery/', parent: null, routingId: 1, processId: 8 }),
      ],
    ];
    for (const [name, event] of cases) {
      const out = await handle(event as never, 'status', {});
      expect(out, name).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(call).not.toHaveBeenCalled();
  });

  it('rejects everything once the window is gone', async () => {
    const win = fakeWindow();
    const handle = createCallHandler({
      window: () => null,
      call: vi.fn(),
      chooseFolder: vi.fn(),
      showItemInFolder: vi.fn(),
    });
    expectError(await handle(eventFrom(win), 'status', {}), 'forbidden');
  });

  it('senderAllowed compares frame identity when Electron hands back the same object', () => {
    const win = fakeWindow();
    expect(senderAllowed(eventFrom(win), win as never)).toBe(true);
    expect(senderAllowed(eventFrom(win), null)).toBe(false);
  });
});

describe('payload validation before the process boundary', () => {
  it('forwards each method’s valid payload, parsed (defaults filled in)', async () => {
    const { invoke, forwarded } = setup();
    for (const method of METHODS) {
      const out = await invoke(method, VALID[method]);
      expect(out.ok, method).toBe(true);
    }
    expect(forwarded.map((f) => f.method)).toEqual(METHODS);
    expect(forwarded.find((f) => f.method === 'index')!.payload).toEqual({
      retryFailed: false,
      skipScan: false,
    });
    expect(forwarded.find((f) => f.method === 'search')!.payload).toMatchObject({
      k: 20,
      level: 'files',
      terms: [{ weight: 1 }],
    });
    expect(forwarded.find((f) => f.method === 'status')!.payload).toEqual({});
  });

  it('treats a missing payload as {}', async () => {
    const { invoke, forwarded } = setup();
    expect((await invoke('status')).ok).toBe(true);
    expectError(await invoke('addRoot'), 'invalid_request');
    expect(forwarded).toHaveLength(1);
  });

  it('answers unknown and inherited method names with not_found', async () => {
    const { invoke, call } = setup();
    for (const m of [
      'nope',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      'x'.repeat(10_000),
      42,
      null,
      {},
      ['status'],
    ]) {
      expectError(await invoke(m, {}), 'not_found');
    }
    expect(call).not.toHaveBeenCalled();
  });

  it('rejects prototype-pollution keys and leaves Object.prototype alone', async () => {
    const { invoke, call } = setup();
    const payloads = [
      JSON.parse('{"__proto__": {"polluted": true}, "path": "/x"}'),
      structuredClone(JSON.parse('{"__proto__": {"polluted": true}, "path": "/x"}')),
      { path: '/x', constructor: { prototype: { polluted: true } } },
      JSON.parse('{"path": "/x", "prototype": {"polluted": true}}'),
    ];
    for (const p of payloads) {
      const out = await invoke('addRoot', p);
      expectError(out, 'invalid_request');
      expect(out.error.issues?.length).toBeGreaterThan(0);
    }
    const search = JSON.parse(
      '{"terms":[{"modality":"text","text":"x","__proto__":{"polluted":1}}],"filters":{"__proto__":{"polluted":1}}}',
    );
    const out = await invoke('search', search);
    if (out.ok) {
      // Non-strict term objects may drop the key; what crosses must be clean either way.
      const sent = call.mock.calls.at(-1)![1] as { terms: object[]; filters: object };
      expect(Object.getPrototypeOf(sent.terms[0])).toBe(Object.prototype);
      expect(Object.keys(sent.filters)).not.toContain('__proto__');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('rejects huge strings and oversized payloads before parsing', async () => {
    const { invoke, call } = setup();
    const huge = 'a'.repeat(5_000_000);
    for (const [method, payload] of [
      ['addRoot', { path: huge }],
      ['installModel', { source: huge }],
      ['search', { terms: [{ modality: 'text', text: huge }] }],
      ['status', { x: huge }],
      ['search', { terms: Array.from({ length: 50_000 }, () => ({ modality: 'text', text: 'x' })) }],
    ] as const) {
      const out = await invoke(method, payload);
      expectError(out, 'invalid_request');
      expect(out.error.message.length).toBeLessThan(500);
    }
    // Just under the cap, the schema still has the last word (max 4096 characters).
    expectError(await invoke('addRoot', { path: 'b'.repeat(MAX_PAYLOAD_CHARS / 2) }), 'invalid_request');
    expectError(
      await invoke('search', { terms: [{ modality: 'text', text: 'c'.repeat(4001) }] }),
      'invalid_request',
    );
    expect(call).not.toHaveBeenCalled();
  });

  it('rejects cyclic and non-JSON payloads that structured clone can carry', async () => {
    const { invoke, call } = setup();
    const cyclic: Record<string, unknown> = { path: '/x' };
    cyclic.self = cyclic;
    for (const p of [
      cyclic,
      { id: 10n },
      new Map([['path', '/x']]),
      new Date(),
      /x/,
      new Uint8Array(4),
      Symbol.for('x'),
    ]) {
      const out = await invoke(p === cyclic ? 'addRoot' : 'removeRoot', p);
      expectError(out, 'invalid_request');
    }
    expect(call).not.toHaveBeenCalled();
  });

  it('fuzz: random JSON values are either forwarded exactly as the schema parses them or rejected with issues', async () => {
    const rnd = mulberry32(20240611);
    const { invoke, forwarded } = setup();
    let accepted = 0;
    let rejected = 0;
    for (const method of METHODS) {
      for (let i = 0; i < 250; i++) {
        const payload = i % 3 === 0 ? mutate(VALID[method], rnd) : randomValue(rnd, 0);
        const before = forwarded.length;
        const out = await invoke(method, payload);
        if (out.ok) {
          accepted++;
          expect(forwarded.length).toBe(before + 1);
          const sent = forwarded.at(-1)!.payload;
          const reparsed = API_SCHEMAS[method].request.safeParse(payload ?? {});
          expect(reparsed.success).toBe(true);
          expect(sent).toEqual(reparsed.data);
        } else {
          rejected++;
          expect(forwarded.length).toBe(before);
          expect(out.error.code).toBe('invalid_request');
          expect(out.error.issues?.length, JSON.stringify(payload)?.slice(0, 200)).toBeGreaterThan(0);
        }
      }
    }
    expect(accepted).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe('answers are outcomes, never thrown errors', () => {
  it('passes ApiErrors through and flattens anything else to failed with its first line', async () => {
    const errors = [
      new ApiError('not_found', 'no file with id 3'),
      new Error('disk on fire\n    at stack frame'),
      'a string',
      null,
    ];
    for (const thrown of errors) {
      const { invoke } = setup({
        call: async () => {
          throw thrown;
        },
      });
      const out = await invoke('fileInfo', { fileId: 3 });
      expect(out.ok).toBe(false);
      if (out.ok) continue;
      if (thrown instanceof ApiError)
        expect(out.error).toEqual({ code: 'not_found', message: 'no file with id 3' });
      else expect(out.error.code).toBe('failed');
      expect(out.error.message).not.toContain('stack frame');
    }
  });
});

describe('shell calls', () => {
  it('chooseFolder returns the picked folder or null', async () => {
    const { invoke, deps } = setup();
    expect(await invoke('chooseFolder', {})).toEqual({ ok: true, value: '/home/me/Pictures' });
    expectError(await invoke('chooseFolder', { path: '/etc' }), 'invalid_request');
    expect(deps.chooseFolder).toHaveBeenCalledOnce();
  });

  it('reveal looks the file up through the engine, then shows it', async () => {
    const { invoke, deps, forwarded } = setup();
    expect(await invoke('reveal', { fileId: 3 })).toEqual({ ok: true, value: null });
    expect(forwarded).toEqual([{ method: 'fileInfo', payload: { fileId: 3 } }]);
    expect(deps.showItemInFolder).toHaveBeenCalledWith('/library/photo.jpg');
    for (const bad of [
      { fileId: -1 },
      { fileId: 1.5 },
      { fileId: '3' },
      { path: '/etc/passwd' },
      { fileId: 3, path: '/etc' },
    ]) {
      expectError(await invoke('reveal', bad), 'invalid_request');
    }
    expect(deps.showItemInFolder).toHaveBeenCalledOnce();
  });

  it('reveal and chooseFolder are sender-checked too', async () => {
    const { win, handle, deps } = setup();
    const sub = { url: 'app://bindery/', parent: win.webContents.mainFrame, routingId: 9, processId: 7 };
    expectError(await handle(eventFrom(win, sub), 'chooseFolder', {}), 'forbidden');
    expectError(await handle(eventFrom(win, sub), 'reveal', { fileId: 3 }), 'forbidden');
    expect(deps.chooseFolder).not.toHaveBeenCalled();
    expect(deps.showItemInFolder).not.toHaveBeenCalled();
  });
});

describe('registration and events', () => {
  it('registers one channel whose handler is the checked one', async () => {
    const handlers = new Map<string, (...a: unknown[]) => unknown>();
    const ipcMain = {
      handle: vi.fn((c: string, h: (...a: unknown[]) => unknown) => handlers.set(c, h)),
      removeHandler: vi.fn(),
    };
    const { deps, win } = setup();
    const off = registerIpc(ipcMain as never, deps);
    expect([...handlers.keys()]).toEqual([CALL_CHANNEL]);
    expect(await handlers.get(CALL_CHANNEL)!(eventFrom(win), 'status', {})).toMatchObject({ ok: true });
    expect(
      await handlers.get(CALL_CHANNEL)!(eventFrom(fakeWindow('https://x.example/')), 'status', {}),
    ).toMatchObject({ ok: false });
    off();
    expect(ipcMain.removeHandler).toHaveBeenCalledWith(CALL_CHANNEL);
  });

  it('sends events to a live window only', () => {
    const send = vi.fn();
    sendEvent({ webContents: { send, isDestroyed: () => false } }, 'indexProgress', { phase: 'scan' });
    expect(send).toHaveBeenCalledWith(EVENT_CHANNEL, { event: 'indexProgress', data: { phase: 'scan' } });
    sendEvent({ webContents: { send, isDestroyed: () => true } }, 'indexProgress', {});
    sendEvent(null, 'modelProgress', {});
    expect(send).toHaveBeenCalledOnce();
  });
});

// ------------------------------------------------------------------------------------------

const KEYS = [
  'path',
  'id',
  'fileId',
  'points',
  'source',
  'retryFailed',
  'skipScan',
  'terms',
  'k',
  'level',
  'filters',
  'modality',
  'text',
  'weight',
  'segmentId',
  'kinds',
  '__proto__',
  'constructor',
  'x',
];

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.12) return null;
  if (r < 0.2) return rnd() < 0.5;
  if (r < 0.35) {
    const picks = [
      0,
      -1,
      1,
      3,
      1.5,
      2 ** 53,
      -(2 ** 31),
      1e308,
      Number.MAX_SAFE_INTEGER,
      Math.floor(rnd() * 5000),
      NaN,
      Infinity,
      -0,
    ];
    return picks[Math.floor(rnd() * picks.length)];
  }
  if (r < 0.5) {
    const picks = [
      '',
      'text',
      'image',
      'files',
      'segments',
      '/tmp/x',
      '../../etc/passwd',
      'a'.repeat(5000),
      '\u0000',
      'ünïcödé',
      '{"a":1}',
    ];
    return picks[Math.floor(rnd() * picks.length)];
  }
  if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 4); i > 0; i--) {
    Object.defineProperty(o, KEYS[Math.floor(rnd() * KEYS.length)], {
      value: randomValue(rnd, depth + 1),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return o;
}

/** A valid payload with one field replaced, removed or added. */
function mutate(valid: unknown, rnd: () => number): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  const keys = Object.keys(copy);
  const r = rnd();
  if (keys.length > 0 && r < 0.4) copy[keys[Math.floor(rnd() * keys.length)]] = randomValue(rnd, 1);
  else if (keys.length > 0 && r < 0.6) delete copy[keys[Math.floor(rnd() * keys.length)]];
  else if (r < 0.8)
    Object.defineProperty(copy, KEYS[Math.floor(rnd() * KEYS.length)], {
      value: randomValue(rnd, 1),
      enumerable: true,
    });
  return copy;
}

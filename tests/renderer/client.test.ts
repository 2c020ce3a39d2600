// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../app/errors.js';
import {
  chooseClient,
  createBridgeClient,
  createElectronClient,
  toClientError,
  type BinderyPreload,
} from '../../renderer/src/api/client.js';
import { fakeHits, fakeResponse } from '../../renderer/src/dev/fake-client.js';

afterEach(() => vi.useRealTimers());

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {
    this.onclose?.();
  }
}

describe('bridge client', () => {
  it('POSTs each AppApi call with the bearer token and validates the answer', async () => {
    const fetchImpl = vi.fn(async () =>
      jsonResponse(200, fakeResponse(fakeHits(2), { notMeaningful: true })),
    );
    const c = createBridgeClient('http://127.0.0.1:5000/', 'tok', {
      fetchImpl,
      WebSocketImpl: FakeSocket as never,
    });
    const r = await c.search({ terms: [{ modality: 'text', text: 'dog', weight: 1 }] });
    expect(r.results).toHaveLength(2);
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://127.0.0.1:5000/api/search');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer tok');
    expect(JSON.parse(init.body as string)).toEqual({
      terms: [{ modality: 'text', text: 'dog', weight: 1 }],
    });
  });

  it('turns error bodies into ApiErrors with their code and issues', async () => {
    const fetchImpl = vi.fn(async () =>
      jsonResponse(400, {
        error: {
          code: 'invalid_request',
          message: 'terms: empty',
          issues: [{ path: 'terms', message: 'empty' }],
        },
      }),
    );
    const c = createBridgeClient('http://h', 't', { fetchImpl });
    const e = await c.status().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({
      code: 'invalid_request',
      message: 'terms: empty',
      issues: [{ path: 'terms', message: 'empty' }],
    });
  });

  it('reports an unreachable server and a malformed answer plainly', async () => {
    const down = createBridgeClient('http://h', 't', {
      fetchImpl: async () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(down.failures()).rejects.toMatchObject({
      code: 'failed',
      message: /Cannot reach the Bindery server/,
    });
    const odd = createBridgeClient('http://h', 't', {
      fetchImpl: async () => jsonResponse(200, { nope: true }),
    });
    await expect(odd.failures()).rejects.toMatchObject({ message: /Unexpected failures response/ });
  });

  it('uploads dropped files and builds media URLs with the token', async () => {
    const fetchImpl = vi.fn(async () => jsonResponse(200, { path: '/tmp/up/x.jpg' }));
    const c = createBridgeClient('http://h:1', 'a b', { fetchImpl });
    expect(await c.resolveDroppedFile(new File(['abc'], 'my dog.jpg'))).toBe('/tmp/up/x.jpg');
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('http://h:1/api/upload');
    expect((init.headers as Record<string, string>)['x-filename']).toBe('my%20dog.jpg');
    expect(c.mediaUrl(7, 'thumb')).toBe('http://h:1/media/7/thumb?token=a%20b');
    expect(c.platform).toBe('browser');
  });

  it('delivers validated events and reconnects the WebSocket with backoff', async () => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    const c = createBridgeClient('http://h:1', 'tok', { WebSocketImpl: FakeSocket as never });
    const progress = vi.fn();
    const states: string[] = [];
    c.onConnection((s) => states.push(s));
    c.onIndexProgress(progress);
    expect(FakeSocket.all).toHaveLength(1);
    expect(FakeSocket.all[0].url).toBe('ws://h:1/api/events?token=tok');
    FakeSocket.all[0].onopen?.();
    const p = {
      phase: 'embed',
      filesDone: 1,
      filesTotal: 4,
      filesPerSec: 2,
      etaS: 1.5,
      current: '/a.jpg',
      summary: { indexed: 0, skipped: 0, moved: 0, failed: 0, embedded: 0, removed: 0 },
    };
    FakeSocket.all[0].onmessage?.({ data: JSON.stringify({ event: 'indexProgress', data: p }) });
    FakeSocket.all[0].onmessage?.({
      data: JSON.stringify({ event: 'indexProgress', data: { phase: 'bogus' } }),
    });
    FakeSocket.all[0].onmessage?.({ data: 'not json' });
    expect(progress).toHaveBeenCalledTimes(1);
    expect(progress).toHaveBeenCalledWith(p);
    FakeSocket.all[0].close();
    expect(states).toEqual(['connecting', 'open', 'reconnecting']);
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1].close(); // fails again: the next wait doubles
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(3);
  });
});

describe('electron client', () => {
  function preload(overrides: Partial<BinderyPreload> = {}): BinderyPreload {
    const base: Partial<BinderyPreload> = {
      status: vi.fn(async () => {
        throw { name: 'ApiError', code: 'forbidden', message: 'nope' };
      }),
      on: () => () => undefined,
      mediaUrl: (id, v) => `media://file/${id}/${v}`,
      pathForFile: (f) => (f.name === 'ghost' ? '' : `/home/me/${f.name}`),
    };
    return { ...base, ...overrides } as BinderyPreload;
  }

  it('maps preload rejections to ApiErrors and exposes the native extras', async () => {
    const reveal = vi.fn(async () => undefined);
    const c = createElectronClient(preload({ reveal }));
    await expect(c.status()).rejects.toMatchObject({ code: 'forbidden', message: 'nope' });
    expect(c.platform).toBe('electron');
    expect(c.mediaUrl(3, 'original')).toBe('media://file/3/original');
    expect(await c.resolveDroppedFile(new File([''], 'a.wav'))).toBe('/home/me/a.wav');
    await expect(c.resolveDroppedFile(new File([''], 'ghost'))).rejects.toMatchObject({
      code: 'unsupported',
    });
    await c.reveal!(9);
    expect(reveal).toHaveBeenCalledWith(9);
    expect(c.chooseFolder).toBeUndefined();
  });

  it('cleans Electron’s IPC prefix off error messages', () => {
    const e = toClientError(new Error("Error invoking remote method 'bindery:call': Error: boom"));
    expect(e.message).toBe('boom');
    expect(e.code).toBe('failed');
  });
});

describe('start-up', () => {
  it('prefers window.bindery, else a #token, else the no-token screen', () => {
    const fakeWin = (hash: string, bindery?: unknown) => {
      const store = new Map<string, string>();
      return {
        bindery,
        location: { hash, pathname: '/', search: '', origin: 'http://127.0.0.1:9' },
        history: { replaceState: vi.fn() },
        sessionStorage: {
          getItem: (k: string) => store.get(k) ?? null,
          setItem: (k: string, v: string) => store.set(k, v),
        },
      } as unknown as Window;
    };
    expect(chooseClient(fakeWin('', { on: () => () => undefined })).kind).toBe('electron');
    const w = fakeWin('#token=abc');
    const choice = chooseClient(w);
    expect(choice.kind).toBe('bridge');
    expect(w.history.replaceState).toHaveBeenCalledWith(null, '', '/');
    expect(chooseClient(fakeWin('')).kind).toBe('no-token');
    // A reload keeps working once the token was seen (session storage).
    const again = chooseClient({ ...w, location: { ...w.location, hash: '' } } as Window);
    expect(again.kind).toBe('bridge');
  });
});

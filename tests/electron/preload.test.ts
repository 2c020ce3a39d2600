import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_SCHEMAS, EVENT_SCHEMAS, MEDIA_VARIANTS } from '../../app/api.js';
import { API_EVENTS, API_METHODS } from '../../app/transport.js';

/** The real preload module, with `electron` replaced by recorders (no binary needed). */

const m = vi.hoisted(() => ({
  exposed: {} as Record<string, unknown>,
  invoke: vi.fn(),
  on: vi.fn(),
  removeListener: vi.fn(),
  getPathForFile: vi.fn(() => '/home/me/dropped.jpg'),
}));

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (m.exposed[key] = api) },
  ipcRenderer: { invoke: m.invoke, on: m.on, removeListener: m.removeListener, send: vi.fn() },
  webUtils: { getPathForFile: m.getPathForFile },
}));

type Api = Record<string, (...a: unknown[]) => unknown>;
let api: Api;

beforeAll(async () => {
  await import('../../main/preload/preload.js');
  api = m.exposed.bindery as Api;
});

beforeEach(() => {
  m.invoke.mockReset();
  m.on.mockClear();
  m.removeListener.mockClear();
});

describe('window.bindery', () => {
  it('is exposed once, as functions only, never ipcRenderer', () => {
    expect(Object.keys(m.exposed)).toEqual(['bindery']);
    for (const [name, value] of Object.entries(api)) expect(typeof value, name).toBe('function');
    const expected = [
      ...Object.keys(API_SCHEMAS),
      'on',
      'onIndexProgress',
      'onModelProgress',
      'mediaUrl',
      'pathForFile',
      'chooseFolder',
      'reveal',
    ];
    expect(Object.keys(api).sort()).toEqual(expected.sort());
    expect(Object.values(api)).not.toContain(m.invoke);
  });

  it('uses the transport lists, which name exactly the methods and events of app/api.ts', () => {
    expect([...API_METHODS]).toEqual(Object.keys(API_SCHEMAS));
    expect([...API_EVENTS]).toEqual(Object.keys(EVENT_SCHEMAS));
    expect([...MEDIA_VARIANTS]).toEqual(['original', 'thumb']);
  });

  it('calls through one channel and unwraps the value', async () => {
    m.invoke.mockResolvedValue({ ok: true, value: { indexed: 3 } });
    await expect(api.index({ retryFailed: true })).resolves.toEqual({ indexed: 3 });
    expect(m.invoke).toHaveBeenCalledWith('bindery:call', 'index', { retryFailed: true });
    await api.status();
    expect(m.invoke).toHaveBeenLastCalledWith('bindery:call', 'status', {});
  });

  it('rejects with a plain ApiError body that survives contextBridge’s copy', async () => {
    const error = {
      code: 'invalid_request',
      message: 'path: expected string',
      issues: [{ path: 'path', message: 'expected string' }],
    };
    m.invoke.mockResolvedValue({ ok: false, error });
    const rejection = await (api.addRoot({ path: 1 }) as Promise<unknown>).catch((e: unknown) => e);
    expect(rejection).not.toBeInstanceOf(Error);
    // contextBridge copies plain objects (and drops an Error's custom properties).
    expect(structuredClone(rejection)).toEqual({ name: 'ApiError', ...error });
  });

  it('turns IPC failures and malformed replies into failed rejections', async () => {
    m.invoke.mockRejectedValue(new Error("Error invoking remote method 'bindery:call': boom"));
    await expect(api.status()).rejects.toMatchObject({
      name: 'ApiError',
      code: 'failed',
      message: expect.stringContaining('boom'),
    });
    m.invoke.mockResolvedValue(undefined);
    await expect(api.status()).rejects.toMatchObject({ code: 'failed', message: 'malformed IPC reply' });
  });

  it('subscribes to events once, dispatches by name and unsubscribes', () => {
    const progress = vi.fn();
    const model = vi.fn();
    const off1 = api.on('indexProgress', progress) as () => void;
    const off2 = api.onModelProgress(model) as () => void;
    expect(m.on).toHaveBeenCalledOnce();
    const [channel, listener] = m.on.mock.calls[0] as [string, (e: unknown, msg: unknown) => void];
    expect(channel).toBe('bindery:event');
    listener({}, { event: 'indexProgress', data: { phase: 'scan' } });
    listener({}, { event: 'modelProgress', data: { phase: 'download' } });
    listener({}, { event: 'somethingElse', data: 1 });
    listener({}, { event: '__proto__', data: 1 });
    listener({}, null);
    listener({}, 'garbage');
    expect(progress).toHaveBeenCalledExactlyOnceWith({ phase: 'scan' });
    expect(model).toHaveBeenCalledExactlyOnceWith({ phase: 'download' });
    off1();
    expect(m.removeListener).not.toHaveBeenCalled();
    off2();
    expect(m.removeListener).toHaveBeenCalledWith('bindery:event', listener);
    expect(() => api.on('bogus', () => undefined)).toThrow(/unknown event/);
    expect(() => api.on('indexProgress', 'not a function')).toThrow(/function/);
  });

  it('builds media URLs only for positive ids and known variants', () => {
    expect(api.mediaUrl(12, 'thumb')).toBe('media://file/12/thumb');
    expect(api.mediaUrl(3, 'original')).toBe('media://file/3/original');
    for (const [id, v] of [
      [0, 'thumb'],
      [-1, 'thumb'],
      [1.5, 'thumb'],
      ['1', 'thumb'],
      [1, '../x'],
      [1, 'ORIGINAL'],
      [NaN, 'thumb'],
    ]) {
      expect(() => api.mediaUrl(id, v), `${id} ${v}`).toThrow();
    }
  });

  it('resolves dropped files through webUtils, and wraps the shell calls', async () => {
    const file = { name: 'x.jpg' };
    expect(api.pathForFile(file)).toBe('/home/me/dropped.jpg');
    expect(m.getPathForFile).toHaveBeenCalledWith(file);
    m.invoke.mockResolvedValue({ ok: true, value: '/home/me/Pictures' });
    await expect(api.chooseFolder()).resolves.toBe('/home/me/Pictures');
    expect(m.invoke).toHaveBeenLastCalledWith('bindery:call', 'chooseFolder', {});
    m.invoke.mockResolvedValue({ ok: true, value: null });
    await expect(api.reveal(7)).resolves.toBeUndefined();
    expect(m.invoke).toHaveBeenLastCalledWith('bindery:call', 'reveal', { fileId: 7 });
  });
});

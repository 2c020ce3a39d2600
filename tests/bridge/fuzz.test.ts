import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SCHEMAS } from '../../app/api.js';
import { createCallHandler, type IpcDeps } from '../../main/electron/ipc.js';
import { tempDir } from '../support/cli.js';
import { generatedPayloads, invalidPayloads, type FuzzCase } from '../support/fuzz-payloads.js';
import { httpTransport, indexedLibrary, serve, workerTransport, type Transport } from './transports.js';

/**
 * The fuzz suite of issue 13: well over 1,000 invalid payloads, covering every API method, sent
 * through every transport (the HTTP bridge of `bindery serve`, the engine host's port that the
 * Electron utility process runs, and the Electron IPC door). Every one must come back as a schema
 * error (invalid_request, HTTP 400, with the issues listed): never a 500, never accepted.
 */

let cleanup: () => Promise<void>;
const transports: Transport[] = [];
const CASES = invalidPayloads();

/** The IPC door with a fake engine behind it: anything that gets past the schema is recorded. */
function ipcTransport(): Transport & { forwarded: unknown[] } {
  const forwarded: unknown[] = [];
  const mainFrame = { url: 'app://bindery/index.html', parent: null, routingId: 1, processId: 7 };
  const win = { webContents: { id: 42, mainFrame } };
  const deps: IpcDeps = {
    window: () => win as never,
    call: async (method, payload) => {
      forwarded.push({ method, payload });
      return {};
    },
    chooseFolder: async () => null,
    showItemInFolder: () => undefined,
  };
  const handle = createCallHandler(deps);
  return {
    name: 'electron ipc',
    forwarded,
    async call(method, payload) {
      const out = await handle({ sender: { id: 42 }, senderFrame: mainFrame } as never, method, payload);
      return out.ok ? { ok: true, value: out.value } : { ok: false, error: out.error };
    },
    close: async () => undefined,
  };
}

beforeAll(async () => {
  const t = await tempDir('bindery-fuzz-');
  cleanup = t.cleanup;
  const a = await indexedLibrary(path.join(t.dir, 'a'));
  const b = await indexedLibrary(path.join(t.dir, 'b'));
  transports.push(httpTransport(await serve(a.db)), await workerTransport(b.db), ipcTransport());
}, 120_000);

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await cleanup?.();
});

describe('fuzzed payloads (issue 13)', () => {
  it('cover every method, over 1,000 in all; every unknown or prototype key is refused by the schema itself', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(1000);
    const methods = new Set(CASES.map((c) => c.method));
    expect([...methods].sort()).toEqual(Object.keys(API_SCHEMAS).sort());
    for (const m of methods) expect(CASES.filter((c) => c.method === m).length, m).toBeGreaterThanOrEqual(50);
    // The schema filter may drop a wrong value a field legitimately allows (a nullable mirror URL),
    // never an unknown key: strict at every level.
    const keyCases = generatedPayloads().filter((c) => c.how.includes('+ key'));
    const accepted = keyCases.filter((c) => API_SCHEMAS[c.method].request.safeParse(c.payload).success);
    expect(accepted.map((c) => `${c.method}: ${c.how}`)).toEqual([]);
    expect(keyCases.length).toBeGreaterThan(100);
    console.log(`${generatedPayloads().length} generated, ${CASES.length} refused by their schema and sent`);
  });

  it.each([0, 1, 2])(
    'transport %i answers every one with a schema error: 0 × 500, 0 accepted',
    async (i) => {
      const t = transports[i];
      const wrong: string[] = [];
      const statuses = new Map<number | string, number>();
      const check = async (c: FuzzCase) => {
        const r = await t.call(c.method, c.payload);
        const status = r.ok ? 'accepted' : (r.status ?? r.error.code);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const schemaError =
          !r.ok &&
          r.error.code === 'invalid_request' &&
          (r.error.issues?.length ?? 0) > 0 &&
          (r.status ?? 400) === 400;
        if (!schemaError) wrong.push(`${c.method} (${c.how}): ${JSON.stringify(r).slice(0, 200)}`);
      };
      // Eight at a time, as a busy client would send them.
      for (let at = 0; at < CASES.length; at += 8) await Promise.all(CASES.slice(at, at + 8).map(check));
      console.log(`${t.name}: ${CASES.length} payloads → ${JSON.stringify(Object.fromEntries(statuses))}`);
      expect(wrong.slice(0, 10)).toEqual([]);
      const healthy = await t.call('status', {});
      expect(healthy.ok).toBe(true);
      if ('forwarded' in t) expect((t as { forwarded: unknown[] }).forwarded).toHaveLength(1); // status only
    },
    300_000,
  );
});

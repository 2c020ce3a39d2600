import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SCHEMAS, StatusSchema } from '../../app/api.js';
import { SearchResponseSchema } from '../../app/query.js';
import { tempDir } from '../support/cli.js';
import { httpTransport, indexedLibrary, serve, workerTransport, type Transport } from './transports.js';

/**
 * One contract, two transports: the HTTP bridge (`bindery serve`) and the engine host port that
 * the Electron utility process serves IPC through. Both must accept, reject and answer alike.
 */

let cleanup: () => Promise<void>;
const transports: Transport[] = [];
const libs: string[] = [];

beforeAll(async () => {
  const t = await tempDir('bindery-contract-');
  cleanup = t.cleanup;
  const a = await indexedLibrary(path.join(t.dir, 'a'));
  const b = await indexedLibrary(path.join(t.dir, 'b'));

  transports.push(httpTransport(await serve(a.db)), await workerTransport(b.db));
  libs.push(a.lib, b.lib);
});

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await cleanup?.();
});

/** Payloads no method may accept: wrong types, extra keys, prototype tricks, huge values. */
const GARBAGE: Record<string, unknown[]> = {
  search: [
    null,
    42,
    'dog',
    [],
    { terms: [] },
    { terms: [{ modality: 'text', text: 'x', weight: 2 }] },
    { terms: [{ modality: 'text', text: 'x' }], k: -1 },
    { terms: [{ modality: 'text', text: 'x' }], k: 1e9 },
    { terms: [{ modality: 'sonar', path: '/x' }] },
    { terms: [{ modality: 'text', text: 'x', weight: 0 }] },
    { terms: [{ modality: 'text', text: 'x' }], extra: true },
    { terms: [{ modality: 'text', text: 'x' }], filters: { __proto__: { polluted: 1 }, bogus: 1 } },
    { terms: [{ modality: 'image', path: 'x'.repeat(5000) }] },
    { terms: [{ modality: 'text', text: 'x' }], level: 'everything' },
  ],
  addRoot: [{}, { path: '' }, { path: 7 }, { path: '/tmp', admin: true }],
  removeRoot: [{ id: 'one' }, { id: -3 }, { id: 1.5 }],
  fileInfo: [{ fileId: '1' }, {}, { fileId: 0 }],
  useModel: [{ id: '' }, { id: 'x'.repeat(100) }],
  index: [{ retryFailed: 'yes' }, { force: true }],
};

describe.each([0, 1])('AppApi contract over transport %i', (i) => {
  const t = () => transports[i];

  it('answers status with a schema-valid body', async () => {
    const r = await t().call('status', {});
    expect(r.ok, t().name).toBe(true);
    const s = StatusSchema.parse((r as { value: unknown }).value);
    expect(s.files.indexed).toBe(3);
    expect(s.model.testPack).toBe(true);
  });

  it('searches and returns a schema-valid response', async () => {
    const r = await t().call('search', {
      terms: [{ modality: 'image', path: path.join(libs[i], 'dog_image.jpg') }],
      k: 5,
    });
    expect(r.ok).toBe(true);
    const res = SearchResponseSchema.parse((r as { value: unknown }).value);
    expect(path.basename(res.results[0].path)).toBe('dog_image.jpg');
  });

  it.each(Object.entries(GARBAGE).flatMap(([m, ps]) => ps.map((p) => [m, p] as const)))(
    'rejects %s(%j) with invalid_request',
    async (method, payload) => {
      const r = await t().call(method, payload);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe('invalid_request');
      expect(r.error.message.length).toBeGreaterThan(3);
      if ('status' in r) expect(r.status).toBe(400);
    },
  );

  it('refuses unknown methods, including prototype names', async () => {
    for (const m of ['dropDatabase', '__proto__', 'constructor', 'toString']) {
      const r = await t().call(m, {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('not_found');
    }
  });

  it('reports a missing file as not_found, and the engine keeps answering', async () => {
    const r = await t().call('fileInfo', { fileId: 999_999 });
    expect(r).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const again = await t().call('status', {});
    expect(again.ok).toBe(true);
  });

  it('covers every API method with a schema', () => {
    expect(Object.keys(API_SCHEMAS).sort()).toContain('search');
  });
});

import { vi } from 'vitest';
import type { QueryInput, SearchResponse } from '../../app/query.js';
import type { BinderyClient } from '../../renderer/src/api/client.js';
import { createFakeClient, fakeHits, fakeResponse } from '../../renderer/src/dev/fake-client.js';

/** A client with `n` synthetic results whose `search` is a spy (each call answers at once). */
export function mockClient(n = 40, overrides: Partial<BinderyClient> = {}) {
  const base = createFakeClient({ hits: n });
  const hits = fakeHits(n);
  const search = vi.fn(async (q: QueryInput): Promise<SearchResponse> =>
    fakeResponse(
      hits.map((h) => ({ ...h, terms: q.terms.map(() => 0.5), contributions: q.terms.map(() => 0.5) })),
      { model: 'fake', tookMs: 1 },
    ),
  );
  const resolveDroppedFile = vi.fn(async (f: File) => `/uploads/${f.name}`);
  const client: BinderyClient = { ...base, search, resolveDroppedFile, ...overrides };
  return { client, search, resolveDroppedFile };
}

/** jsdom lays nothing out: give every element a size so the virtualiser has a viewport. */
export function stubLayout(width: number, height: number): () => void {
  const proto = HTMLElement.prototype;
  const saved = {
    w: Object.getOwnPropertyDescriptor(proto, 'clientWidth'),
    h: Object.getOwnPropertyDescriptor(proto, 'clientHeight'),
    o: Object.getOwnPropertyDescriptor(proto, 'offsetHeight'),
  };
  Object.defineProperty(proto, 'clientWidth', { configurable: true, get: () => width });
  Object.defineProperty(proto, 'clientHeight', { configurable: true, get: () => height });
  Object.defineProperty(proto, 'offsetHeight', { configurable: true, get: () => height });
  return () => {
    for (const [k, d] of [
      ['clientWidth', saved.w],
      ['clientHeight', saved.h],
      ['offsetHeight', saved.o],
    ] as const) {
      if (d) Object.defineProperty(proto, k, d);
      else delete (proto as unknown as Record<string, unknown>)[k];
    }
  };
}

/** A DataTransfer-like object for fireEvent.drop in jsdom (which has no DataTransfer). */
export function fileDrop(files: File[]) {
  return { dataTransfer: { files, types: ['Files'], dropEffect: 'none', items: [] } };
}

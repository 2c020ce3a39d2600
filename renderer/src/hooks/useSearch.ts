import { useEffect, useRef, useState } from 'react';
import type { SearchResponse } from '../../../app/query.js';
import type { BinderyClient } from '../api/client.js';
import type { SearchRequest } from '../state/chips.js';
import { toClientError } from '../api/client.js';

export interface SearchState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** The last response that was applied, kept on screen while a newer one is on its way. */
  response: SearchResponse | null;
  /** The request that produced `response` (its term ↔ chip mapping labels the attributions). */
  request: SearchRequest | null;
  error: string | null;
  /** True while a newer request than the one shown is pending. */
  pending: boolean;
}

const IDLE: SearchState = { status: 'idle', response: null, request: null, error: null, pending: false };

/**
 * Live search: every change of the request (a slider moving, a chip added, a filter) schedules a
 * search after `debounceMs` of quiet — or at the latest `maxWaitMs` after the first unsent change,
 * so results keep re-ranking during a long slider drag. Searches are numbered as they are sent and
 * a response is shown only if it is newer than the one on screen: a slow early answer never
 * overwrites a later one.
 */
export function useSearch(
  client: BinderyClient,
  request: SearchRequest | null,
  opts: { debounceMs?: number; maxWaitMs?: number; refresh?: number } = {},
): SearchState {
  const { debounceMs = 60, maxWaitMs = 150, refresh = 0 } = opts;
  const [state, setState] = useState<SearchState>(IDLE);
  const sent = useRef(0);
  const applied = useRef(0);
  const unsentSince = useRef<number | null>(null);
  const latest = useRef(request);
  latest.current = request;
  const key = request?.key ?? null;

  useEffect(() => {
    if (!key) {
      unsentSince.current = null;
      applied.current = sent.current; // answers still in flight belong to a cleared query
      setState(IDLE);
      return;
    }
    setState((s) => ({ ...s, pending: true, status: s.response ? s.status : 'loading' }));
    const now = Date.now();
    unsentSince.current ??= now;
    const wait = Math.max(0, Math.min(debounceMs, unsentSince.current + maxWaitMs - now));
    const timer = setTimeout(() => {
      unsentSince.current = null;
      const req = latest.current;
      if (!req) return;
      const my = ++sent.current;
      const accept = () => {
        if (my <= applied.current) return false;
        applied.current = my;
        return true;
      };
      const stillPending = () => my !== sent.current || unsentSince.current !== null;
      client.search(req.query).then(
        (response) => {
          if (accept())
            setState({ status: 'ready', response, request: req, error: null, pending: stillPending() });
        },
        (e: unknown) => {
          if (accept())
            setState((s) => ({
              ...s,
              status: 'error',
              error: toClientError(e).message,
              pending: stillPending(),
            }));
        },
      );
    }, wait);
    return () => clearTimeout(timer);
  }, [client, key, debounceMs, maxWaitMs, refresh]);

  return state;
}

import { useEffect, useRef, useState } from 'react';
import type { ApiErrorCode } from '../../../app/errors.js';
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
  /** The one input the engine could not use, when that was the failure: its chip, and why. */
  failedTerm?: { chipId: string; message: string };
}

const IDLE: SearchState = { status: 'idle', response: null, request: null, error: null, pending: false };

/** A 4xx naming a term (`terms.N`) belongs to that term's chip, not to the whole search. */
function failedTermOf(e: unknown, req: SearchRequest): SearchState['failedTerm'] {
  const err = toClientError(e);
  const issue = err.issues?.find((i) => /^terms\.\d+$/.test(i.path));
  const chip = issue ? req.termChips[Number(issue.path.split('.')[1])] : undefined;
  return chip && issue ? { chipId: chip.id, message: issue.message } : undefined;
}

/**
 * Bumps when the engine connection comes back after a drop while the search on screen had failed
 * for a reason a reconnect can cure (not a refused input): that search is then sent again.
 */
function useRetryOnReconnect(client: BinderyClient, failedWith: { current: ApiErrorCode | null }): number {
  const [epoch, setEpoch] = useState(0);
  useEffect(() => {
    let previous: string | null = null;
    return client.onConnection((state) => {
      const back = state === 'open' && previous !== null && previous !== 'open';
      previous = state;
      if (back && failedWith.current === 'failed') setEpoch((n) => n + 1);
    });
  }, [client, failedWith]);
  return epoch;
}

/**
 * Live search: a change of the request (a slider step, a chip added, a filter) after a quiet spell
 * is searched at once, so a single step re-ranks as fast as the engine answers; changes that
 * follow it wait for `debounceMs` of quiet — or at the latest `maxWaitMs` after the first unsent
 * change, so results keep re-ranking during a long slider drag. Searches are numbered as they are sent and
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
  const lastSentAt = useRef(0);
  const latest = useRef(request);
  latest.current = request;
  const key = request?.key ?? null;
  // Why the search on screen failed (null while it did not): a failure to reach the engine is retried.
  const failedWith = useRef<ApiErrorCode | null>(null);
  const retry = useRetryOnReconnect(client, failedWith);

  useEffect(() => {
    if (!key) {
      unsentSince.current = null;
      applied.current = sent.current; // answers still in flight belong to a cleared query
      failedWith.current = null;
      setState(IDLE);
      return;
    }
    setState((s) => ({ ...s, pending: true, status: s.response ? s.status : 'loading' }));
    const now = Date.now();
    const quiet = unsentSince.current === null && now - lastSentAt.current >= debounceMs;
    unsentSince.current ??= now;
    const wait = quiet ? 0 : Math.max(0, Math.min(debounceMs, unsentSince.current + maxWaitMs - now));
    const timer = setTimeout(() => {
      unsentSince.current = null;
      lastSentAt.current = Date.now();
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
          if (!accept()) return;
          failedWith.current = null;
          setState({ status: 'ready', response, request: req, error: null, pending: stillPending() });
        },
        (e: unknown) => {
          if (!accept()) return;
          const term = failedTermOf(e, req);
          failedWith.current = term ? null : toClientError(e).code;
          setState((s) => ({
            ...s,
            status: 'error',
            error: toClientError(e).message,
            pending: stillPending(),
            failedTerm: term,
          }));
        },
      );
    }, wait);
    return () => clearTimeout(timer);
  }, [client, key, debounceMs, maxWaitMs, refresh, retry]);

  return state;
}

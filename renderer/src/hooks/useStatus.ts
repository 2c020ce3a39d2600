import { useCallback, useEffect, useRef, useState } from 'react';
import type { Status } from '../../../app/api.js';
import type { IndexProgress } from '../../../app/indexing.js';
import { ENCODER_FOR_INPUT, type EncoderModality } from '../../../app/modality.js';
import type { QueryInput } from '../../../app/query.js';
import { toClientError, type BinderyClient } from '../api/client.js';
import type { SearchState } from './useSearch.js';

export interface StatusState {
  status: Status | null;
  error: string | null;
  /** The engine refused the page's token (a link from an earlier `bindery serve`). */
  unauthorized: boolean;
  refresh: () => Promise<void>;
}

/**
 * The engine's status, refreshed on demand, every 2 s while indexing (throttled progress), and
 * every 15 s otherwise (a drive can go offline at any time).
 */
export function useStatus(client: BinderyClient, indexing: boolean): StatusState {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unauthorized, setUnauthorized] = useState(false);
  const inFlight = useRef<Promise<void> | null>(null);

  const refresh = useCallback(() => {
    if (inFlight.current) return inFlight.current;
    const p = client
      .status()
      .then((s) => {
        setStatus(s);
        setError(null);
      })
      .catch((e: unknown) => {
        const err = toClientError(e);
        setError(err.message);
        setUnauthorized(err.code === 'unauthorized');
      })
      .finally(() => {
        inFlight.current = null;
      });
    inFlight.current = p;
    return p;
  }, [client]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const busy = indexing || Boolean(status?.indexing);
  useEffect(() => {
    const t = setInterval(
      () => {
        if (typeof document === 'undefined' || document.visibilityState !== 'hidden') void refresh();
      },
      busy ? 2000 : 15000,
    );
    return () => clearInterval(t);
  }, [busy, refresh]);

  return { status, error, unauthorized, refresh };
}

/** The newest `indexProgress` event, and a reset for when a new run starts. */
export function useIndexProgress(client: BinderyClient): [IndexProgress | null, () => void] {
  const [progress, setProgress] = useState<IndexProgress | null>(null);
  useEffect(() => client.onIndexProgress(setProgress), [client]);
  const reset = useCallback(() => setProgress(null), []);
  return [progress, reset];
}

/** The state of the event channel, for a "reconnecting…" hint. */
export function useConnection(client: BinderyClient) {
  const [state, setState] = useState<'connecting' | 'open' | 'reconnecting'>('connecting');
  useEffect(() => client.onConnection(setState), [client]);
  return state;
}

/**
 * Events that change what the status says: a model pack installed or failed (its encoders, its
 * licence), and the engine connection coming back (everything may have changed meanwhile).
 */
export function useStatusEvents(client: BinderyClient, refresh: () => Promise<void>): void {
  useEffect(
    () =>
      client.onModelProgress((p) => {
        if (p.phase === 'done' || p.phase === 'error') void refresh();
      }),
    [client, refresh],
  );
  useEffect(() => {
    let previous: string | null = null;
    return client.onConnection((state) => {
      if (state === 'open' && previous !== null && previous !== 'open') void refresh();
      previous = state;
    });
  }, [client, refresh]);
}

/** The encoders a query's terms run through (a stored segment's vector needs none). */
function encodersOf(query: QueryInput): EncoderModality[] {
  return query.terms.flatMap((t) => (t.modality === 'segment' ? [] : [ENCODER_FOR_INPUT[t.modality]]));
}

/**
 * Encoders load on first use, so a search can change what the status reports (the execution
 * provider of each encoder, "not loaded yet" before), and so can the pack that answers it. After a
 * search whose encoders or pack the status does not know yet, the status is read again — once per
 * such gap, so slider moves never turn into a stream of status calls.
 */
export function useStatusAfterSearch(
  status: Status | null,
  refresh: () => Promise<void>,
  search: SearchState,
): void {
  const asked = useRef(new Set<string>());
  const { response, request } = search;
  useEffect(() => {
    if (!status || !response || !request) return;
    const unknown = encodersOf(request.query).filter((e) => !(e in status.model.providers));
    const stale = response.model !== status.servingModel ? response.model : '';
    if (unknown.length === 0 && !stale) return;
    const gap = `${status.model.id}|${stale}|${[...new Set(unknown)].sort().join(',')}`;
    if (asked.current.has(gap)) return;
    asked.current.add(gap);
    void refresh();
    // Only a new answer is a reason to look again; a status update alone is not.
  }, [response]);
}

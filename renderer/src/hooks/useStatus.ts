import { useCallback, useEffect, useRef, useState } from 'react';
import type { Status } from '../../../app/api.js';
import type { IndexProgress } from '../../../app/indexing.js';
import { toClientError, type BinderyClient } from '../api/client.js';

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

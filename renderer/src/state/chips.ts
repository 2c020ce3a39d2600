import type { InputKind } from '../../../app/modality.js';
import type { Filters, QueryInput, QueryTerm } from '../../../app/query.js';

/** One input of the query composer: a text, a dropped file, or a result ("more/less like this"). */
export type ChipKind = InputKind | 'segment';

export interface Chip {
  id: string;
  kind: ChipKind;
  /** Modalities the user may switch this chip to (more than one when the guess is ambiguous). */
  candidates: ChipKind[];
  label: string;
  weight: number;
  text?: string;
  /** For a file: the path the engine reads (set once the drop is resolved). */
  path?: string;
  segmentId?: number;
  /** A thumbnail: an object URL for a dropped image, a media URL for a result. */
  thumbUrl?: string;
  /** True when thumbUrl is an object URL this chip owns (revoked on removal). */
  ownsThumb?: boolean;
  peaks?: number[];
  state: 'resolving' | 'ready' | 'error';
  error?: string;
}

export type ChipAction =
  | { type: 'add'; chip: Chip }
  | { type: 'update'; id: string; patch: Partial<Chip> }
  | { type: 'remove'; id: string }
  | { type: 'clear' };

export function chipsReducer(chips: Chip[], action: ChipAction): Chip[] {
  switch (action.type) {
    case 'add':
      return [...chips, action.chip];
    case 'update':
      return chips.map((c) => (c.id === action.id ? { ...c, ...action.patch } : c));
    case 'remove':
      return chips.filter((c) => c.id !== action.id);
    case 'clear':
      return [];
  }
}

let nextId = 1;
export function chipId(): string {
  return `chip-${nextId++}`;
}

export function textChip(text: string, weight = 1): Chip {
  return { id: chipId(), kind: 'text', candidates: ['text'], label: text, text, weight, state: 'ready' };
}

/** Weights live on a 0.05 grid from −1 to +1. */
export function clampWeight(w: number): number {
  if (!Number.isFinite(w)) return 0;
  const snapped = Math.round(Math.max(-1, Math.min(1, w)) * 20) / 20;
  return Object.is(snapped, -0) ? 0 : snapped;
}

export function chipToTerm(c: Chip): QueryTerm | null {
  if (c.state !== 'ready' || c.weight === 0) return null;
  if (c.kind === 'text' && c.text) return { modality: 'text', text: c.text, weight: c.weight };
  if (c.kind === 'segment' && c.segmentId)
    return { modality: 'segment', segmentId: c.segmentId, weight: c.weight };
  if (c.kind !== 'text' && c.kind !== 'segment' && c.path)
    return { modality: c.kind, path: c.path, weight: c.weight };
  return null;
}

export interface SearchOptions {
  k: number;
  level: 'files' | 'segments';
  filters: Filters;
}

export interface SearchRequest {
  query: QueryInput;
  /** The chip behind each query term, in term order: hit.terms[i] belongs to termChips[i]. */
  termChips: { id: string; label: string; kind: ChipKind }[];
  /** A stable key: two requests with the same key would return the same results. */
  key: string;
}

/** The query the composer's chips add up to, or null while no chip is active. */
export function buildRequest(chips: Chip[], opts: SearchOptions): SearchRequest | null {
  const terms: QueryTerm[] = [];
  const termChips: SearchRequest['termChips'] = [];
  for (const c of chips) {
    const t = chipToTerm(c);
    if (!t) continue;
    terms.push(t);
    termChips.push({ id: c.id, label: c.label, kind: c.kind });
  }
  if (terms.length === 0) return null;
  const filters = Object.fromEntries(
    Object.entries(opts.filters).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as Filters;
  const query: QueryInput = { terms: terms.slice(0, 32), k: opts.k, level: opts.level, filters };
  return { query, termChips: termChips.slice(0, 32), key: JSON.stringify(query) };
}

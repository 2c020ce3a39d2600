import { z } from 'zod';

export const IndexSummarySchema = z.object({
  /** Files that became searchable in this run (new, changed, moved or copied). */
  indexed: z.number().int(),
  /** Files unchanged since the last run (same size and mtime). */
  skipped: z.number().int(),
  /** Indexed files whose content was already embedded under another, now missing, path. */
  moved: z.number().int(),
  failed: z.number().int(),
  /** Segments newly encoded by the model: 0 when only renames and moves happened. */
  embedded: z.number().int(),
  /** Files gone from disk whose rows were retired. */
  removed: z.number().int(),
});
export type IndexSummary = z.infer<typeof IndexSummarySchema>;

export const IndexProgressSchema = z.object({
  phase: z.enum(['scan', 'embed', 'cleanup', 'done', 'cancelled']),
  filesDone: z.number().int(),
  filesTotal: z.number().int(),
  filesPerSec: z.number(),
  /** Seconds left at the current rate; null until there is a rate. */
  etaS: z.number().nullable(),
  current: z.string().nullable(),
  summary: IndexSummarySchema,
});
export type IndexProgress = z.infer<typeof IndexProgressSchema>;

export function emptySummary(): IndexSummary {
  return { indexed: 0, skipped: 0, moved: 0, failed: 0, embedded: 0, removed: 0 };
}

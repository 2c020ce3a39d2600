import { z } from 'zod';
import { DATE_SOURCES, INPUT_KINDS, MEDIA_KINDS } from './modality.js';

/**
 * A query is a weighted list of terms; its vector is normalize(Σ wᵢ·eᵢ), ImageBind's embedding
 * arithmetic. Negative weights subtract ("− daylight"); a weight of 0 switches a term off.
 */

const weight = z.number().min(-1).max(1);

export const TextTermSchema = z
  .object({
    modality: z.literal('text'),
    text: z.string().trim().min(1, 'text term is empty').max(4000),
    weight: weight.default(1),
  })
  .strict();

export const FileTermSchema = z
  .object({
    modality: z.enum(
      INPUT_KINDS.filter((k) => k !== 'text') as ['image', 'audio', 'video', 'depth', 'thermal', 'imu'],
    ),
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte'),
    weight: weight.default(1),
  })
  .strict();

/** "More / less like this": a stored segment's own vector as a term. */
export const SegmentTermSchema = z
  .object({
    modality: z.literal('segment'),
    segmentId: z.number().int().positive(),
    weight: weight.default(1),
  })
  .strict();

export const QueryTermSchema = z.discriminatedUnion('modality', [
  TextTermSchema,
  FileTermSchema,
  SegmentTermSchema,
]);
export type QueryTerm = z.infer<typeof QueryTermSchema>;

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);
export const BoundingBoxSchema = z
  .object({ south: latitude, west: longitude, north: latitude, east: longitude })
  .strict()
  .refine((b) => b.south <= b.north, { message: 'south must not be above north', path: ['south'] });
export type BoundingBox = z.infer<typeof BoundingBoxSchema>;

export const FiltersSchema = z
  .object({
    kinds: z.array(z.enum(MEDIA_KINDS)).min(1).optional(),
    roots: z.array(z.number().int().positive()).min(1).optional(),
    pathPrefix: z.string().min(1).optional(),
    /** The file's date range, ms since the epoch: its capture time, else its mtime (`dateSource`). */
    dateFrom: z.number().int().optional(),
    dateTo: z.number().int().optional(),
    minBytes: z.number().int().nonnegative().optional(),
    maxBytes: z.number().int().nonnegative().optional(),
    /** Where photos and videos were taken (GPS); west > east crosses the antimeridian. */
    bbox: BoundingBoxSchema.optional(),
    /**
     * Also files deleted from disk that the catalogue still remembers, marked `missing` (a
     * watcher keeps them ten minutes, so a move is recognised by content); default: left out.
     */
    includeMissing: z.boolean().optional(),
  })
  .strict();
export type Filters = z.infer<typeof FiltersSchema>;

export const QuerySchema = z
  .object({
    terms: z.array(QueryTermSchema).min(1, 'a query needs at least one term').max(32),
    k: z.number().int().min(1).max(1000).default(20),
    /** files: one row per file (its best moment); segments: every matching moment. */
    level: z.enum(['files', 'segments']).default('files'),
    filters: FiltersSchema.default({}),
    /** score: best match first; date: the k best matches, newest first. */
    sort: z.enum(['score', 'date']).default('score'),
  })
  .strict()
  .refine((q) => q.terms.some((t) => t.weight !== 0), {
    message: 'every term has weight 0',
    path: ['terms'],
  });
export type Query = z.infer<typeof QuerySchema>;
export type QueryInput = z.input<typeof QuerySchema>;

/** What every listing of a file says about it: search hits and timeline entries alike. */
export const FileFactsSchema = z.object({
  fileId: z.number().int(),
  path: z.string(),
  kind: z.enum(MEDIA_KINDS),
  size: z.number().int(),
  /** The file's date: its capture time when its bytes state one, else its mtime. */
  takenMs: z.number(),
  dateSource: z.enum(DATE_SOURCES),
  /** Its library folder is not reachable (an unplugged drive): still found, not openable now. */
  offline: z.boolean(),
  /** Deleted from disk (only with `filters.includeMissing`). */
  missing: z.boolean(),
  /** Seconds, for recordings and videos (where a matched moment lies in the file); null for photos. */
  durationS: z.number().nullable(),
});

export type FileFacts = z.infer<typeof FileFactsSchema>;

export const SearchHitSchema = FileFactsSchema.extend({
  score: z.number(),
  segmentId: z.number().int(),
  /** The matched moment for audio and video; null for photos and file-level matches. */
  segment: z.object({ start: z.number(), end: z.number(), modality: z.string() }).nullable(),
  /** Cosine between each query term and this result, in term order. */
  terms: z.array(z.number()),
  /**
   * Each term's share of the score, signed and weighted: wᵢ·cosᵢ / ‖Σ wⱼ·eⱼ‖. They add up to the
   * score, so they say which inputs pulled this result up and which pushed it down.
   */
  contributions: z.array(z.number()),
  /** A strong match by the pack's match signal; null when the pack cannot tell. */
  strong: z.boolean().nullable(),
  /** Share of the library this result scores above (0…1, from the background sample); null likewise. */
  percentile: z.number().min(0).max(1).nullable(),
  copies: z.number().int().nonnegative(),
  mtimeMs: z.number(),
});
export type SearchHit = z.infer<typeof SearchHitSchema>;

export const SearchResponseSchema = z.object({
  results: z.array(SearchHitSchema),
  model: z.string(),
  backend: z.string(),
  tookMs: z.number(),
  /** True when the active pack is the random-weight test pack: results carry no meaning. */
  notMeaningful: z.boolean(),
  /**
   * How strong and weak matches were told apart for this query: a background sample's median and
   * the threshold a strong match reaches, or why the pack cannot tell.
   */
  signal: z.discriminatedUnion('method', [
    z.object({ method: z.literal('none'), reason: z.string() }),
    z.object({
      method: z.literal('background'),
      threshold: z.number(),
      median: z.number(),
      sampled: z.number().int(),
      strongCount: z.number().int(),
    }),
  ]),
});
export type SearchResponse = z.infer<typeof SearchResponseSchema>;

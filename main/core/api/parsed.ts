import type { z } from 'zod';

/**
 * A method's request as its schema's parse leaves it (defaults filled in). The core's API is
 * reached only through app/dispatch.ts (every transport; in-process callers hold
 * `viaDispatch(service)`), which has parsed each request with the method's schema, so the groups
 * in this folder take requests parsed and never parse again (docs/architecture.md §1).
 */
export type Req<S extends z.ZodType> = z.output<S>;

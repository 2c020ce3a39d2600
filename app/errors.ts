import type { z } from 'zod';

/** The one error shape every transport returns (IPC, HTTP, the worker port), so clients handle one thing. */
export type ApiErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'forbidden'
  | 'unsupported'
  /** The request clashes with what is going on (a pack in use, an install already running). */
  | 'conflict'
  /** The file's library folder is not reachable now (an unplugged drive, an unmounted share). */
  | 'offline'
  /** The user stopped it (an install). */
  | 'cancelled'
  | 'failed';

export interface ApiErrorBody {
  code: ApiErrorCode;
  message: string;
  /** For invalid_request: where the payload was wrong. */
  issues?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: ApiErrorBody['issues'],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ApiErrorBody {
    return this.issues
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }

  static from(body: ApiErrorBody): ApiError {
    return new ApiError(body.code, body.message, body.issues);
  }
}

/** Anything thrown by the engine becomes a `failed` ApiError with its first line as the message. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new ApiError('failed', message || 'unknown error');
}

export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  unsupported: 415,
  conflict: 409,
  offline: 503,
  cancelled: 409,
  failed: 500,
};

/** A schema failure as an invalid_request with every issue's path, the first one in the message. */
export function invalidRequest(error: z.ZodError): ApiError {
  const issues = error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const first = issues[0];
  return new ApiError(
    'invalid_request',
    first ? `${first.path || 'request'}: ${first.message}` : 'invalid request',
    issues,
  );
}

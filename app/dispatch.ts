import { API_SCHEMAS, type ApiMethod, type AppApi } from './api.js';
import { ApiError, invalidRequest, toApiError } from './errors.js';
import { apiCalls } from './transport.js';

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(API_SCHEMAS, name);
}

/**
 * A transport's own rule over a parsed request, run before the call: the HTTP bridge confines the
 * files a query may read (docs/architecture.md §8). It throws an ApiError to refuse.
 */
export type DispatchGuard = (method: ApiMethod, request: unknown) => Promise<void>;

/**
 * The single entry every transport goes through: parse the payload with the method's schema,
 * call the API, and turn any failure into an ApiError. IPC, HTTP and the worker port therefore
 * accept, reject and answer identically; a payload the schema refuses never reaches a guard.
 */
export async function dispatch(
  api: AppApi,
  method: string,
  payload: unknown,
  guard?: DispatchGuard,
): Promise<unknown> {
  if (!isApiMethod(method))
    throw new ApiError('not_found', `no API method ${JSON.stringify(method).slice(0, 80)}`);
  const parsed = API_SCHEMAS[method].request.safeParse(payload ?? {});
  if (!parsed.success) throw invalidRequest(parsed.error);
  await guard?.(method, parsed.data);
  try {
    const call = api[method] as (req: unknown) => Promise<unknown>;
    return await call.call(api, parsed.data);
  } catch (e) {
    throw toApiError(e);
  }
}

/**
 * AppApi whose every call goes through `dispatch`: what in-process callers (the CLI, benchmarks,
 * tests) hold, so that CoreService, which trusts its requests to be parsed, is reached only with
 * parsed ones, exactly as over IPC, HTTP or the worker port.
 */
export function viaDispatch(api: AppApi): AppApi {
  return {
    ...apiCalls((method, payload) => dispatch(api, method, payload)),
    onIndexProgress: (l) => api.onIndexProgress(l),
    onModelProgress: (l) => api.onModelProgress(l),
  };
}

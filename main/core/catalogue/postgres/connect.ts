import pg from 'pg';

/**
 * Connections to a shared catalogue on PostgreSQL (docs/architecture.md §13). The connection string
 * goes to node-postgres unchanged, so its TLS options (sslmode, sslrootcert, sslcert, sslkey) pass
 * through; only `redact` ever prints it, without its password.
 */

/** The connection string safe to print: the password (and any `password=` parameter) replaced. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return 'postgres://(unparsable connection string)';
  }
}

/** A pool whose ids come back as numbers (catalogue ids are safe integers) and whose idle errors never crash the process. */
export function openPool(url: string, onIdleError: (e: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    types: { getTypeParser: typeParser },
  });
  // A server restart kills idle connections: the pool drops them and opens new ones on demand.
  pool.on('error', onIdleError);
  return pool;
}

const INT8 = 20;
function typeParser(oid: number, format?: 'text' | 'binary') {
  if (oid === INT8) return (v: string) => Number(v);
  return pg.types.getTypeParser(oid, format as 'text');
}

/**
 * Whether an error means the server went away (refused, reset, shut down, a connection timeout)
 * rather than a statement failing: such an operation is retried once the server is back.
 */
export function isConnectionLoss(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: string }).code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
    return true;
  // 57P01-03: admin shutdown, crash shutdown, cannot connect now; class 08: connection exceptions.
  if (/^57P0[123]$/.test(code) || code.startsWith('08')) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    e.message,
  );
}

/**
 * Runs `fn` in a transaction on one pooled connection (rolled back on any throw). A checked-out
 * connection that the server drops emits 'error' besides failing its query: that event is
 * absorbed here (the query's rejection carries it), and the broken connection is destroyed, not
 * returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const absorb = () => undefined;
  client.on('error', absorb);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    if (isConnectionLoss(e)) broken = e as Error;
    else await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.removeListener('error', absorb);
    client.release(broken);
  }
}

/** pgvector's text form of a vector; JavaScript prints each float32 exactly (shortest round trip). */
export function vectorLiteral(v: Float32Array): string {
  return `[${Array.prototype.join.call(v, ',')}]`;
}

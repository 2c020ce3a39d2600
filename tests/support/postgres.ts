import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A PostgreSQL + pgvector server for the shared-catalogue suites (docs/shared-catalogue.md).
 *  - Default: PGlite (a real PostgreSQL compiled to WebAssembly) with @electric-sql/pglite-pgvector,
 *    served over the PostgreSQL wire protocol on loopback by @electric-sql/pglite-socket, so the
 *    store, the workers and node-postgres talk to it as to any server. CI runs this.
 *  - `BINDERY_TEST_PG_URL=postgres://user:pass@host:port/db`: a real server with pgvector ≥ 0.7; each
 *    suite gets a fresh database (CREATE DATABASE), dropped at the end. The role needs CREATEDB.
 */
export interface TestServer {
  /** A connection string to an empty database. */
  url: string;
  /** What it is, for test names and skip reasons. */
  label: string;
  stop(): Promise<void>;
  /**
   * PGlite only: stops listening and drops every connection for `ms`, then serves the same
   * database on the same port again (a server restart, a NAS rebooting). Undefined on a real server.
   */
  outage?(ms: number): Promise<void>;
}

export async function startTestServer(real = process.env.BINDERY_TEST_PG_URL): Promise<TestServer> {
  return real ? freshDatabase(real) : startPglite();
}

async function startPglite(): Promise<TestServer> {
  const [{ PGlite }, { vector }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite-socket'),
  ]);
  const db = await PGlite.create({ extensions: { vector } });
  const serve = async (at: number) => {
    const s = new PGLiteSocketServer({ db, port: at, host: '127.0.0.1', maxConnections: 16 });
    await s.start();
    return s;
  };
  let server = await serve(0);
  const port = Number(server.getServerConn().split(':').pop());
  return {
    // PGlite accepts any user and password; the password is there to prove it is never printed.
    url: `postgres://bindery:pglite-secret@127.0.0.1:${port}/postgres`,
    label: 'PGlite + pgvector over pglite-socket',
    async stop() {
      await server.stop();
      await db.close();
    },
    async outage(ms) {
      await server.stop();
      await new Promise((r) => setTimeout(r, ms));
      server = await serve(port);
    },
  };
}

async function freshDatabase(adminUrl: string): Promise<TestServer> {
  const name = `bindery_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    label: `PostgreSQL at ${u.host}`,
    async stop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

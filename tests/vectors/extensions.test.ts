import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  availableBackends,
  explainLoadError,
  extensionPaths,
  isLoaded,
  loadVectorExtensions,
  unpackedPath,
} from '../../main/core/vectors/extensions.js';

describe('vector extension loading', () => {
  it('rewrites paths inside app.asar to app.asar.unpacked', () => {
    expect(unpackedPath('/opt/Bindery/resources/app.asar/node_modules/sqlite-vec-linux-x64/vec0.so')).toBe(
      '/opt/Bindery/resources/app.asar.unpacked/node_modules/sqlite-vec-linux-x64/vec0.so',
    );
    expect(
      unpackedPath('C:\\Bindery\\resources\\app.asar\\node_modules\\sqlite-vec-windows-x64\\vec0.dll'),
    ).toBe('C:\\Bindery\\resources\\app.asar.unpacked\\node_modules\\sqlite-vec-windows-x64\\vec0.dll');
    const unpacked = '/opt/Bindery/resources/app.asar.unpacked/node_modules/x.so';
    expect(unpackedPath(unpacked)).toBe(unpacked);
    expect(unpackedPath('/home/me/app.asar.d/x.so')).toBe('/home/me/app.asar.d/x.so');
  });

  it('offers sqlite-vss only where it has a build, and quant wherever WebAssembly SIMD runs', () => {
    expect(availableBackends('win32', 'x64')).toEqual(['vec', 'quant']);
    expect(availableBackends('linux', 'arm64')).toEqual(['vec', 'quant']);
    expect(availableBackends('linux', 'x64')).toEqual(['vec', 'vss', 'quant']);
    expect(availableBackends('darwin', 'arm64')).toEqual(['vec', 'vss', 'quant']);
    expect(availableBackends('linux', 'ia32')).toEqual(['vec']);
    expect(extensionPaths('quant')).toEqual([]); // pure JavaScript and WebAssembly
  });

  it('names the apt packages when BLAS or LAPACK is missing', () => {
    const dlopen = new Error('libblas.so.3: cannot open shared object file: No such file or directory');
    const err = explainLoadError('vss', '/x/vss0.so', dlopen);
    expect(err.message).toMatch(/apt-get install libblas3 liblapack3 libgomp1/);
    expect(err.cause).toBe(dlopen);
    expect(explainLoadError('vec', '/nowhere/vec0.so', new Error('x')).message).toMatch(
      /not found at \/nowhere/,
    );
  });

  it('loads from real files, idempotently per connection', () => {
    const db = new Database(':memory:');
    try {
      const backends = availableBackends();
      for (const b of backends) for (const f of extensionPaths(b)) expect(f).not.toMatch(/app\.asar[\\/]/);
      loadVectorExtensions(db);
      loadVectorExtensions(db);
      for (const b of backends) expect(isLoaded(db, b)).toBe(true);
      if (backends.includes('vss')) expect(process.env.OMP_WAIT_POLICY).toBeDefined();
      expect(db.prepare('SELECT vec_version()').pluck().get()).toMatch(/^v0\.1\./);
    } finally {
      db.close();
    }
  });

  it('explains a real failed load with the backend and file', () => {
    const db = new Database(':memory:');
    try {
      let failure: unknown;
      try {
        db.loadExtension('/nonexistent/vec0.so');
      } catch (e) {
        failure = e;
      }
      expect(explainLoadError('vec', '/nonexistent/vec0.so', failure).message).toMatch(
        /vec extension not found at \/nonexistent\/vec0\.so/,
      );
      expect(isLoaded(db, 'vec')).toBe(false);
    } finally {
      db.close();
    }
  });
});

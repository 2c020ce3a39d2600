import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { userDataDir } from '../paths.js';
import { GraphBuilder } from './onnx-builder.js';
import type { ProviderName } from './providers.js';

/**
 * A GPU provider probe (docs/architecture.md §4): before a real model is given to WebGPU, a tiny
 * graph is run with it in a child process. A machine without a usable adapter is found out in a
 * fraction of a second (not after loading gigabytes), the provider's own start-up noise (Dawn's
 * Vulkan warnings) stays out of Bindery's output, and a crash in a driver cannot take the engine
 * down. The verdict is cached per machine, onnxruntime version and GPU driver, so the probe runs
 * once, not at every start.
 */

export interface ProbeVerdict {
  ok: boolean;
  /** Why the provider is not usable (first line of onnxruntime's error). */
  reason?: string;
  ms: number;
}

const PROBE_TIMEOUT_MS = 15_000;
/** The probe itself: create a session on a one-MatMul model with the provider alone, and run it. */
const PROBE_SCRIPT = `
const ort = require(process.argv[1]);
const model = Buffer.from(process.argv[3], 'base64');
(async () => {
  const s = await ort.InferenceSession.create(model, { executionProviders: [process.argv[2]] });
  const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
  const y = (await s.run({ x })).y.data;
  if (Math.abs(y[0] - 30) > 1e-3) throw new Error('the probe graph computed ' + y[0] + ', not 30');
  process.stdout.write('ok');
})().catch((e) => { process.stdout.write('fail ' + String(e && e.message || e).split('\\n')[0]); });
`;

/** x [1,4] · W [4,1] with W = [1,2,3,4]: for x = [1,2,3,4], y = 30. */
function probeModel(): string {
  const g = new GraphBuilder();
  g.op('MatMul', ['x', g.constF32('w', [4, 1], Float32Array.of(1, 2, 3, 4))], {}, 'y');
  const { model } = g.encode({
    graphName: 'probe',
    doc: 'Bindery execution provider probe',
    producer: 'bindery-provider-probe',
    inputs: [{ name: 'x', elemType: 'float32', shape: [1, 4] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1, 1] }],
    metadata: {},
  });
  return Buffer.from(model).toString('base64');
}

/** What identifies the GPU stack the verdict holds for: the OS, onnxruntime's version, and the GPU drivers. */
export function probeKey(provider: ProviderName): string {
  return [
    provider,
    process.platform,
    process.arch,
    os.release(),
    ort.env.versions.common,
    gpuSignature(),
  ].join('|');
}

/** GPU vendor/device ids and the NVIDIA driver version on Linux; the OS release stands for them elsewhere. */
function gpuSignature(): string {
  if (process.platform !== 'linux') return '';
  const parts: string[] = [];
  try {
    for (const card of readdirSync('/sys/class/drm').filter((c) => /^card\d+$/.test(c))) {
      const dev = `/sys/class/drm/${card}/device`;
      parts.push(['vendor', 'device'].map((f) => read(`${dev}/${f}`)).join(':'));
    }
  } catch {
    // No DRM: a headless machine, a container.
  }
  parts.push(read('/proc/driver/nvidia/version').split('\n')[0]);
  return parts.join(',');
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function runProbe(provider: ProviderName): Promise<ProbeVerdict> {
  const started = performance.now();
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-e', PROBE_SCRIPT, ortPath, provider, probeModel()],
      { timeout: PROBE_TIMEOUT_MS, windowsHide: true, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } },
      (err, stdout) => {
        const ms = performance.now() - started;
        if (stdout.startsWith('ok')) return resolve({ ok: true, ms });
        const why = stdout.startsWith('fail ')
          ? stdout.slice(5)
          : err
            ? `the probe stopped: ${err.message.split('\n')[0]}`
            : 'no answer';
        resolve({ ok: false, reason: readable(why), ms });
      },
    );
  });
}

/** onnxruntime's errors start with a source path and an assertion; the sentence after them is the reason. */
function readable(message: string): string {
  const m = /was false\. (.+)$/.exec(message) ?? /\] (.+)$/.exec(message);
  return (m ? m[1] : message).trim().slice(0, 300);
}

type Cache = Record<string, ProbeVerdict & { at: number }>;

/** The cached verdict for `provider` on this machine, probing first when there is none. */
export async function probeProvider(
  provider: ProviderName,
  cacheFile = path.join(userDataDir(), 'provider-probe.json'),
): Promise<ProbeVerdict> {
  const key = probeKey(provider);
  const cache = await readFile(cacheFile, 'utf8')
    .then((t) => JSON.parse(t) as Cache)
    .catch((): Cache => ({}));
  const hit = cache[key];
  if (hit) return { ok: hit.ok, reason: hit.reason, ms: 0 };
  const verdict = await runProbe(provider);
  cache[key] = { ...verdict, at: Date.now() };
  await mkdir(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cache, null, 1));
  await rename(tmp, cacheFile);
  return verdict;
}

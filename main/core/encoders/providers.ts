import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { probeProvider } from './probe.js';

/**
 * Execution providers (docs/architecture.md §4): a session is created with the first provider that works,
 * trying each alone (plus CPU, which takes any operator the accelerator lacks), and the caller
 * gets a report of what is active and why each earlier choice was skipped. CPU is always the
 * last resort, so forcing `cuda` on a machine without it still yields a working session.
 */

export const PROVIDER_NAMES = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ProviderFallback {
  provider: ProviderName;
  reason: string;
}

export interface ProviderReport {
  /** The provider the session was created with (CPU may still run operators it lacks). */
  provider: ProviderName;
  /** Providers tried before it, with the reason each was skipped. */
  fallbacks: ProviderFallback[];
}

export interface SessionConfig {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** The CPU arena speeds up repeated runs but holds on to peak memory. Default true. */
  enableCpuMemArena?: boolean;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  /** GPU index for cuda/dml. Default 0. */
  deviceId?: number;
}

/** Backends compiled into the installed onnxruntime-node binary (`bundled: false` ones need extra libraries). */
export function supportedBackends(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

/**
 * The order to try on this platform, GPU first, CPU last. onnxruntime-node 1.30 bundles WebGPU on
 * Linux x64, Windows and macOS arm64; CUDA needs its separately installed add-on (tried first where
 * it is there: tensor cores); Windows has DirectML on any GPU (then WebGPU); macOS arm64 has
 * CoreML (then WebGPU). Providers the installed binary lacks are left out.
 */
export function defaultProviderOrder(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  supported: readonly string[] = supportedBackends(),
  cudaInstalled: boolean = platform === 'linux' && cudaAddOnInstalled(),
): ProviderName[] {
  const order: ProviderName[] = [];
  // Without the CUDA add-on every session would log a native load error before falling back.
  if (platform === 'linux' && arch === 'x64' && cudaInstalled) order.push('cuda');
  if (platform === 'win32') order.push('dml');
  if (platform === 'darwin' && arch === 'arm64') order.push('coreml');
  if (platform !== 'darwin' || arch === 'arm64') order.push('webgpu');
  return [...order.filter((p) => p === 'cuda' || supported.includes(p)), 'cpu'];
}

/**
 * The first GPU provider in this order that works here (the cached probe of each), or null: it
 * picks the precision Bindery recommends (recommendedPrecision in catalogue.ts).
 */
export async function usableGpuProvider(
  order: readonly ProviderName[] = defaultProviderOrder(),
): Promise<ProviderName | null> {
  for (const p of order.filter((x) => x !== 'cpu')) if ((await probeProvider(p)).ok) return p;
  return null;
}

/** Where onnxruntime-node ships no binary at all, Bindery cannot embed anything: said once, plainly. */
export function unsupportedPlatform(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string | null {
  if (platform === 'darwin' && arch === 'x64')
    return 'onnxruntime-node 1.30 ships no binary for Intel Macs (macOS x64); Bindery needs an Apple silicon Mac, Windows or Linux';
  return null;
}

/** Parses a user setting like `cuda,cpu` (CLI flag, settings file). Unknown names are an error, duplicates dropped. */
export function parseProviderList(text: string): ProviderName[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw new Error('execution provider list is empty (expected e.g. "cuda,cpu")');
  const bad = names.filter((n) => !(PROVIDER_NAMES as readonly string[]).includes(n));
  if (bad.length) {
    throw new Error(
      `unknown execution provider ${bad.join(', ')} (expected one of ${PROVIDER_NAMES.join(', ')})`,
    );
  }
  return [...new Set(names as ProviderName[])];
}

/** The providers to attempt, in order, ending with CPU (anything listed after CPU would never be reached). */
export function attemptOrder(providers: readonly ProviderName[]): ProviderName[] {
  const unique = [...new Set(providers)];
  const cpu = unique.indexOf('cpu');
  return cpu >= 0 ? unique.slice(0, cpu + 1) : [...unique, 'cpu'];
}

function providerConfig(p: ProviderName, cfg: SessionConfig): ort.InferenceSession.ExecutionProviderConfig {
  switch (p) {
    case 'cuda':
    case 'dml':
      return { name: p, deviceId: cfg.deviceId ?? 0 };
    case 'cpu':
      return { name: 'cpu', useArena: cfg.enableCpuMemArena ?? true };
    case 'coreml':
      // COREML_FLAG_CREATE_MLPROGRAM: the ML Program format runs fp16 and the newer operators.
      return { name: 'coreml', coreMlFlags: 0x010 } as ort.InferenceSession.ExecutionProviderConfig;
    default:
      return { name: p };
  }
}

export function sessionOptions(p: ProviderName, cfg: SessionConfig): ort.InferenceSession.SessionOptions {
  const eps =
    p === 'cpu' ? [providerConfig('cpu', cfg)] : [providerConfig(p, cfg), providerConfig('cpu', cfg)];
  return {
    executionProviders: eps,
    enableCpuMemArena: cfg.enableCpuMemArena ?? true,
    graphOptimizationLevel: cfg.graphOptimizationLevel ?? 'all',
    executionMode: cfg.executionMode ?? 'sequential',
    // onnxruntime-node rejects keys that are present but undefined, so thread counts go in only when set.
    ...definedOnly({ intraOpNumThreads: cfg.intraOpNumThreads, interOpNumThreads: cfg.interOpNumThreads }),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Why a provider cannot even be attempted with this binary, or undefined when it is worth a try. */
function unavailableReason(p: ProviderName, supported: readonly string[]): string | undefined {
  if (p === 'cpu' || supported.includes(p)) return undefined;
  return `onnxruntime-node on ${process.platform}/${process.arch} has no ${p} execution provider (it has ${supported.join(', ')})`;
}

/** WebGPU is probed on a tiny graph first (once per machine and driver), so a machine without an adapter falls back at once. */
async function probeReason(p: ProviderName): Promise<string | undefined> {
  if (p !== 'webgpu') return undefined;
  const verdict = await probeProvider(p);
  return verdict.ok
    ? undefined
    : `WebGPU is not usable on this machine: ${verdict.reason ?? 'unknown reason'}`;
}

/** Turns onnxruntime's error into one readable line, with a hint for the common CUDA case. */
function failureReason(p: ProviderName, err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0].trim().slice(0, 300);
  if (p === 'cuda' && /shared library|libcuda|libcudart|libcublas|libcudnn/i.test(msg)) {
    // onnxruntime-node does not bundle the CUDA EP; its install script fetches it on request.
    const hint =
      'install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12; it needs CUDA 12, cuDNN 9 and an NVIDIA GPU';
    return `CUDA is not usable: ${msg} (${hint})`;
  }
  return `${p} failed: ${msg}`;
}

/**
 * Creates a session from a model *path* (not a buffer), so onnxruntime resolves external-data
 * files relative to the model, and large weights are never copied into the JS heap.
 */
export async function createSession(
  modelPath: string,
  providers: readonly ProviderName[],
  cfg: SessionConfig = {},
): Promise<{ session: ort.InferenceSession } & ProviderReport> {
  const supported = supportedBackends();
  const fallbacks: ProviderFallback[] = [];
  for (const provider of attemptOrder(providers)) {
    const skip = unavailableReason(provider, supported) ?? (await probeReason(provider));
    if (skip) {
      fallbacks.push({ provider, reason: skip });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, cfg));
      return { session, provider, fallbacks };
    } catch (err) {
      // CPU is the last resort: if even it fails the model itself is broken, so say so.
      if (provider === 'cpu') throw new Error(`cannot load ${modelPath}: ${failureReason(provider, err)}`);
      fallbacks.push({ provider, reason: failureReason(provider, err) });
    }
  }
  throw new Error('unreachable: CPU is always attempted');
}

/**
 * onnxruntime-node's installer fetches the CUDA provider libraries beside its binding (unless
 * ONNXRUNTIME_NODE_INSTALL=skip); their presence is what makes CUDA worth trying by default.
 */
export function cudaAddOnInstalled(): boolean {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(path.join(pkg, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

import { kernelBytes, MAX_PAGES, ROUNDS, simdProbeBytes } from './kernel-code.js';
import { CONTROL_INTS, ScanHelper } from './scan-helper.js';

/**
 * The quantized backend's hot loops as WebAssembly SIMD, over one linear memory that also holds
 * the binary codes (quant/backend.ts). Measured on the 2-core dev machine, 1M codes of 128 bytes:
 * the Hamming pass takes 8.9 ms (JavaScript with a 16-bit popcount table: ~200 ms; the per-byte
 * float lookup table over every code: ~126 ms), and gathering the candidates below a distance
 * threshold 0.5 ms. The rotation (three rounds of random signs and a fast Walsh–Hadamard
 * transform) takes a few µs per 1024-d vector, where JavaScript took 30–60 µs, which alone would
 * cap ingest below the 20k vectors/s target.
 *
 * Memory layout (bytes): [signs | rotation buffer | query bits | histogram | sums] (fixed header)
 * then [codes: capacity × stride | distances: capacity × u16 | gathered slots: capacity × i32].
 * Codes grow in place (the header is before them); distances and slots are per-query scratch and
 * simply move when the capacity grows.
 */

/** The WebAssembly JS API used here: TypeScript declares it in the DOM lib, which tsconfig omits. */
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;

interface Exports {
  rotate(buf: number, signs: number, p: number, rounds: number): void;
  hamming(codes: number, n: number, q: number, out: number, hist: number): void;
  gather(out: number, n: number, threshold: number, dst: number): number;
  pack(buf: number, p: number, code: number, sums: number): void;
}

const modules = new Map<string, object>();

function compiled(chunks: number, shared: boolean): object {
  const key = `${chunks}:${shared}`;
  let mod = modules.get(key);
  if (!mod) modules.set(key, (mod = new wasm.Module(kernelBytes(chunks, shared))));
  return mod;
}

/**
 * Codes from which the Hamming pass is split with a helper thread (scan-helper.ts). Below it the
 * hand-over, and a sleeping thread's wake-up on a busy 2-core machine, cost more than half a pass
 * saves (measured at 100k: p95 9.4 ms split against 6.6 ms not; at 1M: 19.9 against 27.1).
 */
export const SPLIT_MIN_CODES = 262_144;

/** Shared memory (for the helper thread) where the runtime allows it, else a private one. */
function newMemory(pages: number): { memory: WasmMemory; shared: boolean } {
  try {
    return { memory: new wasm.Memory({ initial: pages, maximum: MAX_PAGES, shared: true }), shared: true };
  } catch {
    return { memory: new wasm.Memory({ initial: pages, maximum: MAX_PAGES }), shared: false };
  }
}

/** Whether this runtime has WebAssembly SIMD (Node ≥ 16.4 and Electron on x64/arm64 do). */
export function simdSupported(): boolean {
  try {
    return wasm.validate(simdProbeBytes());
  } catch {
    return false;
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * One index's kernels and memory. `p` (a power of two ≥ 8) is the rotated dimension: p bits of
 * code per vector, stored in `stride` bytes (a multiple of 16, zero padded).
 */
export class Kernels {
  readonly stride: number;
  readonly codeBytes: number;
  private readonly memory: WasmMemory;
  private readonly module: object;
  private readonly shared: boolean;
  private readonly fn: Exports;
  /** The helper thread for large Hamming passes: created on the first one, null when unavailable. */
  private helper: ScanHelper | null | undefined;
  private readonly signsAt = 0;
  private readonly bufAt: number;
  private readonly queryAt: number;
  private readonly histAt: number;
  private readonly sumsAt: number;
  /** The helper's histogram and the control block it is driven through. */
  private readonly hist2At: number;
  private readonly controlAt: number;
  private readonly codesAt: number;
  private capacity = 0;
  private u8!: Uint8Array;
  private buf!: Float32Array;
  private sums!: Float32Array;

  constructor(
    readonly p: number,
    signs: Float32Array,
  ) {
    this.codeBytes = p / 8;
    this.stride = align(this.codeBytes, 16);
    this.bufAt = this.signsAt + 4 * ROUNDS * p;
    this.queryAt = this.bufAt + 4 * p;
    this.histAt = align(this.queryAt + this.stride, 16);
    this.sumsAt = align(this.histAt + 4 * (p + 1), 16);
    this.hist2At = align(this.sumsAt + 32, 16);
    this.controlAt = align(this.hist2At + 4 * (p + 1), 16);
    this.codesAt = align(this.controlAt + 4 * CONTROL_INTS, PAGE);
    ({ memory: this.memory, shared: this.shared } = newMemory(this.codesAt / PAGE));
    this.module = compiled(this.stride / 16, this.shared);
    this.fn = new wasm.Instance(this.module, { env: { memory: this.memory } }).exports as unknown as Exports;
    this.refreshViews();
    new Float32Array(this.memory.buffer, this.signsAt, ROUNDS * p).set(signs);
  }

  /** Bytes of memory reserved for codes and scratch (grown pages are zero and untouched until used). */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Makes room for `slots` codes (growing by half again, so appends stay amortised O(1)). */
  reserve(slots: number): void {
    if (slots <= this.capacity) return;
    const capacity = Math.max(slots, Math.ceil(this.capacity * 1.5), 1024);
    const need = this.codesAt + capacity * (this.stride + 6) + 16;
    const pages = Math.ceil(need / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) {
      if (this.memory.buffer.byteLength / PAGE + pages > MAX_PAGES)
        throw new Error(`quantized index is full: ${slots} codes of ${this.stride} bytes exceed 4 GiB`);
      this.memory.grow(pages);
    }
    this.capacity = capacity;
    this.refreshViews();
  }

  /** Rotates `v`, zero padded to p, in place in the rotation buffer, which it returns (a view). */
  rotate(v: Float32Array): Float32Array {
    const buf = this.buf;
    buf.set(v);
    buf.fill(0, v.length);
    this.fn.rotate(this.bufAt, this.signsAt, this.p, ROUNDS);
    return buf;
  }

  /** Writes the code of `v` into `slot` and returns its correction factor (quantizer.ts). */
  encode(v: Float32Array, slot: number): number {
    this.rotate(v);
    return this.pack(this.codesAt + slot * this.stride);
  }

  /** Writes the query's sign bits for hamming() and returns it rotated (a view). */
  encodeQuery(q: Float32Array): Float32Array {
    const rotated = this.rotate(q);
    this.pack(this.queryAt);
    return rotated;
  }

  /** Packs the rotated buffer's sign bits at byte address `at`; returns |buf|₂ / |buf|₁. */
  private pack(at: number): number {
    this.fn.pack(this.bufAt, this.p, at, this.sumsAt);
    const s = this.sums;
    const l1 = s[0] + s[1] + s[2] + s[3];
    return l1 > 0 ? Math.sqrt(s[4] + s[5] + s[6] + s[7]) / l1 : 0;
  }

  /** The code bytes of `slot` (a view: valid until the next reserve()). */
  code(slot: number): Uint8Array {
    const at = this.codesAt + slot * this.stride;
    return this.u8.subarray(at, at + this.stride);
  }

  /** All codes of slots [0, n) as one byte view. */
  codes(n: number): Uint8Array {
    return this.u8.subarray(this.codesAt, this.codesAt + n * this.stride);
  }

  moveCode(from: number, to: number): void {
    const at = this.codesAt + from * this.stride;
    this.u8.copyWithin(this.codesAt + to * this.stride, at, at + this.stride);
  }

  /** Query bits (stride bytes, zero padded), read by hamming(). */
  get queryBits(): Uint8Array {
    return this.u8.subarray(this.queryAt, this.queryAt + this.stride);
  }

  /**
   * Hamming distances of slots [0, n) to queryBits and their histogram (bins 0…p). From
   * SPLIT_MIN_CODES on, a helper thread scans the second half meanwhile (scan-helper.ts).
   */
  hamming(n: number): { distances: Uint16Array; histogram: Int32Array } {
    const histogram = new Int32Array(this.memory.buffer, this.histAt, this.p + 1).fill(0);
    const helper = n >= SPLIT_MIN_CODES ? this.scanHelper() : null;
    const half = helper ? n >>> 1 : n;
    if (helper) {
      const second = new Int32Array(this.memory.buffer, this.hist2At, this.p + 1).fill(0);
      const args = [this.codesAt + half * this.stride, n - half, this.queryAt, this.distancesAt + 2 * half];
      helper.start([args[0], args[1], args[2], args[3], this.hist2At]);
      this.fn.hamming(this.codesAt, half, this.queryAt, this.distancesAt, this.histAt);
      if (helper.finish()) for (let d = 0; d <= this.p; d++) histogram[d] += second[d];
      else this.fn.hamming(args[0], args[1], args[2], args[3], this.histAt); // it died: do its half here
    } else {
      this.fn.hamming(this.codesAt, n, this.queryAt, this.distancesAt, this.histAt);
    }
    return { distances: new Uint16Array(this.memory.buffer, this.distancesAt, n), histogram };
  }

  /** The helper thread, started on first use; null without shared memory or once it failed. */
  private scanHelper(): ScanHelper | null {
    if (this.helper === undefined) {
      try {
        this.helper = this.shared ? new ScanHelper(this.module, this.memory, this.controlAt) : null;
      } catch {
        this.helper = null;
      }
    }
    if (this.helper && !this.helper.usable) this.helper = null;
    return this.helper;
  }

  /** Slots in [0, n) whose distance from the last hamming() call is below `threshold`. */
  below(n: number, threshold: number): Int32Array {
    const count = this.fn.gather(this.distancesAt, n, threshold, this.slotsAt);
    return new Int32Array(this.memory.buffer, this.slotsAt, count);
  }

  private get distancesAt(): number {
    return this.codesAt + this.capacity * this.stride;
  }

  private get slotsAt(): number {
    return align(this.distancesAt + 2 * this.capacity, 16);
  }

  private refreshViews(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.buf = new Float32Array(this.memory.buffer, this.bufAt, this.p);
    this.sums = new Float32Array(this.memory.buffer, this.sumsAt, 8);
  }
}

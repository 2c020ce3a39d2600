/**
 * A just-big-enough WebAssembly binary writer for the hand-written SIMD kernels in kernels.ts.
 * There is no wat2wasm among our dependencies, and the kernels are specialised at run time (the
 * code length is unrolled into the Hamming loop), so they are assembled here from byte helpers.
 * Each helper returns the bytes of one instruction; bodies are flat arrays of them.
 */

export const I32 = 0x7f;
export const V128 = 0x7b;
const VOID = 0x40;
const END = 0x0b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];
/** memarg: alignment 1 (a hint only; misaligned access is legal) and a constant byte offset. */
const mem = (code: number, offset: number): number[] => [code, 0, ...uleb(offset)];

/** Control flow: blocks and loops take a void type; `br n` jumps to the n-th enclosing label. */
export const block = (...body: number[][]): number[] => [0x02, VOID, ...body.flat(), END];
export const loop = (...body: number[][]): number[] => [0x03, VOID, ...body.flat(), END];
export const when = (...body: number[][]): number[] => [0x04, VOID, ...body.flat(), END];
export const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];

export const get = (local: number): number[] => [0x20, ...uleb(local)];
export const set = (local: number): number[] => [0x21, ...uleb(local)];
export const tee = (local: number): number[] => [0x22, ...uleb(local)];

export const i32 = {
  const: (n: number): number[] => [0x41, ...sleb(n)],
  load: (offset = 0): number[] => mem(0x28, offset),
  load8u: (offset = 0): number[] => mem(0x2d, offset),
  load16u: (offset = 0): number[] => mem(0x2f, offset),
  store: (offset = 0): number[] => mem(0x36, offset),
  store8: (offset = 0): number[] => mem(0x3a, offset),
  store16: (offset = 0): number[] => mem(0x3b, offset),
  eqz: [0x45],
  ltU: [0x49],
  geU: [0x4f],
  add: [0x6a],
  sub: [0x6b],
  or: [0x72],
  shl: [0x74],
};

export const v128 = {
  load: (offset = 0): number[] => simd(0x00, 0, ...uleb(offset)),
  store: (offset = 0): number[] => simd(0x0b, 0, ...uleb(offset)),
  const: (bytes: number[]): number[] => simd(0x0c, ...bytes),
  xor: simd(0x51),
};

export const i8x16 = {
  /** Picks 16 byte lanes from two vectors by index (0–15 the first, 16–31 the second). */
  shuffle: (lanes: number[]): number[] => simd(0x0d, ...lanes),
  popcnt: simd(0x62),
  add: simd(0x6e),
};

export const i16x8 = {
  extaddPairwiseI8x16U: simd(0x7d),
  add: simd(0x8e),
};

export const i32x4 = {
  extaddPairwiseI16x8U: simd(0x7f),
  extractLane: (lane: number): number[] => simd(0x1b, lane),
  /** One bit per lane: its sign (top) bit. */
  bitmask: simd(0xa4),
};

export const f32x4 = {
  abs: simd(0xe0),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
};

export interface FuncDef {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals after the parameters, in order. */
  locals: number[];
  body: number[][];
}

/** A module importing `env.memory` (shared when asked) and exporting the given functions. */
export function assemble(funcs: FuncDef[], memory: { shared: boolean; maxPages: number }): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const limits = memory.shared ? [0x03, ...uleb(1), ...uleb(memory.maxPages)] : [0x00, ...uleb(1)];
  const codes = funcs.map((f) => {
    const locals = vec(f.locals.map((t) => [...uleb(1), t]));
    const body = [...locals, ...f.body.flat(), END];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(codes)),
  ]);
}

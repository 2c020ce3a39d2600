import {
  assemble,
  block,
  br,
  brIf,
  f32x4,
  type FuncDef,
  get,
  I32,
  i16x8,
  i32,
  i32x4,
  i8x16,
  loop,
  set,
  tee,
  V128,
  v128,
  when,
} from './wasm.js';

/**
 * The quantized backend's kernels as WebAssembly code, generated here and assembled by wasm.js:
 * the rotation (random signs and a fast Walsh–Hadamard transform, ROUNDS rounds), the Hamming
 * pass with its histogram, the gather below a threshold, and the code packing. kernels.ts
 * compiles this code once and runs it over an index's memory. One file of ~380 lines on purpose:
 * the four kernels share one register map and the SIMD helpers at its top.
 */

/** wasm32's limit: 4 GiB, i.e. ~30M codes of 128 bytes. */
export const MAX_PAGES = 65536;
export const ROUNDS = 3;

/** Byte lane indices for i8x16.shuffle that swap float lanes [1,0,3,2] and [2,3,0,1]. */
const SWAP_PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
const SWAP_HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const f32Bytes = (xs: number[]): number[] => [...Buffer.from(new Float32Array(xs).buffer)];

/** Locals of rotate(): its four parameters, then loop counters (bytes) and vector temporaries. */
const R = { BUF: 0, SIGNS: 1, P: 2, ROUNDS: 3, END: 4, I: 5, J: 6, H: 7, X: 8, Y: 9 };

/** The address base + offset (two locals) on the stack. */
const addr = (base: number, offset: number): number[] => [...get(base), ...get(offset), ...i32.add];

/** X ← shuffle(X)·1 + X·pattern: one butterfly level inside a 4-float vector. */
const inRegister = (lanes: number[], pattern: number[]): number[][] => [
  get(R.X),
  get(R.X),
  i8x16.shuffle(lanes),
  get(R.X),
  v128.const(f32Bytes(pattern)),
  f32x4.mul,
  f32x4.add,
  set(R.X),
];

/** buf[i] ← signs[i]·buf[i], then the butterflies of half-width 1 and 2, four floats at a time. */
function signsAndFirstLevels(): number[][] {
  return [
    i32.const(0),
    set(R.I),
    loop(
      addr(R.BUF, R.I),
      v128.load(),
      addr(R.SIGNS, R.I),
      v128.load(),
      f32x4.mul,
      set(R.X),
      ...inRegister(SWAP_PAIRS, [1, -1, 1, -1]),
      ...inRegister(SWAP_HALVES, [1, 1, -1, -1]),
      addr(R.BUF, R.I),
      get(R.X),
      v128.store(),
      get(R.I),
      i32.const(16),
      i32.add,
      tee(R.I),
      get(R.END),
      i32.ltU,
      brIf(0),
    ),
  ];
}

/** (buf[j], buf[j + h]) ← (x + y, x − y) for the four floats at byte offset j. */
function butterfly(): number[][] {
  return [
    addr(R.BUF, R.J),
    v128.load(),
    set(R.X),
    addr(R.BUF, R.J),
    get(R.H),
    i32.add,
    v128.load(),
    set(R.Y),
    addr(R.BUF, R.J),
    get(R.X),
    get(R.Y),
    f32x4.add,
    v128.store(),
    addr(R.BUF, R.J),
    get(R.H),
    i32.add,
    get(R.X),
    get(R.Y),
    f32x4.sub,
    v128.store(),
  ];
}

/** The remaining levels: for h = 16 bytes (4 floats) while h < end, doubling; blocks of 2h. */
function wideLevels(): number[][] {
  const inner = loop(
    ...butterfly(),
    get(R.J),
    i32.const(16),
    i32.add,
    tee(R.J),
    addr(R.I, R.H),
    i32.ltU,
    brIf(0),
  );
  const blocks = loop(
    get(R.I),
    set(R.J),
    inner,
    addr(R.I, R.H),
    get(R.H),
    i32.add,
    tee(R.I),
    get(R.END),
    i32.ltU,
    brIf(0),
  );
  return [
    i32.const(16),
    set(R.H),
    block(
      loop(
        get(R.H),
        get(R.END),
        i32.geU,
        brIf(1),
        i32.const(0),
        set(R.I),
        blocks,
        get(R.H),
        get(R.H),
        i32.add,
        set(R.H),
        br(0),
      ),
    ),
  ];
}

/**
 * rotate(buf, signs, p, rounds): `rounds` times, buf ← H·diag(signs_r)·buf, H the unnormalised
 * p×p Walsh–Hadamard matrix (p a power of two ≥ 4): an orthogonal transform (times p^(rounds/2))
 * in O(p log p). The first two butterfly levels happen inside each 4-float vector.
 */
function rotateFn(): FuncDef {
  const round = [
    ...signsAndFirstLevels(),
    ...wideLevels(),
    addr(R.SIGNS, R.END),
    set(R.SIGNS),
    get(R.ROUNDS),
    i32.const(1),
    i32.sub,
    set(R.ROUNDS),
  ];
  return {
    name: 'rotate',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, V128, V128],
    body: [
      get(R.P),
      i32.const(2),
      i32.shl,
      set(R.END),
      block(loop(get(R.ROUNDS), i32.eqz, brIf(1), ...round, br(0))),
    ],
  };
}

/**
 * hamming(codes, n, q, out, hist): for each of n codes, out[i] = popcount(code_i XOR q) as u16,
 * and hist[out[i]]++ (i32 bins). Specialised to the code length (`chunks` × 16 bytes): the query
 * stays in registers and the loop over chunks is unrolled. Byte lanes count at most 8 per chunk,
 * so they are summed as u8 over up to 16 chunks before widening.
 */
function hammingFn(chunks: number): FuncDef {
  const [CODES, N, Q, OUT, HIST, D] = [0, 1, 2, 3, 4, 5];
  const QV = 6; // v128 locals QV … QV + chunks - 1 hold the query; then one accumulator
  const ACC = QV + chunks;
  const loadQuery = Array.from({ length: chunks }, (_, c) => [get(Q), v128.load(16 * c), set(QV + c)]).flat(
    2,
  );
  const groups: number[][] = [];
  for (let c = 0; c < chunks; c += 16) {
    const group: number[][] = [];
    for (let j = c; j < Math.min(chunks, c + 16); j++) {
      group.push(get(CODES), v128.load(16 * j), get(QV + j), v128.xor, i8x16.popcnt);
      if (j > c) group.push(i8x16.add);
    }
    group.push(i16x8.extaddPairwiseI8x16U);
    if (c > 0) group.push(i16x8.add);
    groups.push(group.flat());
  }
  const horizontalSum = [
    i32x4.extaddPairwiseI16x8U,
    tee(ACC),
    i32x4.extractLane(0),
    get(ACC),
    i32x4.extractLane(1),
    i32.add,
    get(ACC),
    i32x4.extractLane(2),
    i32.add,
    get(ACC),
    i32x4.extractLane(3),
    i32.add,
    set(D),
  ];
  const record = [
    get(OUT),
    get(D),
    i32.store16(),
    get(HIST),
    get(D),
    i32.const(2),
    i32.shl,
    i32.add,
    tee(D),
    get(D),
    i32.load(),
    i32.const(1),
    i32.add,
    i32.store(),
  ];
  const advance = [
    get(OUT),
    i32.const(2),
    i32.add,
    set(OUT),
    get(CODES),
    i32.const(16 * chunks),
    i32.add,
    set(CODES),
    get(N),
    i32.const(1),
    i32.sub,
    set(N),
  ];
  return {
    name: 'hamming',
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, ...Array<number>(chunks + 1).fill(V128)],
    body: [
      loadQuery,
      block(loop(get(N), i32.eqz, brIf(1), ...groups, ...horizontalSum, ...record, ...advance, br(0))),
    ],
  };
}

/**
 * pack(buf, p, code, sums): code[b] = the sign bits of buf[8b … 8b + 7] (bit j set when
 * buf[8b + j] < 0), and sums = (Σ|buf| and Σbuf² per lane, two f32x4) for the correction factor.
 */
function packFn(): FuncDef {
  const [BUF, P, CODE, SUMS, END, L1, L2, A, B] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const square = (x: number) => [get(x), get(x), f32x4.mul];
  const abs = (x: number) => [get(x), f32x4.abs];
  return {
    name: 'pack',
    params: [I32, I32, I32, I32],
    results: [],
    locals: [I32, V128, V128, V128, V128],
    body: [
      get(BUF),
      get(P),
      i32.const(2),
      i32.shl,
      i32.add,
      set(END),
      loop(
        get(BUF),
        v128.load(),
        set(A),
        get(BUF),
        v128.load(16),
        set(B),
        get(CODE),
        get(A),
        i32x4.bitmask,
        get(B),
        i32x4.bitmask,
        i32.const(4),
        i32.shl,
        i32.or,
        i32.store8(),
        [...abs(A), ...abs(B), f32x4.add, get(L1), f32x4.add, set(L1)].flat(),
        [...square(A), ...square(B), f32x4.add, get(L2), f32x4.add, set(L2)].flat(),
        get(CODE),
        i32.const(1),
        i32.add,
        set(CODE),
        get(BUF),
        i32.const(32),
        i32.add,
        tee(BUF),
        get(END),
        i32.ltU,
        brIf(0),
      ),
      get(SUMS),
      get(L1),
      v128.store(),
      get(SUMS),
      get(L2),
      v128.store(16),
    ],
  };
}

/** gather(out, n, threshold, dst) → count: dst[count++] = i for every out[i] < threshold. */
function gatherFn(): FuncDef {
  const [OUT, N, THRESHOLD, DST, I, COUNT] = [0, 1, 2, 3, 4, 5];
  return {
    name: 'gather',
    params: [I32, I32, I32, I32],
    results: [I32],
    locals: [I32, I32],
    body: [
      block(
        loop(
          get(I),
          get(N),
          i32.geU,
          brIf(1),
          get(OUT),
          i32.load16u(),
          get(THRESHOLD),
          i32.ltU,
          when(
            get(DST),
            get(COUNT),
            i32.const(2),
            i32.shl,
            i32.add,
            get(I),
            i32.store(),
            get(COUNT),
            i32.const(1),
            i32.add,
            set(COUNT),
          ),
          get(OUT),
          i32.const(2),
          i32.add,
          set(OUT),
          get(I),
          i32.const(1),
          i32.add,
          set(I),
          br(0),
        ),
      ),
      get(COUNT),
    ],
  };
}

export function kernelBytes(chunks: number, shared = false): Uint8Array {
  return assemble([rotateFn(), hammingFn(chunks), gatherFn(), packFn()], { shared, maxPages: MAX_PAGES });
}

/** A tiny module that uses SIMD: a runtime that validates it has WebAssembly SIMD. */
export function simdProbeBytes(): Uint8Array {
  return assemble([hammingFn(1)], { shared: false, maxPages: 1 });
}

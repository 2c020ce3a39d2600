// Size: a restricted unpickler is one opcode interpreter.
/**
 * A restricted unpickler for PyTorch state dicts (docs/architecture.md §11).
 *
 * A pickle is a program: its GLOBAL and REDUCE opcodes import and call arbitrary Python. This
 * interpreter knows only the values a state dict is made of — dicts, lists, tuples, strings,
 * numbers — and the handful of globals `torch.save(state_dict)` writes (an OrderedDict, tensor
 * rebuild functions and storage classes). Any other import is refused on the spot, before anything
 * is called, with the name it tried to import. Tensors are not read here: `_rebuild_tensor_v2`
 * becomes a `TensorRef` (storage key, dtype, offset, shape, stride), so the caller can stream each
 * tensor from the archive later. This mirrors what `torch.load(weights_only=True)` accepts.
 */

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Element types of torch storages, by the storage class a checkpoint names. */
export const STORAGE_DTYPES = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
} as const;
export type StorageDtype = (typeof STORAGE_DTYPES)[keyof typeof STORAGE_DTYPES];

export interface StorageRef {
  readonly kind: 'storage';
  /** The archive entry `<prefix>/data/<key>` that holds the bytes. */
  readonly key: string;
  readonly dtype: StorageDtype;
  readonly numel: number;
}

export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  /** In elements, not bytes. */
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

/** A global the checkpoint is allowed to name; anything else is refused when it is imported. */
interface GlobalRef {
  readonly kind: 'global';
  readonly name: string;
}

type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Value[]
  | Tuple
  | Map<Value, Value>
  | GlobalRef
  | StorageRef
  | TensorRef;

/** Tuples are frozen arrays, so a tuple and a list stay distinguishable. */
type Tuple = readonly Value[] & { readonly tuple: true };

const REBUILDERS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

function allowed(module: string, name: string): boolean {
  const full = `${module}.${name}`;
  return REBUILDERS.has(full) || (module === 'torch' && name in STORAGE_DTYPES);
}

function tuple(items: Value[]): Tuple {
  return Object.freeze(Object.assign(items, { tuple: true as const })) as unknown as Tuple;
}

/** Limits that keep a hostile pickle from exhausting memory before it is refused. */
const MAX_CONTAINER = 10_000_000;

/**
 * Runs `bytes` (a `data.pkl`) and returns its top-level value: for a checkpoint, a Map from
 * parameter names to TensorRefs. Throws PickleError for anything a state dict never contains.
 */
export function unpickle(bytes: Uint8Array): Value {
  return new Machine(bytes).run();
}

export type { Value as PickleValue };

class Machine {
  private pos = 0;
  private stack: Value[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): Value {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e /* . STOP */) {
        if (this.stack.length !== 1) throw new PickleError('malformed pickle: STOP with a bad stack');
        return this.stack[0];
      }
      this.step(op);
    }
  }

  // --- reading --------------------------------------------------------------------------------

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length)
      throw new PickleError('truncated pickle: it ends in the middle of an instruction');
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError('pickle length too large');
    return Number(v);
  }
  private raw(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private text(n: number): string {
    try {
      return this.decoder.decode(this.raw(n));
    } catch {
      throw new PickleError('malformed pickle: a string is not valid UTF-8');
    }
  }
  /** A newline-terminated ASCII line (GLOBAL's operands). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new PickleError('truncated pickle: unterminated line');
    const s = Buffer.from(this.bytes.subarray(this.pos, end)).toString('latin1');
    this.pos = end + 1;
    return s;
  }

  // --- the stack ------------------------------------------------------------------------------

  private push(v: Value): void {
    if (this.stack.length > MAX_CONTAINER) throw new PickleError('pickle stack too deep');
    this.stack.push(v);
  }
  private pop(): Value {
    if (this.stack.length === 0) throw new PickleError('malformed pickle: stack underflow');
    return this.stack.pop()!;
  }
  private top(): Value {
    if (this.stack.length === 0) throw new PickleError('malformed pickle: stack underflow');
    return this.stack[this.stack.length - 1];
  }
  /** Everything above the last MARK, removing the mark. */
  private popMark(): Value[] {
    const at = this.marks.pop();
    if (at === undefined) throw new PickleError('malformed pickle: no MARK');
    return this.stack.splice(at);
  }
  private memoGet(i: number): Value {
    if (!this.memo.has(i)) throw new PickleError(`malformed pickle: memo ${i} is not set`);
    return this.memo.get(i)!;
  }

  // --- instructions ---------------------------------------------------------------------------

  // One switch over the opcode table: splitting it would only scatter the format across functions.
  // eslint-disable-next-line max-lines-per-function
  private step(op: number): void {
    switch (op) {
      case 0x80: // PROTO
        if (this.u8() > 5) throw new PickleError('pickle protocol newer than 5');
        return;
      case 0x95: // FRAME
        this.u64();
        return;
      case 0x28: // ( MARK
        this.marks.push(this.stack.length);
        return;
      case 0x29: // ) EMPTY_TUPLE
        return this.push(tuple([]));
      case 0x5d: // ] EMPTY_LIST
        return this.push([]);
      case 0x7d: // } EMPTY_DICT
        return this.push(new Map());
      case 0x4e: // N NONE
        return this.push(null);
      case 0x88: // NEWTRUE
        return this.push(true);
      case 0x89: // NEWFALSE
        return this.push(false);
      case 0x4b: // K BININT1
        return this.push(this.u8());
      case 0x4d: // M BININT2
        return this.push(this.u16());
      case 0x4a: // J BININT
        return this.push(this.i32());
      case 0x8a: // LONG1
        return this.push(this.long(this.u8()));
      case 0x47: // G BINFLOAT
        this.need(8);
        this.pos += 8;
        return this.push(this.view.getFloat64(this.pos - 8, false));
      case 0x58: // X BINUNICODE
        return this.push(this.text(this.u32()));
      case 0x8c: // SHORT_BINUNICODE
        return this.push(this.text(this.u8()));
      case 0x8d: // BINUNICODE8
        return this.push(this.text(this.u64()));
      case 0x43: // C SHORT_BINBYTES
        return this.push(this.raw(this.u8()));
      case 0x42: // B BINBYTES
        return this.push(this.raw(this.u32()));
      case 0x71: // q BINPUT
        this.memo.set(this.u8(), this.top());
        return;
      case 0x72: // r LONG_BINPUT
        this.memo.set(this.u32(), this.top());
        return;
      case 0x94: // MEMOIZE
        this.memo.set(this.memo.size, this.top());
        return;
      case 0x68: // h BINGET
        return this.push(this.memoGet(this.u8()));
      case 0x6a: // j LONG_BINGET
        return this.push(this.memoGet(this.u32()));
      case 0x74: // t TUPLE
        return this.push(tuple(this.popMark()));
      case 0x85: // TUPLE1
        return this.push(tuple([this.pop()]));
      case 0x86: {
        // TUPLE2
        const b = this.pop();
        return this.push(tuple([this.pop(), b]));
      }
      case 0x87: {
        // TUPLE3
        const c = this.pop();
        const b = this.pop();
        return this.push(tuple([this.pop(), b, c]));
      }
      case 0x6c: // l LIST
        return this.push(this.popMark());
      case 0x61: {
        // a APPEND
        const v = this.pop();
        this.list(this.top()).push(v);
        return;
      }
      case 0x65: {
        // e APPENDS
        const items = this.popMark();
        const list = this.list(this.top());
        if (list.length + items.length > MAX_CONTAINER) throw new PickleError('pickle list too large');
        list.push(...items);
        return;
      }
      case 0x64: {
        // d DICT
        const items = this.popMark();
        return this.push(this.setItems(new Map(), items));
      }
      case 0x73: {
        // s SETITEM
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.dict(this.top()), [k, v]);
        return;
      }
      case 0x75: {
        // u SETITEMS
        const items = this.popMark();
        this.setItems(this.dict(this.top()), items);
        return;
      }
      case 0x63: // c GLOBAL
        return this.push(this.global(this.line(), this.line()));
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw new PickleError('malformed pickle: STACK_GLOBAL needs two strings');
        return this.push(this.global(module, name));
      }
      case 0x51: // Q BINPERSID
        return this.push(persistentStorage(this.pop()));
      case 0x52: {
        // R REDUCE
        const args = this.pop();
        return this.push(call(this.pop(), args));
      }
      case 0x81: {
        // NEWOBJ
        const args = this.pop();
        return this.push(call(this.pop(), args));
      }
      case 0x62: // b BUILD
        // A state dict's OrderedDict carries `_metadata` (module versions) as its state; tensors
        // may carry hooks. Neither affects the weights, so the state is dropped.
        this.pop();
        return;
      case 0x30: // 0 POP
        this.pop();
        return;
      case 0x31: // 1 POP_MARK
        this.popMark();
        return;
      case 0x32: // 2 DUP
        return this.push(this.top());
      default:
        throw new PickleError(
          `the checkpoint's pickle uses opcode 0x${op.toString(16)} at byte ${this.pos - 1}, ` +
            'which a state dict never needs; refusing to run it',
        );
    }
  }

  private global(module: string, name: string): GlobalRef {
    if (!allowed(module, name)) {
      throw new PickleError(
        `the checkpoint's pickle imports ${module}.${name}, which a state dict never needs; ` +
          'refusing to run it (a checkpoint is code: only tensors, storages and dicts are accepted)',
      );
    }
    return { kind: 'global', name: `${module}.${name}` };
  }

  private long(n: number): number | bigint {
    const b = this.raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private list(v: Value): Value[] {
    if (!Array.isArray(v) || isTuple(v)) throw new PickleError('malformed pickle: APPEND to a non-list');
    return v as Value[];
  }
  private dict(v: Value): Map<Value, Value> {
    if (!(v instanceof Map)) throw new PickleError('malformed pickle: SETITEM on a non-dict');
    return v;
  }
  private setItems(d: Map<Value, Value>, items: Value[]): Map<Value, Value> {
    if (items.length % 2) throw new PickleError('malformed pickle: odd number of dict items');
    if (d.size + items.length / 2 > MAX_CONTAINER) throw new PickleError('pickle dict too large');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
    return d;
  }
}

function isTuple(v: Value): v is Tuple {
  return Array.isArray(v) && (v as unknown as Tuple).tuple === true;
}

function asInt(v: Value, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new PickleError(`malformed checkpoint: ${what} is not a non-negative integer`);
  return v;
}

function asInts(v: Value, what: string): number[] {
  if (!isTuple(v) && !Array.isArray(v)) throw new PickleError(`malformed checkpoint: ${what} is not a tuple`);
  return (v as Value[]).map((x, i) => asInt(x, `${what}[${i}]`));
}

/** torch.save's persistent id: ('storage', StorageClass, key, location, numel). */
function persistentStorage(pid: Value): StorageRef {
  if (!isTuple(pid) || pid.length < 5 || pid[0] !== 'storage')
    throw new PickleError('malformed checkpoint: a persistent id is not a torch storage');
  const cls = pid[1];
  const key = pid[2];
  if (!isGlobal(cls) || !cls.name.startsWith('torch.'))
    throw new PickleError('malformed checkpoint: a storage has no storage type');
  if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key))
    throw new PickleError('malformed checkpoint: a storage key is not a plain name');
  const dtype = STORAGE_DTYPES[cls.name.slice('torch.'.length) as keyof typeof STORAGE_DTYPES];
  return { kind: 'storage', key, dtype, numel: asInt(pid[4], 'storage size') };
}

function isGlobal(v: Value): v is GlobalRef {
  return typeof v === 'object' && v !== null && !(v instanceof Map) && 'kind' in v && v.kind === 'global';
}

function isStorage(v: Value): v is StorageRef {
  return typeof v === 'object' && v !== null && 'kind' in v && (v as StorageRef).kind === 'storage';
}

/** REDUCE/NEWOBJ: the only callables that exist here are the allowed globals. */
function call(fn: Value, args: Value): Value {
  if (!isGlobal(fn)) throw new PickleError('malformed pickle: REDUCE on something that is not callable');
  if (!isTuple(args)) throw new PickleError('malformed pickle: REDUCE arguments are not a tuple');
  switch (fn.name) {
    case 'collections.OrderedDict':
      if (args.length !== 0) throw new PickleError('OrderedDict with arguments is not a state dict');
      return new Map();
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor(args);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!isTensor(args[0])) throw new PickleError('malformed checkpoint: a parameter without a tensor');
      return args[0];
    default:
      throw new PickleError(`${fn.name} cannot be called: it is a storage type`);
  }
}

export function isTensor(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
function rebuildTensor(args: Tuple): TensorRef {
  const storage = args[0];
  if (!isStorage(storage)) throw new PickleError('malformed checkpoint: a tensor without a storage');
  const offset = asInt(args[1], 'tensor offset');
  const shape = asInts(args[2], 'tensor size');
  const stride = asInts(args[3], 'tensor stride');
  if (shape.length !== stride.length)
    throw new PickleError('malformed checkpoint: tensor size and stride differ in length');
  const numel = shape.reduce((a, b) => a * b, 1);
  const last = numel === 0 ? 0 : shape.reduce((n, d, i) => n + (d - 1) * stride[i], offset);
  if (numel > 0 && last >= storage.numel) {
    throw new PickleError(
      `malformed checkpoint: a tensor of size [${shape.join(',')}] reaches past its storage ` +
        `(${storage.numel} elements)`,
    );
  }
  return { kind: 'tensor', storage, offset, shape, stride };
}

/**
 * id → slot for the quantized backend: an open-addressing hash table (linear probing, backward
 * shift deletion) in two typed arrays, 12 bytes per bucket at a load factor ≤ 1/2, i.e. ~24 MB
 * for 1M ids. A JavaScript Map of 1M number keys took ~3× that and is slower to rebuild.
 */

const EMPTY = -1;
const MIN_BUCKETS = 1024;

export class IdSlots {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 0) {
    let buckets = MIN_BUCKETS;
    while (buckets < 2 * expected) buckets *= 2;
    this.keys = new Float64Array(buckets).fill(EMPTY);
    this.values = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The slot of `id`, or -1. */
  get(id: number): number {
    for (let i = this.home(id); ; i = (i + 1) & this.mask) {
      const key = this.keys[i];
      if (key === id) return this.values[i];
      if (key === EMPTY) return -1;
    }
  }

  set(id: number, slot: number): void {
    if (2 * (this.count + 1) > this.keys.length) this.resize(2 * this.keys.length);
    let i = this.home(id);
    while (this.keys[i] !== EMPTY && this.keys[i] !== id) i = (i + 1) & this.mask;
    if (this.keys[i] === EMPTY) this.count++;
    this.keys[i] = id;
    this.values[i] = slot;
  }

  delete(id: number): boolean {
    let i = this.home(id);
    while (this.keys[i] !== id) {
      if (this.keys[i] === EMPTY) return false;
      i = (i + 1) & this.mask;
    }
    // Backward shift: move later entries of the probe run into the hole when their home allows.
    for (let j = (i + 1) & this.mask; this.keys[j] !== EMPTY; j = (j + 1) & this.mask) {
      const home = this.home(this.keys[j]);
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      this.keys[i] = this.keys[j];
      this.values[i] = this.values[j];
      i = j;
    }
    this.keys[i] = EMPTY;
    this.count--;
    return true;
  }

  clear(): void {
    this.keys = new Float64Array(MIN_BUCKETS).fill(EMPTY);
    this.values = new Int32Array(MIN_BUCKETS);
    this.mask = MIN_BUCKETS - 1;
    this.count = 0;
  }

  /** Ids are safe integers up to 2⁵³: mix both 32-bit halves (murmur3's finaliser). */
  private home(id: number): number {
    let h = (id >>> 0) ^ Math.imul((id / 4294967296) >>> 0, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private resize(buckets: number): void {
    const { keys, values } = this;
    this.keys = new Float64Array(buckets).fill(EMPTY);
    this.values = new Int32Array(buckets);
    this.mask = buckets - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i], values[i]);
  }
}

import { allocate, arrayMatchesDType, type DType, type TypedArray } from './dtype';
import { fmtShape, IndexError, ShapeError, ValueError } from './errors';

/** Row-major (C-order) strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[], argName = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${argName} must hold non-negative integers, got ${fmtShape(shape)}`);
    }
  }
}

/** Wraps a possibly negative dimension into [0, ndim), PyTorch style. */
export function normalizeDim(dim: number, ndim: number, argName = 'dim'): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new IndexError(`Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim}) for argument '${argName}'`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

export type NestedArray = number | boolean | NestedArray[];

/**
 * An n-dimensional array over a flat typed array. `shape`, `strides` and
 * `offset` describe a strided view of `data`, so reshape/permute/narrow/
 * squeeze/unsqueeze/expand return views that share memory. Kernels call
 * {@link Tensor.contiguous} and then read `data` as a dense row-major array.
 */
export class Tensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;

  constructor(data: TypedArray, shape: readonly number[], dtype: DType, strides?: readonly number[], offset = 0) {
    checkShape(shape);
    if (!arrayMatchesDType(data, dtype)) {
      throw new ValueError(`data is a ${data.constructor.name}, which cannot hold dtype ${dtype}`);
    }
    const st = strides ?? contiguousStrides(shape);
    if (st.length !== shape.length) {
      throw new ShapeError(`strides ${fmtShape(st)} do not match shape ${fmtShape(shape)}`);
    }
    if (!strides && shapeSize(shape) + offset > data.length) {
      throw new ShapeError(`shape ${fmtShape(shape)} needs ${shapeSize(shape)} elements but data has ${data.length - offset}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...st]);
    this.offset = offset;
    this.dtype = dtype;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return shapeSize(this.shape);
  }

  /** `size()` is the shape; `size(dim)` one extent (negative dims allowed). */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[normalizeDim(dim, this.ndim)];
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.ndim - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /**
   * A tensor whose `data` is exactly its elements in row-major order (offset 0,
   * length numel). Returns `this` or a zero-copy subarray view when possible.
   */
  contiguous(): Tensor {
    const n = this.numel;
    if (this.isContiguous()) {
      if (this.offset === 0 && this.data.length === n) return this;
      return new Tensor(this.data.subarray(this.offset, this.offset + n), this.shape, this.dtype);
    }
    const out = allocate(this.dtype, n);
    copyStrided(this, out);
    return new Tensor(out, this.shape, this.dtype);
  }

  /** A copy that owns its memory. */
  clone(): Tensor {
    const out = allocate(this.dtype, this.numel);
    copyStrided(this, out);
    return new Tensor(out, this.shape, this.dtype);
  }

  /** Converts to another dtype (a copy; `bool` maps non-zero to 1). */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    const src = this.contiguous().data;
    const out = allocate(dtype, src.length);
    if (dtype === 'bool') {
      for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
    } else if (dtype === 'int32' || dtype === 'uint8') {
      // Truncation toward zero like PyTorch's float -> int cast.
      for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
    } else {
      out.set(src);
    }
    return new Tensor(out, this.shape, dtype);
  }

  /** Reshapes (one entry may be -1); a view when the layout allows it, else a copy. */
  reshape(...shapeArg: number[] | [readonly number[]]): Tensor {
    const shape = inferShape(flatArgs(shapeArg), this.numel, this.shape);
    if (this.isContiguous()) return new Tensor(this.data, shape, this.dtype, contiguousStrides(shape), this.offset);
    return this.contiguous().reshape(shape);
  }

  /** Alias of {@link Tensor.reshape}. */
  view(...shapeArg: number[] | [readonly number[]]): Tensor {
    return this.reshape(...shapeArg);
  }

  flatten(): Tensor {
    return this.reshape(-1);
  }

  permute(...dimsArg: number[] | [readonly number[]]): Tensor {
    const dims = flatArgs(dimsArg).map((d) => normalizeDim(d, this.ndim, 'dims'));
    if (dims.length !== this.ndim || new Set(dims).size !== dims.length) {
      throw new ShapeError(`permute(): dims ${fmtShape(dims)} must be a permutation of ${this.ndim} dimensions`);
    }
    return new Tensor(this.data, dims.map((d) => this.shape[d]), this.dtype, dims.map((d) => this.strides[d]), this.offset);
  }

  transpose(dim0: number, dim1: number): Tensor {
    const dims = [...Array(this.ndim).keys()];
    const a = normalizeDim(dim0, this.ndim, 'dim0');
    const b = normalizeDim(dim1, this.ndim, 'dim1');
    dims[a] = b;
    dims[b] = a;
    return this.permute(dims);
  }

  /** `length` elements of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    const d = normalizeDim(dim, this.ndim);
    const size = this.shape[d];
    const s = start < 0 ? start + size : start;
    if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
      throw new IndexError(`narrow(): start (${start}) + length (${length}) exceeds dimension size (${size}) of dim ${dim}`);
    }
    const shape = [...this.shape];
    shape[d] = length;
    return new Tensor(this.data, shape, this.dtype, this.strides, this.offset + s * this.strides[d]);
  }

  /** Python-style `t[..., start:end:step]` along `dim` (a view; negative bounds count from the end). */
  slice(dim: number, start = 0, end = Infinity, step = 1): Tensor {
    const d = normalizeDim(dim, this.ndim);
    if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice(): step must be a positive integer, got ${step}`);
    const size = this.shape[d];
    const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
    const s = clampIdx(start);
    const e = Math.max(clampIdx(end), s);
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape[d] = Math.ceil((e - s) / step);
    strides[d] *= step;
    return new Tensor(this.data, shape, this.dtype, strides, this.offset + s * this.strides[d]);
  }

  /** Element `index` of `dim`, removing that dimension (a view). */
  select(dim: number, index: number): Tensor {
    const d = normalizeDim(dim, this.ndim);
    const size = this.shape[d];
    const i = index < 0 ? index + size : index;
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new IndexError(`select(): index ${index} out of range for dimension ${dim} with size ${size}`);
    }
    const shape = this.shape.filter((_, k) => k !== d);
    const strides = this.strides.filter((_, k) => k !== d);
    return new Tensor(this.data, shape, this.dtype, strides, this.offset + i * this.strides[d]);
  }

  squeeze(dim?: number): Tensor {
    const keep = (k: number) => (dim === undefined ? this.shape[k] !== 1 : k !== normalizeDim(dim, this.ndim) || this.shape[k] !== 1);
    const idx = [...this.shape.keys()].filter(keep);
    return new Tensor(this.data, idx.map((k) => this.shape[k]), this.dtype, idx.map((k) => this.strides[k]), this.offset);
  }

  unsqueeze(dim: number): Tensor {
    const d = normalizeDim(dim, this.ndim + 1);
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape.splice(d, 0, 1);
    strides.splice(d, 0, d < this.ndim ? this.strides[d] * this.shape[d] : 1);
    return new Tensor(this.data, shape, this.dtype, strides, this.offset);
  }

  /** Broadcasts size-1 dimensions to `shape` without copying (stride 0). */
  expand(...shapeArg: number[] | [readonly number[]]): Tensor {
    const shape = flatArgs(shapeArg);
    if (shape.length < this.ndim) {
      throw new ShapeError(`expand(): the number of sizes provided (${shape.length}) must be greater or equal to the number of dimensions in the tensor (${this.ndim})`);
    }
    const lead = shape.length - this.ndim;
    const strides = shape.map((size, i) => {
      if (i < lead) return 0;
      const own = this.shape[i - lead];
      if (size === -1 || size === own) return this.strides[i - lead];
      if (own === 1) return 0;
      throw new ShapeError(`expand(): the expanded size of the tensor (${size}) must match the existing size (${own}) at non-singleton dimension ${i}. Target sizes: ${fmtShape(shape)}. Tensor sizes: ${fmtShape(this.shape)}`);
    });
    const out = shape.map((s, i) => (s === -1 ? this.shape[i - lead] : s));
    return new Tensor(this.data, out, this.dtype, strides, this.offset);
  }

  /** The element at a full index (negative indices count from the end). */
  get(...index: number[]): number {
    if (index.length !== this.ndim) throw new IndexError(`get(): expected ${this.ndim} indices, got ${index.length}`);
    let off = this.offset;
    for (let k = 0; k < index.length; k++) {
      const size = this.shape[k];
      const i = index[k] < 0 ? index[k] + size : index[k];
      if (!Number.isInteger(i) || i < 0 || i >= size) throw new IndexError(`index ${index[k]} is out of bounds for dimension ${k} with size ${size}`);
      off += i * this.strides[k];
    }
    return this.data[off];
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new ValueError(`a Tensor with ${this.numel} elements cannot be converted to a number`);
    return this.data[this.offset];
  }

  /** Nested JS arrays (booleans for `bool`). A 0-d tensor gives its value. */
  toArray(): NestedArray {
    const flat = this.contiguous().data;
    const asBool = this.dtype === 'bool';
    const build = (dim: number, base: number): NestedArray => {
      if (dim === this.ndim) return asBool ? flat[base] !== 0 : flat[base];
      const inner = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, base + i * inner));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype})`;
  }
}

function flatArgs(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

function inferShape(shape: number[], numel: number, from: readonly number[]): number[] {
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) throw new ShapeError('only one dimension can be inferred (-1)');
  const known = shapeSize(shape.filter((_, i) => i !== free));
  const out = [...shape];
  if (free >= 0) {
    if (known === 0 || numel % known !== 0) throw new ShapeError(`shape '${fmtShape(shape)}' is invalid for input of size ${numel}`);
    out[free] = numel / known;
  }
  checkShape(out);
  if (shapeSize(out) !== numel) {
    throw new ShapeError(`shape '${fmtShape(shape)}' is invalid for input of size ${numel} (input shape ${fmtShape(from)})`);
  }
  return out;
}

/** Copies a strided view into a dense row-major buffer. */
export function copyStrided(src: Tensor, out: TypedArray): void {
  const nd = src.ndim;
  const n = src.numel;
  if (n === 0) return;
  if (nd === 0) {
    out[0] = src.data[src.offset];
    return;
  }
  const { shape, strides, data } = src;
  const last = nd - 1;
  const innerSize = shape[last];
  const innerStride = strides[last];
  const idx = new Array<number>(nd).fill(0);
  let base = src.offset;
  for (let o = 0; o < n; o += innerSize) {
    for (let i = 0, p = base; i < innerSize; i++, p += innerStride) out[o + i] = data[p];
    for (let k = last - 1; k >= 0; k--) {
      idx[k]++;
      base += strides[k];
      if (idx[k] < shape[k]) break;
      base -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

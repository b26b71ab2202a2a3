import { allocate, isFloatDType, type DType } from './dtype';
import { DTypeError, IndexError } from './errors';
import { normalizeDim, Tensor } from './tensor';

export interface ReduceOptions {
  /** Dimension(s) to reduce; all dimensions when omitted. */
  dim?: number | number[];
  keepdim?: boolean;
}

interface Layout {
  /** The input permuted so the reduced dims are last, made contiguous. */
  data: ArrayLike<number>;
  outer: number;
  inner: number;
  outShape: number[];
}

/** Moves the reduced dims to the end so every output reads one contiguous run. */
function layout(name: string, x: Tensor, dimArg: number | number[] | undefined, keepdim: boolean): Layout {
  const all = [...Array(x.ndim).keys()];
  const dims = dimArg === undefined ? all : (Array.isArray(dimArg) ? dimArg : [dimArg]).map((d) => normalizeDim(d, x.ndim));
  if (new Set(dims).size !== dims.length) throw new IndexError(`${name}(): dim ${String(dimArg)} appears multiple times in the list of dims`);
  const kept = all.filter((d) => !dims.includes(d));
  const permuted = x.ndim === 0 ? x : x.permute([...kept, ...dims]).contiguous();
  const inner = dims.reduce((p, d) => p * x.shape[d], 1);
  const outShape = keepdim ? x.shape.map((s, d) => (dims.includes(d) ? 1 : s)) : kept.map((d) => x.shape[d]);
  return { data: permuted.data, outer: kept.reduce((p, d) => p * x.shape[d], 1), inner, outShape };
}

function sumType(dtype: DType): DType {
  return isFloatDType(dtype) ? dtype : 'int32';
}

/**
 * Sum over `dim` (all dims by default). Accumulates in float64 then rounds, so a
 * float32 result can differ from torch's float32 (pairwise, vectorised) sum by a
 * few ulps of the largest partial sum.
 */
export function sum(x: Tensor, options: ReduceOptions = {}): Tensor {
  const { data, outer, inner, outShape } = layout('sum', x, options.dim, options.keepdim ?? false);
  const dt = sumType(x.dtype);
  const out = allocate(dt, outer);
  for (let o = 0; o < outer; o++) {
    let acc = 0;
    for (let i = o * inner, end = i + inner; i < end; i++) acc += data[i];
    out[o] = acc;
  }
  return new Tensor(out, outShape, dt);
}

/** Mean over `dim`; like torch, integer inputs are an error. Mean of nothing is NaN. */
export function mean(x: Tensor, options: ReduceOptions = {}): Tensor {
  if (!isFloatDType(x.dtype)) {
    throw new DTypeError(`mean(): could not infer output dtype. Input dtype must be float32 or float64. Got: ${x.dtype}`);
  }
  const { data, outer, inner, outShape } = layout('mean', x, options.dim, options.keepdim ?? false);
  const out = allocate(x.dtype, outer);
  for (let o = 0; o < outer; o++) {
    let acc = 0;
    for (let i = o * inner, end = i + inner; i < end; i++) acc += data[i];
    out[o] = acc / inner;
  }
  return new Tensor(out, outShape, x.dtype);
}

export interface ValuesIndices {
  values: Tensor;
  /** int32 positions along `dim` of the first extreme element (NaN counts as the extreme). */
  indices: Tensor;
}

function extreme(name: string, x: Tensor, dim: number | undefined, keepdim: boolean, greater: boolean): ValuesIndices {
  if (x.numel === 0) throw new IndexError(`${name}(): Expected reduction dim to be specified for input.numel() == 0`);
  const { data, outer, inner, outShape } = layout(name, x, dim, keepdim);
  if (inner === 0) throw new IndexError(`${name}(): cannot reduce over a zero-size dimension`);
  const values = allocate(x.dtype, outer);
  const indices = new Int32Array(outer);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let best = data[base];
    let bestIdx = 0;
    if (best === best) {
      for (let i = 1; i < inner; i++) {
        const v = data[base + i];
        if (v !== v) {
          best = v;
          bestIdx = i;
          break;
        }
        if (greater ? v > best : v < best) {
          best = v;
          bestIdx = i;
        }
      }
    }
    values[o] = best;
    indices[o] = bestIdx;
  }
  return { values: new Tensor(values, outShape, x.dtype), indices: new Tensor(indices, outShape, 'int32') };
}

/** `max(x)` over all elements, or `max(x, { dim })` giving values and indices. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, options: { dim: number; keepdim?: boolean }): ValuesIndices;
export function max(x: Tensor, options?: { dim: number; keepdim?: boolean }): Tensor | ValuesIndices {
  if (options === undefined) return extreme('max', x, undefined, false, true).values;
  return extreme('max', x, options.dim, options.keepdim ?? false, true);
}

/** `min(x)` over all elements, or `min(x, { dim })` giving values and indices. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, options: { dim: number; keepdim?: boolean }): ValuesIndices;
export function min(x: Tensor, options?: { dim: number; keepdim?: boolean }): Tensor | ValuesIndices {
  if (options === undefined) return extreme('min', x, undefined, false, false).values;
  return extreme('min', x, options.dim, options.keepdim ?? false, false);
}

/** Index of the first maximum (over the flattened tensor when `dim` is omitted). */
export function argmax(x: Tensor, options: { dim?: number; keepdim?: boolean } = {}): Tensor {
  return extreme('argmax', x, options.dim, options.keepdim ?? false, true).indices;
}

/** Index of the first minimum (over the flattened tensor when `dim` is omitted). */
export function argmin(x: Tensor, options: { dim?: number; keepdim?: boolean } = {}): Tensor {
  return extreme('argmin', x, options.dim, options.keepdim ?? false, false).indices;
}

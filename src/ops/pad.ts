import { allocate, type DType } from '../tensor/dtype';
import { describe, expectTensor } from '../tensor/check';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { shapeSize, Tensor } from '../tensor/tensor';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

export interface PadOptions {
  /** Default `'constant'`. */
  mode?: PadMode;
  /** Fill value of `'constant'` mode (default 0); other modes accept only 0, like torch. */
  value?: number;
}

/** Normalised padding: per input dimension, how many elements are added (negative: removed) on each side. */
export interface PadPlan {
  mode: PadMode;
  /** `before[d]` / `after[d]` for every input dim (0 where `pads` does not reach). */
  before: number[];
  after: number[];
  outShape: number[];
  /** The constant fill converted to the tensor's dtype (truncated for integers, rounded for float32). */
  value: number;
}

const MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/** Ranks torch 1.13 accepts for the non-constant modes, by number of padded dims. */
const BORDER_RANKS: Record<number, readonly number[]> = { 1: [2, 3], 2: [3, 4], 3: [4, 5] };

const LIMITS: Partial<Record<DType, [number, number]>> = {
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38],
};

function fillValue(dtype: DType, v: number): number {
  const lim = LIMITS[dtype];
  // torch's checked_convert: NaN fits only float types; infinities fit float types; finite values must lie within the type's range.
  const isInt = dtype === 'int32' || dtype === 'uint8';
  if (lim && ((isInt && !Number.isFinite(v)) || (Number.isFinite(v) && (v < lim[0] || v > lim[1])))) {
    throw new ValueError(`pad(): value ${v} cannot be converted to type ${dtype} without overflow`);
  }
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  if (isInt) return Math.trunc(v);
  return dtype === 'float32' ? Math.fround(v) : v;
}

/**
 * Validates `pad` arguments as torch 1.13's `F.pad` and computes the output
 * shape. `pads` lists (left, right) pairs starting from the last dimension.
 */
export function resolvePad(xShape: readonly number[], dtype: DType, pads: readonly number[], options: PadOptions = {}): PadPlan {
  const op = 'pad';
  const mode = options.mode ?? 'constant';
  if (!Array.isArray(pads) || pads.some((p) => !Number.isInteger(p))) {
    throw new ValueError(`${op}(): argument 'pads' must be a list of integers, got ${describe(pads)}`);
  }
  if (pads.length % 2 !== 0) throw new ValueError(`${op}(): Padding length must be divisible by 2, got ${pads.length}`);
  const ndim = xShape.length;
  const np = pads.length / 2;
  if (np > ndim) throw new ShapeError(`${op}(): Padding length too large: ${pads.length} pads for a ${ndim}-D input`);
  if (!MODES.includes(mode)) throw new ValueError(`${op}(): Unrecognised padding mode '${String(mode)}' (expected ${MODES.join(', ')})`);
  const before = new Array<number>(ndim).fill(0);
  const after = new Array<number>(ndim).fill(0);
  for (let i = 0; i < np; i++) {
    before[ndim - 1 - i] = pads[2 * i];
    after[ndim - 1 - i] = pads[2 * i + 1];
  }
  const outShape = xShape.map((s, d) => s + before[d] + after[d]);
  const value = options.value ?? 0;
  if (typeof value !== 'number') throw new ValueError(`${op}(): argument 'value' must be a number, got ${describe(value)}`);
  const plan: PadPlan = { mode, before, after, outShape, value: 0 };
  const dimMsg = (d: number) => `padding (${before[d]}, ${after[d]}) at dimension ${d} of input ${fmtShape(xShape)}`;

  if (mode === 'constant') {
    // torch crops (narrows) first, then pads; an all-crop may leave empty dims, a pad may not.
    for (let d = ndim - np; d < ndim; d++) {
      if (-before[d] > xShape[d] || xShape[d] + Math.min(before[d], 0) + Math.min(after[d], 0) < 0) {
        throw new ShapeError(`${op}(): negative ${dimMsg(d)} removes more than the whole dimension`);
      }
    }
    if (pads.some((p) => p > 0)) {
      for (let d = ndim - np; d < ndim; d++) {
        if (outShape[d] <= 0) throw new ShapeError(`${op}(): ${dimMsg(d)} gives an output size of ${outShape[d]}, which is invalid`);
      }
      plan.value = fillValue(dtype, value);
    }
    return plan;
  }

  if (value !== 0) throw new ValueError(`${op}(): Padding mode "${mode}" doesn't take in value argument`);
  const ranks = BORDER_RANKS[np];
  if (!ranks?.includes(ndim) || (mode === 'circular' && ndim !== np + 2)) {
    throw new ShapeError(
      `${op}(): '${mode}' mode pads ${mode === 'circular' ? 'the 1-3 trailing dims of a batched 3-D to 5-D input (2 * (ndim - 2) pads)' : '1, 2 or 3 trailing dims of a 2-D to 5-D input (2 pads: 2-D/3-D, 4 pads: 3-D/4-D, 6 pads: 4-D/5-D)'}; got ${pads.length} pads for a ${ndim}-D input`,
    );
  }
  if (mode === 'circular') {
    for (let d = ndim - np; d < ndim; d++) {
      const size = xShape[d];
      if (before[d] > size || after[d] > size) throw new ShapeError(`${op}(): circular ${dimMsg(d)}: padding value causes wrapping around more than once`);
      if (outShape[d] < 0) throw new ShapeError(`${op}(): circular ${dimMsg(d)}: negative padding value is resulting in an empty dimension`);
      // torch wraps the cropped signal; a pad longer than what is left reads uninitialised memory there.
      const kept = size + Math.min(before[d], 0) + Math.min(after[d], 0);
      if (before[d] > kept || after[d] > kept) {
        throw new ShapeError(`${op}(): circular ${dimMsg(d)}: padding wraps around the ${kept} elements left after cropping more than once`);
      }
    }
    return plan;
  }

  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${op}(): '${mode}' mode needs a float32 or float64 input, got ${dtype}`);
  // The optional leading batch dim may be empty, the rest may not; torch's 1-D and 2-D reflect never check dim 0.
  const firstChecked = ndim === np + 2 || (mode === 'reflect' && np < 3) ? 1 : 0;
  for (let d = firstChecked; d < ndim; d++) {
    if (xShape[d] === 0) throw new ShapeError(`${op}(): '${mode}' mode expects non-empty dims (except a batch dim), got input of size ${fmtShape(xShape)}`);
  }
  for (let d = ndim - np; d < ndim; d++) {
    if (mode === 'reflect' && (before[d] >= xShape[d] || after[d] >= xShape[d])) {
      throw new ShapeError(`${op}(): Padding size should be less than the corresponding input dimension, but got: ${dimMsg(d)}`);
    }
    if (outShape[d] < 0) throw new ShapeError(`${op}(): ${dimMsg(d)} gives a negative output size ${outShape[d]}`);
  }
  // torch 1.13 checks `out_w >= 1 || out_h >= 1 (|| out_d >= 1)`: one empty padded dim passes, all of them do not.
  if (outShape.slice(ndim - np).every((o) => o < 1)) {
    throw new ShapeError(`${op}(): input ${fmtShape(xShape)} is too small: padded dims of the output would be ${fmtShape(outShape.slice(ndim - np))}`);
  }
  return plan;
}

/**
 * Source index along one dim for each output index, or -1 for the constant
 * fill (`size` input elements, `before`/`after` pads of that dim). The WebGPU
 * pad plans its splits with it.
 */
export function padIndexMap(mode: PadMode, size: number, before: number, after: number): Int32Array {
  const outSize = size + before + after;
  const map = new Int32Array(outSize);
  const keptStart = Math.max(-before, 0);
  const lead = Math.max(before, 0);
  const kept = size - keptStart - Math.max(-after, 0);
  for (let j = 0; j < outSize; j++) {
    const t = j - before;
    let s: number;
    if (mode === 'constant') s = t >= 0 && t < size ? t : -1;
    else if (mode === 'replicate') s = t < 0 ? 0 : t >= size ? size - 1 : t;
    else if (mode === 'reflect') s = t < 0 ? -t : t >= size ? 2 * (size - 1) - t : t;
    else s = keptStart + ((((j - lead) % kept) + kept) % kept);
    map[j] = s;
  }
  return map;
}

/**
 * Pads (or, with negative amounts, crops) the trailing dims of `x`, as
 * `torch.nn.functional.pad` in torch 1.13. `pads` is `[left, right, top,
 * bottom, front, back]` (last dim first, as many pairs as dims to pad).
 *
 * - `constant`: any number of trailing dims, any dtype; `value` (default 0)
 *   is converted like torch (truncated for ints, overflow is an error).
 * - `reflect` (mirror without repeating the edge; each pad < that dim),
 *   `replicate` (edge value, any size): 1 trailing dim of a 2-D/3-D input, 2 of
 *   3-D/4-D, 3 of 4-D/5-D; float dtypes.
 * - `circular`: 1-3 trailing dims of a batched 3-D to 5-D input; pads <= dim.
 *   Negative pads crop first and the wrap is over the cropped signal, as torch.
 *
 * Exact (a gather); the output is a new contiguous tensor of `x`'s dtype.
 */
export function pad(x: Tensor, pads: readonly number[], options: PadOptions = {}): Tensor {
  expectTensor('pad', 'input', x);
  const plan = resolvePad(x.shape, x.dtype, pads, options);
  const { outShape, before, mode } = plan;
  const out = allocate(x.dtype, shapeSize(outShape));
  if (out.length === 0) return new Tensor(out, outShape, x.dtype);
  const src = x.contiguous().data;
  const nd = outShape.length;
  if (nd === 0) {
    out[0] = src[0];
    return new Tensor(out, outShape, x.dtype);
  }
  const maps = x.shape.map((size, d) => padIndexMap(mode, size, before[d], plan.after[d]));
  const inStrides = new Array<number>(nd);
  for (let d = nd - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= x.shape[d];
  }
  const inner = maps[nd - 1];
  const innerLen = outShape[nd - 1];
  const outer = out.length / innerLen;
  const idx = new Array<number>(nd - 1).fill(0);
  const fill = plan.value;
  for (let r = 0, o = 0; r < outer; r++) {
    let base = 0;
    for (let d = 0; d < nd - 1; d++) {
      const s = maps[d][idx[d]];
      if (s < 0) {
        base = -1;
        break;
      }
      base += s * inStrides[d];
    }
    if (base < 0) {
      out.fill(fill, o, o + innerLen);
      o += innerLen;
    } else {
      for (let j = 0; j < innerLen; j++, o++) {
        const s = inner[j];
        out[o] = s < 0 ? fill : src[base + s];
      }
    }
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return new Tensor(out, outShape, x.dtype);
}

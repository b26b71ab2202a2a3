import { allocate, isFloatDType, type DType } from '../tensor/dtype';
import { expectTensor } from '../tensor/check';
import { DTypeError, ValueError } from '../tensor/errors';
import { normalizeDim, shapeSize, Tensor } from '../tensor/tensor';

export interface SoftmaxOptions {
  /**
   * The dimension to normalise over (negative counts from the end). Required:
   * torch's implicit choice when `dim` is omitted is deprecated and rank
   * dependent, so it is an error here.
   */
  dim: number;
  /** Cast the input to this dtype first (torch's `dtype=`); lets integer inputs through. */
  dtype?: 'float32' | 'float64';
}

/** The tensor viewed as `[outer, size, inner]` around `dim`. */
export interface SoftmaxPlan {
  dim: number;
  outer: number;
  size: number;
  inner: number;
  /** Dtype of the computation and the result. */
  dtype: DType;
  outShape: number[];
}

/** Argument checks and geometry of {@link softmax} / {@link logSoftmax}. */
export function resolveSoftmax(op: string, xShape: readonly number[], xDType: DType, options: SoftmaxOptions | undefined): SoftmaxPlan {
  if (options === undefined || options.dim === undefined) {
    throw new ValueError(`${op}(): argument 'dim' is required (torch's implicit dim choice is deprecated)`);
  }
  const dtype = options.dtype ?? xDType;
  if (!isFloatDType(dtype)) throw new DTypeError(`${op}(): input must be float32 or float64 (or pass dtype), got ${xDType}`);
  const dim = normalizeDim(options.dim, xShape.length);
  const ndim = xShape.length;
  return {
    dim,
    outer: shapeSize(xShape.slice(0, dim)),
    size: ndim === 0 ? 1 : xShape[dim],
    inner: shapeSize(xShape.slice(dim + 1)),
    dtype,
    outShape: [...xShape],
  };
}

/**
 * `exp(x - max) / sum(exp(x - max))` along `dim`, as `torch.softmax`. Shape
 * unchanged. Computed in float64 (max-subtracted, so no overflow): float32
 * results are within a few ulps of torch's. A slice containing NaN or +inf,
 * or only -inf, gives NaN like torch.
 */
export function softmax(x: Tensor, options: SoftmaxOptions): Tensor {
  return run('softmax', x, options, false);
}

/**
 * `x - max - log(sum(exp(x - max)))` along `dim`, as `torch.log_softmax`
 * (stable for large |x|; -inf entries stay -inf).
 */
export function logSoftmax(x: Tensor, options: SoftmaxOptions): Tensor {
  return run('logSoftmax', x, options, true);
}

function run(op: string, x: Tensor, options: SoftmaxOptions, log: boolean): Tensor {
  expectTensor(op, 'input', x);
  const plan = resolveSoftmax(op, x.shape, x.dtype, options);
  const { outer, size, inner } = plan;
  const src = x.contiguous().data;
  const out = allocate(plan.dtype, src.length);
  const mx = new Float64Array(inner);
  const sum = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    mx.fill(-Infinity);
    sum.fill(0);
    for (let i = 0, p = base; i < size; i++) {
      for (let j = 0; j < inner; j++, p++) {
        const v = src[p];
        if (v > mx[j] || v !== v) mx[j] = v;
      }
    }
    for (let i = 0, p = base; i < size; i++) {
      for (let j = 0; j < inner; j++, p++) sum[j] += Math.exp(src[p] - mx[j]);
    }
    if (log) {
      for (let j = 0; j < inner; j++) sum[j] = Math.log(sum[j]);
      for (let i = 0, p = base; i < size; i++) {
        for (let j = 0; j < inner; j++, p++) out[p] = src[p] - mx[j] - sum[j];
      }
    } else {
      for (let i = 0, p = base; i < size; i++) {
        for (let j = 0; j < inner; j++, p++) out[p] = Math.exp(src[p] - mx[j]) / sum[j];
      }
    }
  }
  return new Tensor(out, plan.outShape, plan.dtype);
}

import { allocate, dtypeOfArray, isFloatDType, type DType, type TypedArray } from './dtype';
import { DTypeError, fmtShape, ShapeError, ValueError } from './errors';
import { defaultGenerator, type Generator } from './random';
import { checkShape, shapeSize, Tensor, type NestedArray } from './tensor';

export interface FactoryOptions {
  dtype?: DType;
}

export interface RandomOptions extends FactoryOptions {
  generator?: Generator;
}

/**
 * Creates a tensor from nested arrays, a flat typed array or a number.
 * - A typed array is wrapped without a copy (`shape` defaults to 1-D); its dtype
 *   is the array's unless `dtype` is `bool` over a `Uint8Array`.
 * - Nested JS arrays are copied; numbers give `float32` by default (unlike
 *   `torch.tensor`, which picks int64 for integer lists, because every kernel
 *   here wants floats) and booleans give `bool`.
 */
export function tensor(data: NestedArray | TypedArray, shape?: readonly number[], dtype?: DType): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const dt = dtype ?? dtypeOfArray(arr);
    const sh = shape ?? [arr.length];
    if (shapeSize(sh) !== arr.length) {
      throw new ShapeError(`shape ${fmtShape(sh)} needs ${shapeSize(sh)} elements but data has ${arr.length}`);
    }
    if (dt === dtypeOfArray(arr) || (dt === 'bool' && arr instanceof Uint8Array)) return new Tensor(arr, sh, dt);
    return new Tensor(arr, sh, dtypeOfArray(arr)).to(dt);
  }
  const inferred: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    inferred.push(probe.length);
    probe = probe[0];
  }
  const dt = dtype ?? (typeof probe === 'boolean' ? 'bool' : 'float32');
  const out = allocate(dt, shapeSize(inferred));
  let k = 0;
  const fill = (node: NestedArray, dim: number): void => {
    if (dim === inferred.length) {
      if (Array.isArray(node)) throw new ShapeError(`tensor(): ragged nested array, expected shape ${fmtShape(inferred)}`);
      out[k++] = typeof node === 'boolean' ? Number(node) : node;
      return;
    }
    if (!Array.isArray(node) || node.length !== inferred[dim]) {
      throw new ShapeError(`tensor(): ragged nested array, expected shape ${fmtShape(inferred)}`);
    }
    for (const child of node) fill(child, dim + 1);
  };
  fill(data, 0);
  const t = new Tensor(out, inferred, dt);
  if (shape === undefined) return t;
  return t.reshape([...shape]);
}

export function full(shape: readonly number[], value: number, options: FactoryOptions = {}): Tensor {
  checkShape(shape);
  const dtype = options.dtype ?? 'float32';
  const data = allocate(dtype, shapeSize(shape));
  if (value !== 0) data.fill(dtype === 'bool' ? Number(value !== 0) : value);
  return new Tensor(data, shape, dtype);
}

export function zeros(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** A tensor of the same shape and dtype as `like`, filled with zeros. */
export function zerosLike(like: Tensor, options: FactoryOptions = {}): Tensor {
  return zeros(like.shape, { dtype: options.dtype ?? like.dtype });
}

/**
 * `arange(end)` or `arange(start, end, step)`, half-open like torch. The
 * dtype defaults to int32 when all arguments are integers, else float32.
 */
export function arange(start: number, end?: number, step = 1, options: FactoryOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange(): step must be finite and nonzero, got ${step}`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueError('arange(): start and end must be finite');
  if ((hi - lo) / step < 0) throw new ValueError(`arange(): upper bound and larger bound inconsistent with step sign`);
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const dtype = options.dtype ?? ([lo, hi, step].every(Number.isInteger) ? 'int32' : 'float32');
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return new Tensor(data, [n], dtype);
}

function floatOptions(name: string, options: RandomOptions): DType {
  const dtype = options.dtype ?? 'float32';
  if (!isFloatDType(dtype)) throw new DTypeError(`${name}(): dtype must be float32 or float64, got ${dtype}`);
  return dtype;
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape);
  const gen = options.generator ?? defaultGenerator;
  const data = allocate(floatOptions('rand', options), shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.random();
  return new Tensor(data, shape, options.dtype ?? 'float32');
}

/** Standard normal samples. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape);
  const gen = options.generator ?? defaultGenerator;
  const data = allocate(floatOptions('randn', options), shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.normal();
  return new Tensor(data, shape, options.dtype ?? 'float32');
}

/** Uniform integers in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ValueError(`randint(): expected integers low < high, got low=${low}, high=${high}`);
  }
  const gen = options.generator ?? defaultGenerator;
  const dtype = options.dtype ?? 'int32';
  const data = allocate(dtype, shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = gen.integer(low, high);
  return new Tensor(data, shape, dtype);
}

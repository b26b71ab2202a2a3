import { DTypeError } from './errors';

/**
 * Element types. `bool` is stored one byte per element in a `Uint8Array`.
 * PyTorch's int64 has no typed-array twin that kernels can use cheaply, so
 * index outputs (argmax, pooling indices, NMS keep lists) are `int32`: every
 * index the library produces addresses a typed array, whose length is below 2^31.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'uint8' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'uint8', 'bool'];

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function allocate(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    default:
      throw new DTypeError(`unknown dtype '${String(dtype)}'; expected one of ${DTYPES.join(', ')}`);
  }
}

/** The dtype a typed array holds by default (a `Uint8Array` is `uint8`, not `bool`). */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new DTypeError('data must be a Float32Array, Float64Array, Int32Array or Uint8Array');
}

export function arrayMatchesDType(data: TypedArray, dtype: DType): boolean {
  return dtype === 'bool' ? data instanceof Uint8Array : dtypeOfArray(data) === dtype;
}

const RANK: Record<DType, number> = { bool: 0, uint8: 1, int32: 2, float32: 3, float64: 4 };

/** PyTorch's type promotion between two tensors (bool < uint8 < int32 < float32 < float64). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Promotion of a tensor with a JS number, which PyTorch treats as a "weak"
 * scalar: it only changes the category (bool -> integer -> float), never the width.
 */
export function promoteWithScalar(dtype: DType, scalar: number | boolean): DType {
  if (typeof scalar === 'boolean') return dtype;
  if (!Number.isInteger(scalar)) return isFloatDType(dtype) ? dtype : 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}

/** The dtype of a float-valued result (exp, division, mean) of a tensor of `dtype`. */
export function floatResultType(dtype: DType): DType {
  return isFloatDType(dtype) ? dtype : 'float32';
}

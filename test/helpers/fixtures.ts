import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Tensor, type DType, type TypedArray } from '../../src';

/** A tensor as the fixture generator and the torch worker write it. */
export interface EncodedTensor {
  dtype: DType;
  shape: number[];
  b64: string;
}

const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };

export function isEncodedTensor(v: unknown): v is EncodedTensor {
  return typeof v === 'object' && v !== null && 'b64' in v && 'dtype' in v && 'shape' in v;
}

export function decodeTensor(e: EncodedTensor): Tensor {
  const bytes = Buffer.from(e.b64, 'base64');
  const Ctor = CTORS[e.dtype];
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const data = new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT) as TypedArray;
  return new Tensor(data, e.shape, e.dtype);
}

export function encodeTensor(t: Tensor): EncodedTensor {
  const c = t.contiguous().data;
  return { dtype: t.dtype, shape: [...t.shape], b64: Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64') };
}

/** Recursively turns encoded tensors into Tensors and {special: 'nan'} into numbers. */
export function decodeTree<T = unknown>(v: unknown): T {
  if (isEncodedTensor(v)) return decodeTensor(v) as T;
  if (Array.isArray(v)) return v.map((x) => decodeTree(x)) as T;
  if (typeof v === 'object' && v !== null) {
    if ('special' in v && Object.keys(v).length === 1) return Number((v as { special: string }).special.replace('inf', 'Infinity')) as T;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeTree(x)])) as T;
  }
  return v as T;
}

export function encodeTree(v: unknown): unknown {
  if (v instanceof Tensor) return encodeTensor(v);
  if (Array.isArray(v)) return v.map(encodeTree);
  if (typeof v === 'number' && !Number.isFinite(v)) return { special: Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf' };
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeTree(x)]));
  return v;
}

export interface FixtureFile<C> {
  family: string;
  torch: string;
  meta: Record<string, unknown>;
  cases: C[];
}

/** Reads test/fixtures/<family>.json with tensors decoded. */
export function loadFixture<C = Record<string, unknown>>(family: string): FixtureFile<C> {
  const path = fileURLToPath(new URL(`../fixtures/${family}.json`, import.meta.url));
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  return { ...doc, cases: decodeTree<C[]>(doc.cases) };
}

export interface Tolerance {
  /** Relative tolerance, scaled by |expected|. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
}

/**
 * Asserts same shape and |a - e| <= atol + rtol * |e| elementwise (NaN must
 * match NaN, infinities must match exactly). Reports the worst element.
 */
export function expectClose(actual: Tensor, expected: Tensor, { rtol = 1e-5, atol = 1e-6 }: Tolerance = {}, label = ''): void {
  expect(actual.shape, `${label} shape`).toEqual(expected.shape);
  const a = actual.contiguous().data;
  const e = expected.contiguous().data;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const x = a[i];
    const y = e[i];
    if (Number.isNaN(y) || Number.isNaN(x) || !Number.isFinite(y) || !Number.isFinite(x)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y)) && x !== y) {
        worst = i;
        worstExcess = Infinity;
        break;
      }
      continue;
    }
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label} mismatch at flat index ${worst}: got ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Asserts bit-exact equality (integer outputs, indices). */
export function expectEqual(actual: Tensor, expected: Tensor, label = ''): void {
  expect(actual.shape, `${label} shape`).toEqual(expected.shape);
  expect(Array.from(actual.contiguous().data), label).toEqual(Array.from(expected.contiguous().data));
}

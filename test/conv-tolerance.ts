import { expect } from 'vitest';
import { abs, conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type Tensor } from '../src';

export type ConvOp = 'conv2d' | 'conv_transpose2d';

export interface ConvArgs {
  x: Tensor;
  weight: Tensor;
  bias?: Tensor;
  [k: string]: unknown;
}

export function runConv(op: ConvOp, a: ConvArgs, dtype?: 'float64'): Tensor {
  const cast = (t: Tensor) => (dtype ? t.to(dtype) : t);
  const opts = { ...a, bias: a.bias ? cast(a.bias) : null };
  return op === 'conv2d'
    ? conv2d(cast(a.x), cast(a.weight), opts as Conv2dOptions)
    : convTranspose2d(cast(a.x), cast(a.weight), opts as ConvTranspose2dOptions);
}

/**
 * Per-element bound for a convolution computed with a different summation
 * order: each output sums K = C_in/groups * kH * kW products (fewer for the
 * transposed conv) plus the bias. Any float32 summation order (torch's
 * im2col + BLAS, oneDNN blocking) errs by at most gamma_(K+1) * S with
 * S = sum |x||w| + |b| and gamma_n ~ n * u (u = 2^-24); we accumulate in
 * float64 and round once (u * |y|). The check allows 2 * (K + 2) * u * S + u * |y|.
 * S is computed by running the same op on |x|, |w|, |b| in float64. 3x3 convs
 * with >= 8 channels run Winograd F(4x4, 3x3) in float64, whose transforms leave
 * ~1e-16 * (nearby S) residue where torch has exact zeros (inputs that are exactly 0):
 * 2^-40 * max(S) covers it without loosening anything that float32 can resolve.
 */
export function expectConvClose(op: ConvOp, got: Tensor, expected: Tensor, a: ConvArgs, label = ''): void {
  expect(got.shape, `${label} shape`).toEqual(expected.shape);
  expect(got.dtype, `${label} dtype`).toBe(expected.dtype);
  const s = runConv(op, { ...a, x: abs(a.x), weight: abs(a.weight), bias: a.bias ? abs(a.bias) : undefined }, 'float64').data;
  const [, cInG, kh, kw] = op === 'conv2d' ? a.weight.shape : [0, a.weight.shape[0] / ((a.groups as number) ?? 1), a.weight.shape[2], a.weight.shape[3]];
  const k = cInG * kh * kw;
  const u = expected.dtype === 'float32' ? 2 ** -24 : 2 ** -53;
  const g = got.contiguous().data;
  const e = expected.contiguous().data;
  let sMax = 0;
  for (let i = 0; i < s.length; i++) sMax = Math.max(sMax, s[i]);
  for (let i = 0; i < e.length; i++) {
    const tol = 2 * (k + 2) * u * s[i] + u * Math.abs(e[i]) + 2 ** -40 * sMax;
    if (!(Math.abs(g[i] - e[i]) <= tol)) {
      expect.fail(`${label} mismatch at ${i}: got ${g[i]}, expected ${e[i]} (tolerance ${tol}, K ${k})`);
    }
  }
}

import { describe, expect, it } from 'vitest';
import { IndexError, interpolate, ValueError, VisionOpsError, type InterpolateOptions, type Tensor } from '../src';
import { expectClose, loadFixture } from './helpers/fixtures';

interface InterpCase {
  args: InterpolateOptions & { x: Tensor };
  expected?: { output: Tensor };
  error?: string;
}

/**
 * torch's exception class → the error we must throw: its IndexError and ValueError map to
 * ours; RuntimeError/TypeError/NotImplementedError to any of our typed errors.
 */
function expectTorchError(fn: () => unknown, pyType: string, label: string): void {
  const want = pyType === 'IndexError' ? IndexError : pyType === 'ValueError' ? ValueError : VisionOpsError;
  expect(fn, `${label}: torch raised ${pyType}`).toThrow(want);
}

function maxAbs(t: Tensor): number {
  let m = 0;
  for (const v of t.contiguous().data) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Tolerances in units of eps * max|x| (eps = 2^-23 for float32, 2^-52 for float64).
 * nearest and nearest-exact are exact, and so is area (adaptive average pooling) except its
 * 1x1 case, which torch computes with mean(): 8 eps. linear/bilinear use torch's weights bit
 * for bit (float32 step, unrounded source coordinate); only the rounding of the weighted sums
 * differs (torch rounds every product and partial sum, we each row partial and the result):
 * 4 eps. torch's bicubic weights differ from Keys' formula evaluated in float32 by up to ~4 ulps
 * (its build contracts some of the polynomial into fused multiply-adds), and 16 taps of up to
 * max|x| each carry that error: 32 eps (3.8e-6 relative to max|x| in float32).
 */
function interpTolerance(c: InterpCase): { rtol: number; atol: number } {
  const { x, mode } = c.args;
  const ulp = x.dtype === 'float32' ? 2 ** -23 : 2 ** -52; // machine epsilon
  const scale = Math.max(maxAbs(x), 1e-30);
  if (mode === 'area') {
    const out = c.expected!.output.shape;
    return out[out.length - 1] === 1 && (out.length === 3 || out[2] === 1) ? { rtol: 0, atol: 8 * ulp * scale } : { rtol: 0, atol: 0 };
  }
  if (mode === undefined || mode === null || mode === 'nearest' || mode === 'nearest-exact') return { rtol: 0, atol: 0 };
  return { rtol: 0, atol: (mode === 'bicubic' ? 32 : 4) * ulp * scale };
}

function label(c: InterpCase, i: number): string {
  const { x, ...a } = c.args;
  return `${i} ${JSON.stringify(a)} x${JSON.stringify(x.shape)} ${x.dtype}${c.error ? ` → ${c.error}` : ''}`;
}

describe('interpolate vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<InterpCase>('interpolate');
  it.each(cases.map((c, i) => [label(c, i), c] as const))('%s', (name, c) => {
    const { x, ...opts } = c.args;
    if (c.error) return expectTorchError(() => interpolate(x, opts), c.error, name);
    const got = interpolate(x, opts);
    expect(got.dtype).toBe(x.dtype);
    expectClose(got, c.expected!.output, interpTolerance(c), name);
  });
});

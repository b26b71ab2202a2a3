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
 * nearest and nearest-exact are exact, and so is area (adaptive average pooling) except its
 * 1x1 case, which torch computes with mean(). bilinear/linear share torch's float32 weights
 * bit for bit; only the rounding of the weighted sums differs (torch rounds every product and
 * partial sum, we round each row partial and the result): a few ulps of the largest input,
 * atol = 8 ulp * max|x|. torch's bicubic float32 weights differ from Keys' formula evaluated
 * in float32 by up to ~5e-7 (they vary with the output position for the same fraction, a
 * product of its vectorised build), so bicubic gets 32 ulp * max|x| (~2e-6 relative in float32; float64 shows the same ~14 ulp).
 */
function interpTolerance(c: InterpCase): { rtol: number; atol: number } {
  const { x, mode } = c.args;
  const ulp = x.dtype === 'float32' ? 2 ** -24 : 2 ** -53;
  const scale = Math.max(maxAbs(x), 1e-30);
  if (mode === 'area') {
    const out = c.expected!.output.shape;
    return out[out.length - 1] === 1 && (out.length === 3 || out[2] === 1) ? { rtol: 0, atol: 16 * ulp * scale } : { rtol: 0, atol: 0 };
  }
  if (mode === undefined || mode === null || mode === 'nearest' || mode === 'nearest-exact') return { rtol: 0, atol: 0 };
  return { rtol: 0, atol: (mode === 'bicubic' ? 32 : 8) * ulp * scale };
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

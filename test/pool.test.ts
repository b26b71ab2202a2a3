import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  avgPool2d,
  Generator,
  IndexError,
  maxPool2d,
  maxUnpool2d,
  randn,
  tensor,
  ValueError,
  VisionOpsError,
  type MaxPool2dOptions,
  type Tensor,
} from '../src';
import { expectClose, expectEqual, loadFixture } from './helpers/fixtures';

interface PoolCase {
  op: 'max_pool2d' | 'avg_pool2d' | 'adaptive_avg_pool2d' | 'adaptive_max_pool2d' | 'max_unpool2d';
  args: Record<string, unknown> & { x: Tensor; indices?: Tensor; outputSize?: unknown };
  expected?: { output: Tensor; indices?: Tensor };
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

/** Calls our op with a fixture's (or the torch worker's) arguments; always asks for indices where the op has them. */
function runPoolOp(c: Pick<PoolCase, 'op' | 'args'>): { output: Tensor; indices?: Tensor } {
  const { x, ...a } = c.args;
  switch (c.op) {
    case 'max_pool2d':
      return maxPool2d(x, { ...(a as unknown as MaxPool2dOptions), returnIndices: true });
    case 'avg_pool2d':
      return { output: avgPool2d(x, a as never) };
    case 'adaptive_avg_pool2d':
      return { output: adaptiveAvgPool2d(x, a.outputSize as never) };
    case 'adaptive_max_pool2d':
      return adaptiveMaxPool2d(x, a.outputSize as never, { returnIndices: true });
    case 'max_unpool2d':
      return { output: maxUnpool2d(x, a.indices as Tensor, a as never) };
  }
}

// Max pooling, unpooling and the averages are bit-exact: the sums accumulate in the input
// dtype in torch's order. The exception is a 1x1 adaptive average, which torch computes with
// mean() (a blocked float32 reduction) and we in float64: a few float32 ulps of the sum.
const GLOBAL_MEAN_TOL = { rtol: 1e-6, atol: 1e-6 };

function isGlobalMean(c: PoolCase): boolean {
  const s = c.args.outputSize;
  return c.op === 'adaptive_avg_pool2d' && (s === 1 || (Array.isArray(s) && s[0] === 1 && s[1] === 1));
}

function checkPoolResult(c: PoolCase, label: string): void {
  if (c.error) {
    expectTorchError(() => runPoolOp(c), c.error, label);
    return;
  }
  const got = runPoolOp(c);
  expectClose(got.output, c.expected!.output, isGlobalMean(c) ? GLOBAL_MEAN_TOL : { rtol: 0, atol: 0 }, `${label} output`);
  expect(got.output.dtype).toBe(c.expected!.output.dtype);
  if (c.expected!.indices) expectEqual(got.indices!, c.expected!.indices, `${label} indices`);
}

describe('pooling vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<PoolCase>('pool');
  it('covers every op and some errors', () => {
    const ops = new Set(cases.map((c) => c.op));
    expect(ops.size).toBe(5);
    expect(cases.filter((c) => c.error).length).toBeGreaterThan(20);
  });
  it.each(cases.map((c, i) => [`${i} ${c.op}${c.error ? ` (${c.error})` : ''}`, c] as const))('%s', (label, c) => checkPoolResult(c, label));
});

describe('pooling details', () => {
  // tfjs-wasm 4.22's maxPoolWithArgmax starts its max at FLT_MIN: this window gives it 1.1754944e-38, index 0.
  it('all-negative windows give their true maximum and its index', () => {
    const x = tensor([[[[-5, -3], [-4, -7]]]]);
    const { output, indices } = maxPool2d(x, { kernelSize: 2, returnIndices: true });
    expect(output.toArray()).toEqual([[[[-3]]]]);
    expect(indices.toArray()).toEqual([[[[1]]]]);
  });
  it('the last NaN in a window wins, ties keep the first maximum', () => {
    const x = tensor([[[[NaN, 1, NaN, 2, 5, 5]]]]);
    const r = maxPool2d(x, { kernelSize: [1, 3], stride: [1, 3], returnIndices: true });
    expect(Number.isNaN(r.output.get(0, 0, 0, 0))).toBe(true);
    expect(r.indices.toArray()).toEqual([[[[2, 4]]]]);
  });
  it('unpool rejects indices outside the output plane with an IndexError', () => {
    const x = tensor([[[[1, 2]]]]);
    expect(() => maxUnpool2d(x, tensor([[[[0, 4]]]], undefined, 'int32'), { kernelSize: [1, 2] })).toThrow(IndexError);
    expect(() => maxUnpool2d(x, tensor([[[[0, 1]]]]), { kernelSize: [1, 2] })).toThrow(VisionOpsError);
  });
  it('without indices, and on strided views, gives the same values as with indices on a copy', () => {
    const base = randn([2, 3, 9, 11], { generator: new Generator(5) }).to('float64');
    const view = base.permute(0, 1, 3, 2); // non-contiguous [2, 3, 11, 9]
    const opts = { kernelSize: 3, stride: 2, padding: 1 };
    const plain = maxPool2d(view, opts);
    const { output } = maxPool2d(view.contiguous().clone(), { ...opts, returnIndices: true });
    expectEqual(plain, output, 'values');
    expect(plain.dtype).toBe('float64');
  });
  it('divisorOverride 0 is a ValueError', () => {
    expect(() => avgPool2d(tensor([[[[1, 2]]]]), { kernelSize: 1, divisorOverride: 0 })).toThrow(ValueError);
  });
  it('integer inputs are a dtype error', () => {
    expect(() => maxPool2d(tensor([[[[1, 2]]]], undefined, 'int32'), { kernelSize: 1 })).toThrow(VisionOpsError);
  });
});

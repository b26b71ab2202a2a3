import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, IndexError, logSoftmax, randn, softmax, tensor, ValueError, VisionOpsError, DTypeError, type SoftmaxOptions, type Tensor } from '../src';
import { expectClose, loadFixture } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

interface SoftmaxArgs {
  x: Tensor;
  dim: number;
  dtype?: 'float32' | 'float64';
}

interface SoftmaxCase {
  op: 'softmax' | 'log_softmax';
  args: SoftmaxArgs;
  expected?: Tensor;
  error?: string;
}

const run = (op: SoftmaxCase['op'], a: SoftmaxArgs) => (op === 'softmax' ? softmax : logSoftmax)(a.x, { dim: a.dim, dtype: a.dtype });

/**
 * Tolerances. We compute in float64 and round once; torch computes in float32:
 * x - max is exact or 0.5 ulp, exp is ~1 ulp, the sum of n terms errs by at most
 * n * 2^-24 relative, and the division by 0.5 ulp. For n <= 1000, softmax
 * agrees within (n + 3) * 2^-24 relative, about 6e-5 in the worst case; rows
 * of random data sit far below it, so rtol 2e-6 + atol 1e-7 (small
 * probabilities) is used, with the n-scaled bound for the 1000-wide case.
 * log_softmax: (x - max) - log(sum) errs by ulp(|x - max|) + n * 2^-24 absolute, so
 * rtol 1e-6 with atol 1e-5.
 */
function tolerance(op: SoftmaxCase['op'], a: SoftmaxArgs, dtype: string) {
  if (dtype === 'float64') return { rtol: 1e-12, atol: 1e-13 };
  const n = a.x.ndim === 0 ? 1 : a.x.shape[a.dim < 0 ? a.dim + a.x.ndim : a.dim];
  if (op === 'softmax') return { rtol: Math.max(2e-6, (n + 3) * 2 ** -24), atol: 1e-7 };
  return { rtol: 1e-6, atol: 1e-5 };
}

describe('softmax / log_softmax vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<SoftmaxCase>('softmax');
  it.each(cases.map((c, i) => [`${i} ${c.op} [${c.args.x.shape}] dim ${c.args.dim}${c.error ? ` (${c.error})` : ''}`, c] as const))('%s', (label, c) => {
    if (c.error) {
      expect(() => run(c.op, c.args), label).toThrow(c.error === 'IndexError' ? IndexError : VisionOpsError);
      return;
    }
    const got = run(c.op, c.args);
    expect(got.dtype).toBe(c.expected!.dtype);
    expectClose(got, c.expected!, tolerance(c.op, c.args, c.expected!.dtype), label);
  });
  it('requires dim (torch only warns and guesses)', () => {
    expect(() => softmax(randn([2, 3]), undefined as unknown as SoftmaxOptions)).toThrow(ValueError);
    expect(() => logSoftmax(randn([2, 3]), {} as SoftmaxOptions)).toThrow(ValueError);
    expect(() => softmax(tensor([1, 2], [2], 'int32'), { dim: 0 })).toThrow(DTypeError);
  });
});

const shapeAndDim = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: -shape.length, max: shape.length - 1 }), fc.integer(), fc.double({ min: 0.1, max: 100, noNaN: true })));

function slicesAlong(t: Tensor, dim: number): number[][] {
  const d = dim < 0 ? dim + t.ndim : dim;
  const moved = t.transpose(d, t.ndim - 1).contiguous();
  const n = t.shape[d];
  const data = Array.from(moved.data);
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += n) out.push(data.slice(i, i + n));
  return out;
}

describe('softmax properties', () => {
  it('slices sum to 1, lie in [0, 1], and exp(logSoftmax) equals softmax', () => {
    fc.assert(
      fc.property(shapeAndDim, ([shape, dim, seed, scale]) => {
        const x = randn(shape, { generator: new Generator(seed), dtype: 'float64' });
        for (let i = 0; i < x.data.length; i++) x.data[i] *= scale;
        const p = softmax(x, { dim });
        for (const row of slicesAlong(p, dim)) {
          expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
          for (const v of row) expect(v >= 0 && v <= 1).toBe(true);
        }
        const lp = logSoftmax(x, { dim });
        for (let i = 0; i < p.data.length; i++) expect(Math.abs(Math.exp(lp.data[i]) - p.data[i])).toBeLessThan(1e-12);
      }),
      { numRuns: 200 },
    );
  });
  it('is invariant to adding a constant along dim, and stable for huge inputs', () => {
    const x = tensor([[1000, 1001, 1002], [-1000, -1001, -1002]]);
    const y = softmax(x, { dim: 1 });
    expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
    expectClose(y, softmax(tensor([[0, 1, 2], [0, -1, -2]]), { dim: 1 }), { rtol: 1e-6, atol: 1e-7 });
    expect(Array.from(logSoftmax(x, { dim: 1 }).data).every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!hasTorch)(`softmax vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  for (const op of ['softmax', 'log_softmax'] as const) {
    it(`${op} agrees on random shapes, scales and dims (out-of-range dims must throw)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 4 }),
          fc.integer({ min: -5, max: 4 }),
          fc.integer(),
          fc.double({ min: 0.01, max: 200, noNaN: true }),
          async (shape, dim, seed, scale) => {
            const x = randn(shape, { generator: new Generator(seed) });
            for (let i = 0; i < x.data.length; i++) x.data[i] = Math.fround(x.data[i] * scale);
            const args = { x, dim };
            let expected: Tensor | null = null;
            try {
              expected = await torch.call<Tensor>(op, args);
            } catch (e) {
              if (!(e instanceof TorchError)) throw e;
            }
            if (!expected) {
              expect(() => run(op, args)).toThrow(VisionOpsError);
              return;
            }
            expectClose(run(op, args), expected, tolerance(op, args, 'float32'), `${op} [${shape}] dim ${dim}`);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

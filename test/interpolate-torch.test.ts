/**
 * Differential tests: fast-check interpolate calls sent to live torch 1.13
 * (scripts/fixtures/gen_interpolate.py HANDLERS) — every mode, sizes and integer,
 * non-integer and downscaling factors, alignCorners, recomputeScaleFactor, 1-D and 2-D,
 * float32 and float64, and error agreement. Tolerances as in interpolate.test.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, IndexError, interpolate, randn, ValueError, VisionOpsError, type InterpolateMode, type Tensor } from '../src';
import { expectClose } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

const MODES: InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'area'];

function maxAbs(t: Tensor): number {
  let m = 0;
  for (const v of t.contiguous().data) m = Math.max(m, Math.abs(v));
  return m;
}

/** Same rule as interpolate.test.ts: exact for nearest/area (bar a 1x1 area), 4 eps (linear) or 32 eps (cubic) times max|x|. */
function tolerance(mode: InterpolateMode, x: Tensor, out: Tensor): { rtol: number; atol: number } {
  const ulp = (x.dtype === 'float32' ? 2 ** -23 : 2 ** -52) * Math.max(maxAbs(x), 1e-30); // epsilon * max|x|
  if (mode === 'nearest' || mode === 'nearest-exact') return { rtol: 0, atol: 0 };
  if (mode === 'area') return out.shape.slice(2).every((d) => d === 1) ? { rtol: 0, atol: 8 * ulp } : { rtol: 0, atol: 0 };
  return { rtol: 0, atol: (mode === 'bicubic' ? 32 : 4) * ulp };
}

// Factors with two decimals over [0.1, 4.5]: integer, non-integer, downscaling and some giving size 0.
const factorArb = fc.integer({ min: 10, max: 450 }).map((v) => v / 100);

describe.skipIf(!hasTorch)(`interpolate vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  it('agrees on values, output shapes and errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 0, max: 2 }),
          c: fc.integer({ min: 1, max: 2 }),
          spatial: fc.oneof(fc.tuple(fc.integer({ min: 1, max: 9 })), fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }))),
          f64: fc.boolean(),
          seed: fc.integer({ min: 0, max: 2 ** 30 }),
        }),
        fc.constantFrom(...MODES),
        fc.oneof(
          fc.record({ size: fc.oneof(fc.integer({ min: 0, max: 19 }), fc.array(fc.integer({ min: 1, max: 19 }), { minLength: 1, maxLength: 2 })) }),
          fc.record({
            scaleFactor: fc.oneof(factorArb, fc.array(factorArb, { minLength: 1, maxLength: 2 })),
            recomputeScaleFactor: fc.option(fc.boolean(), { nil: undefined }),
          }),
        ),
        fc.option(fc.boolean(), { nil: undefined }),
        async (r, mode, sizing, alignCorners) => {
          let x = randn([r.n, r.c, ...r.spatial], { generator: new Generator(r.seed) });
          if (r.f64) x = x.to('float64');
          const opts = { mode, alignCorners, ...sizing };
          let expected: { output: Tensor } | undefined;
          let pyError: TorchError | undefined;
          try {
            expected = await torch.call<{ output: Tensor }>('interpolate', { x, ...opts });
          } catch (e) {
            if (!(e instanceof TorchError)) throw e;
            pyError = e;
          }
          const label = JSON.stringify({ shape: x.shape, dtype: x.dtype, ...opts });
          if (pyError) {
            const want = pyError.pyType === 'IndexError' ? IndexError : pyError.pyType === 'ValueError' ? ValueError : VisionOpsError;
            expect(() => interpolate(x, opts), `${label}: torch raised ${pyError.pyType}: ${pyError.message}`).toThrow(want);
            return;
          }
          const got = interpolate(x, opts);
          expect(got.dtype).toBe(x.dtype);
          expectClose(got, expected!.output, tolerance(mode, x, expected!.output), label);
        },
      ),
      { numRuns: 600 },
    );
  });
});

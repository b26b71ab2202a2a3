/**
 * Differential tests: hundreds of fast-check cases per pooling op sent to live torch 1.13
 * (scripts/fixtures/gen_pool.py HANDLERS). Results must be bit-identical (1x1 adaptive
 * averages within float32 rounding, see pool.test.ts); when torch raises, we must throw
 * the matching typed error, and we must not throw when torch succeeds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  avgPool2d,
  Generator,
  IndexError,
  maxPool2d,
  maxUnpool2d,
  randn,
  ValueError,
  VisionOpsError,
  type Tensor,
} from '../src';
import { expectClose, expectEqual } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

const RUNS = 250;

type Result = { output: Tensor; indices?: Tensor };

/** Random float32 input: plain normals, ties (few distinct values), all negative, or with NaNs. */
function makeInput(shape: number[], seed: number, flavour: number): Tensor {
  const x = randn(shape, { generator: new Generator(seed) });
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (flavour === 1) d[i] = Math.round(d[i]);
    else if (flavour === 2) d[i] = -Math.abs(d[i]) - 5;
    else if (flavour === 3 && (i * 7919 + seed) % 9 === 0) d[i] = NaN;
  }
  return x;
}

const inputArb = fc.record({
  n: fc.integer({ min: 0, max: 2 }),
  unbatched: fc.boolean(),
  c: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  flavour: fc.integer({ min: 0, max: 3 }),
});

function inputOf(r: { n: number; unbatched: boolean; c: number; h: number; w: number; seed: number; flavour: number }): Tensor {
  const shape = r.unbatched ? [r.c, r.h, r.w] : [r.n, r.c, r.h, r.w];
  return makeInput(shape, r.seed, r.flavour);
}

const pairArb = (min: number, max: number) => fc.oneof(fc.integer({ min, max }), fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })));

/** Runs ours and torch's; they must agree on success/failure and on the result. */
async function agree(torch: TorchWorker, op: string, args: Record<string, unknown>, ours: () => Result, tol = { rtol: 0, atol: 0 }): Promise<void> {
  let expected: Result | undefined;
  let pyError: TorchError | undefined;
  try {
    expected = await torch.call<Result>(op, args);
  } catch (e) {
    if (!(e instanceof TorchError)) throw e;
    pyError = e;
  }
  const label = `${op} ${JSON.stringify({ ...args, x: (args.x as Tensor).shape, indices: undefined })}`;
  if (pyError) {
    const want = pyError.pyType === 'IndexError' ? IndexError : pyError.pyType === 'ValueError' ? ValueError : VisionOpsError;
    expect(ours, `${label}: torch raised ${pyError.pyType}: ${pyError.message}`).toThrow(want);
    return;
  }
  const got = ours();
  expectClose(got.output, expected!.output, tol, label);
  if (expected!.indices && got.indices) expectEqual(got.indices, expected!.indices, `${label} indices`);
}

describe.skipIf(!hasTorch)(`pooling vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  const windowArb = fc.record({
    kernelSize: pairArb(1, 4),
    stride: fc.option(pairArb(1, 4), { nil: undefined }),
    padding: pairArb(0, 2),
    dilation: pairArb(1, 3),
    ceilMode: fc.boolean(),
  });

  it('max_pool2d (values and indices, errors)', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb, windowArb, async (r, g) => {
        const x = inputOf(r);
        await agree(torch, 'max_pool2d', { x, ...g }, () => maxPool2d(x, { ...g, returnIndices: true }));
      }),
      { numRuns: RUNS },
    );
  });

  it('avg_pool2d (divisor rules, errors)', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb,
        windowArb,
        fc.boolean(),
        fc.option(fc.integer({ min: -3, max: 6 }), { nil: undefined }),
        async (r, { dilation: _, ...g }, countIncludePad, divisorOverride) => {
          const x = inputOf(r);
          const opts = { ...g, countIncludePad, divisorOverride };
          await agree(torch, 'avg_pool2d', { x, ...opts }, () => ({ output: avgPool2d(x, opts) }));
        },
      ),
      { numRuns: RUNS },
    );
  });

  const sizeArb = fc.oneof(
    fc.integer({ min: 0, max: 11 }),
    fc.tuple(fc.option(fc.integer({ min: 0, max: 11 }), { nil: null }), fc.option(fc.integer({ min: 0, max: 11 }), { nil: null })),
  );

  it('adaptive_avg_pool2d and adaptive_max_pool2d', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb, sizeArb, async (r, outputSize) => {
        const x = inputOf(r);
        const global = outputSize === 1 || (Array.isArray(outputSize) && (outputSize[0] ?? x.shape[x.ndim - 2]) === 1 && (outputSize[1] ?? x.shape[x.ndim - 1]) === 1);
        await agree(torch, 'adaptive_avg_pool2d', { x, outputSize }, () => ({ output: adaptiveAvgPool2d(x, outputSize) }), global ? { rtol: 1e-6, atol: 1e-6 } : undefined);
        await agree(torch, 'adaptive_max_pool2d', { x, outputSize }, () => adaptiveMaxPool2d(x, outputSize, { returnIndices: true }));
      }),
      { numRuns: RUNS },
    );
  });

  it('max_unpool2d of max_pool2d results, with explicit output sizes around the valid range', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1 }),
        fc.boolean(),
        fc.option(fc.tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: -4, max: 4 })), { nil: undefined }),
        async (r, k, s, p, ceilMode, delta) => {
          const x = inputOf({ ...r, n: Math.max(r.n, 1) });
          const padding = Math.min(p, k >> 1);
          let pooled: { output: Tensor; indices: Tensor };
          try {
            pooled = maxPool2d(x, { kernelSize: k, stride: s, padding, ceilMode, returnIndices: true });
          } catch {
            return; // window larger than the input: nothing to unpool
          }
          const [ph, pw] = pooled.output.shape.slice(-2);
          const def = [(ph - 1) * s + k - 2 * padding, (pw - 1) * s + k - 2 * padding];
          const outputSize = delta ? [def[0] + delta[0], def[1] + delta[1]] : undefined;
          const opts = { kernelSize: k, stride: s, padding, outputSize };
          await agree(torch, 'max_unpool2d', { x: pooled.output, indices: pooled.indices, ...opts }, () => ({
            output: maxUnpool2d(pooled.output, pooled.indices, opts),
          }));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

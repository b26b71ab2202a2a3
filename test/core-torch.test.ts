import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randn, sigmoid, sum, Generator, type Tensor } from '../src';
import { expectClose, loadFixture } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchWorker } from './helpers/torch';

interface CoreCase {
  op: 'sum' | 'sigmoid';
  x: Tensor;
  dim?: number;
  expected: Tensor;
}

// float32 sums accumulate in float64 here and in float32 (pairwise) in torch: a few ulps.
const SUM_TOL = { rtol: 1e-5, atol: 1e-5 };
const SIGMOID_TOL = { rtol: 2e-7, atol: 1e-7 };

describe('tensor core vs torch fixtures', () => {
  const { cases } = loadFixture<CoreCase>('core');
  it.each(cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    if (c.op === 'sum') expectClose(sum(c.x, { dim: c.dim }), c.expected, SUM_TOL);
    else expectClose(sigmoid(c.x), c.expected, SIGMOID_TOL);
  });
});

describe.skipIf(!hasTorch)(`tensor core vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  it('sum over random shapes and dims matches torch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer(), async (shape, d, seed) => {
        const x = randn(shape, { generator: new Generator(seed) });
        const dim = d % shape.length;
        const expected = await torch.call<Tensor>('core.sum', { x, dim });
        expectClose(sum(x, { dim }), expected, SUM_TOL);
        expect(expected.dtype).toBe('float32');
      }),
      { numRuns: 100 },
    );
  });
});

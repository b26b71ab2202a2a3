import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnchorGenerator, BoxCoder, tensor, Tensor, VisionOpsError, type DType } from '../src';
import { expectClose, loadFixture, type Tolerance } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchWorker } from './helpers/torch';

type Args = Record<string, unknown>;

const coder = (a: Args) => new BoxCoder({ weights: a.weights as [number, number, number, number], bboxXformClip: a.bbox_xform_clip as number | undefined });

const OPS: Record<string, (a: Args) => Tensor> = {
  anchor_generator: (a) =>
    new AnchorGenerator({ sizes: a.sizes as number[][], aspectRatios: a.aspect_ratios as number[][] }).generate(
      a.image_size as [number, number],
      a.feature_map_sizes as [number, number][],
      { strides: a.strides as [number, number][] | undefined, dtype: a.dtype as DType | undefined },
    ),
  box_coder_encode: (a) => coder(a).encode(a.reference_boxes as Tensor, a.proposals as Tensor),
  box_coder_decode: (a) => coder(a).decode(a.rel_codes as Tensor, a.boxes as Tensor),
};

/**
 * Anchors are exact (float32 products, round half to even, integer shifts). The coder goes
 * through torch's log/exp, within 1 ulp of fround(Math.log/exp) (float64: of Math.log/exp).
 * Encode only scales that error; decode multiplies exp(dh) by a height and subtracts half of
 * it from the centre, which can cancel, so the error is a few ulps of the largest term:
 * relative plus an absolute part proportional to the largest value in the output.
 */
function tolerance(op: string, expected: Tensor): Tolerance {
  if (op === 'anchor_generator') return { rtol: 0, atol: 0 };
  let maxAbs = 0;
  for (const v of expected.data) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  const ulp = expected.dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  return { rtol: 4 * ulp, atol: 4 * ulp * maxAbs };
}

interface AnchorCase {
  op: string;
  args: Args;
  expected: Tensor;
}

describe('anchors and box coder vs torchvision fixtures', () => {
  const { cases } = loadFixture<AnchorCase>('anchors');
  it.each(cases.map((c, i) => [`${i} ${c.op}`, c] as const))('%s', (_, c) => {
    const got = OPS[c.op](c.args);
    expect(got.dtype).toBe(c.expected.dtype);
    expectClose(got, c.expected, tolerance(c.op, c.expected), c.op);
  });
});

describe('anchor and coder contracts', () => {
  it('rejects mismatched levels, bad sizes and dtypes', () => {
    expect(() => new AnchorGenerator({ sizes: [[32], [64]], aspectRatios: [[1], [1], [2]] })).toThrow(/levels/);
    const g = new AnchorGenerator({ sizes: [[32], [64]], aspectRatios: [1] });
    expect(g.numAnchorsPerLocation()).toEqual([1, 1]);
    expect(() => g.generate([64, 64], [[8, 8]])).toThrow(/2 feature map sizes/);
    expect(() => g.generate([64, 64], [[8, 8], [4, 0]])).toThrow(VisionOpsError);
    expect(() => g.generate([64, 64], [[8, 8], [4, 4]], { strides: [[8, 8]] })).toThrow(/strides/);
    expect(() => new BoxCoder({ weights: [1, 1, 1] as unknown as [number, number, number, number] })).toThrow(/4 numbers/);
    const c = new BoxCoder({ weights: [1, 1, 1, 1] });
    expect(() => c.encode(tensor([[0, 0, 1, 1]]), tensor([[0, 0, 1, 1]], undefined, 'float64'))).toThrow(/same dtype/);
    expect(() => c.decode(tensor([[0, 0, 1]]), tensor([[0, 0, 1, 1]]))).toThrow(/4 \* K/);
  });

  it('decode inverts encode (float64, no clamping)', () => {
    const box = fc.tuple(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 1, max: 50, noNaN: true }), fc.double({ min: 1, max: 50, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.tuple(box, box), { minLength: 1, maxLength: 10 }), fc.constantFrom<[number, number, number, number]>([1, 1, 1, 1], [10, 10, 5, 5]), (pairs, weights) => {
        const rows = (k: 0 | 1) => tensor(pairs.map((p) => [p[k][0], p[k][1], p[k][0] + p[k][2], p[k][1] + p[k][3]]), undefined, 'float64');
        const [gt, pr] = [rows(0), rows(1)];
        const c = new BoxCoder({ weights, bboxXformClip: Infinity });
        expectClose(c.decode(c.encode(gt, pr), pr), gt, { rtol: 1e-12, atol: 1e-10 });
      }),
      { numRuns: 100 },
    );
  });
});

describe.skipIf(!hasTorch)(`anchors and coder vs live torchvision (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  it('AnchorGenerator on random pyramids', async () => {
    const level = fc.tuple(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 }), fc.array(fc.constantFrom(0.25, 0.5, 1, 1.5, 2, 3), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }));
    await fc.assert(
      fc.asyncProperty(fc.array(level, { minLength: 1, maxLength: 3 }), fc.integer({ min: 8, max: 200 }), fc.integer({ min: 8, max: 200 }), async (levels, h, w) => {
        const args = { sizes: levels.map((l) => l[0]), aspect_ratios: levels.map((l) => l[1]), image_size: [h, w], feature_map_sizes: levels.map((l) => [l[2], l[3]]) };
        const expected = await torch.call<Tensor>('anchor_generator', args);
        expectClose(OPS.anchor_generator(args), expected, tolerance('anchor_generator', expected));
      }),
      { numRuns: 100 },
    );
  });

  it('BoxCoder encode/decode on random boxes', async () => {
    const box = fc.tuple(fc.double({ min: -50, max: 300, noNaN: true }), fc.double({ min: -50, max: 300, noNaN: true }), fc.double({ min: 0.5, max: 150, noNaN: true }), fc.double({ min: 0.5, max: 150, noNaN: true })).map(([x, y, bw, bh]) => [x, y, x + bw, y + bh]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(box, box, fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: 8, maxLength: 8 })), { minLength: 1, maxLength: 12 }),
        fc.constantFrom<[number, number, number, number]>([1, 1, 1, 1], [10, 10, 5, 5], [2, 3, 0.5, 1]),
        fc.constantFrom<DType>('float32', 'float64'),
        async (rows, weights, dtype) => {
          const gt = tensor(rows.map((r) => r[0]), undefined, dtype);
          const pr = tensor(rows.map((r) => r[1]), undefined, dtype);
          const codes = tensor(rows.map((r) => r[2]), undefined, dtype);
          const enc = await torch.call<Tensor>('box_coder_encode', { weights, reference_boxes: gt, proposals: pr });
          expectClose(OPS.box_coder_encode({ weights, reference_boxes: gt, proposals: pr }), enc, tolerance('encode', enc));
          const dec = await torch.call<Tensor>('box_coder_decode', { weights, rel_codes: codes, boxes: pr });
          expectClose(OPS.box_coder_decode({ weights, rel_codes: codes, boxes: pr }), dec, tolerance('decode', dec));
        },
      ),
      { numRuns: 150 },
    );
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boxArea,
  boxConvert,
  boxIou,
  clipBoxesToImage,
  completeBoxIou,
  completeBoxIouLoss,
  distanceBoxIou,
  distanceBoxIouLoss,
  generalizedBoxIou,
  generalizedBoxIouLoss,
  masksToBoxes,
  removeSmallBoxes,
  tensor,
  Tensor,
  VisionOpsError,
  type BoxFormat,
  type BoxLossOptions,
} from '../src';
import { expectClose, expectEqual, loadFixture, type Tolerance } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

type Args = Record<string, unknown>;

const b = (a: Args, k: string) => a[k] as Tensor;
const lossOpts = (a: Args): BoxLossOptions => ({ reduction: a.reduction as BoxLossOptions['reduction'], eps: a.eps as number | undefined });

/** Our function for each torchvision op name the fixtures and the worker use. */
const OPS: Record<string, (a: Args) => Tensor> = {
  box_area: (a) => boxArea(b(a, 'boxes')),
  box_convert: (a) => boxConvert(b(a, 'boxes'), a.in_fmt as BoxFormat, a.out_fmt as BoxFormat),
  clip_boxes_to_image: (a) => clipBoxesToImage(b(a, 'boxes'), a.size as [number, number]),
  remove_small_boxes: (a) => removeSmallBoxes(b(a, 'boxes'), a.min_size as number),
  masks_to_boxes: (a) => masksToBoxes(b(a, 'masks')),
  box_iou: (a) => boxIou(b(a, 'boxes1'), b(a, 'boxes2')),
  generalized_box_iou: (a) => generalizedBoxIou(b(a, 'boxes1'), b(a, 'boxes2')),
  distance_box_iou: (a) => distanceBoxIou(b(a, 'boxes1'), b(a, 'boxes2'), { eps: a.eps as number | undefined }),
  complete_box_iou: (a) => completeBoxIou(b(a, 'boxes1'), b(a, 'boxes2'), { eps: a.eps as number | undefined }),
  generalized_box_iou_loss: (a) => generalizedBoxIouLoss(b(a, 'boxes1'), b(a, 'boxes2'), lossOpts(a)),
  distance_box_iou_loss: (a) => distanceBoxIouLoss(b(a, 'boxes1'), b(a, 'boxes2'), lossOpts(a)),
  complete_box_iou_loss: (a) => completeBoxIouLoss(b(a, 'boxes1'), b(a, 'boxes2'), lossOpts(a)),
};

/**
 * Everything is evaluated in torch's operation order with float32 rounding after each
 * step, so most ops are bit-exact. Exceptions: atan (complete IoU: torch's float32 atan
 * and fround(Math.atan) differ by up to 1 ulp, amplified by the later subtraction) and the
 * reduced losses (torch sums float32 pairwise, we sum in float64).
 */
function tolerance(op: string, args: Args): Tolerance {
  const reduced = args.reduction === 'mean' || args.reduction === 'sum';
  if (op.startsWith('complete')) return { rtol: 1e-5, atol: 2e-6 };
  if (reduced) return { rtol: 1e-6, atol: 1e-6 };
  return { rtol: 0, atol: 0 };
}

function compare(op: string, args: Args, got: Tensor, expected: Tensor): void {
  expect(got.dtype, `${op} dtype`).toBe(expected.dtype);
  if (expected.dtype === 'int32') expectEqual(got, expected, op);
  else expectClose(got, expected, tolerance(op, args), op);
}

interface BoxCase {
  op: string;
  args: Args;
  expected?: Tensor;
  error?: string;
}

describe('box ops vs torchvision fixtures', () => {
  const { cases } = loadFixture<BoxCase>('boxes');
  it.each(cases.map((c, i) => [`${i} ${c.op}`, c] as const))('%s', (_, c) => {
    if (c.error) expect(() => OPS[c.op](c.args)).toThrow(VisionOpsError);
    else compare(c.op, c.args, OPS[c.op](c.args), c.expected!);
  });
});

describe('box op contracts', () => {
  it('rejects bad shapes, dtypes and formats with typed errors', () => {
    expect(() => boxArea(tensor([1, 2, 3, 4]))).toThrow(/\[N, 4\]/);
    expect(() => boxIou(tensor([[0, 0, 1, 1]]), tensor([[0, 0, 1]]))).toThrow(/boxes2/);
    expect(() => boxArea(tensor([[0, 0, 1, 1]], undefined, 'uint8'))).toThrow(VisionOpsError);
    expect(() => boxConvert(tensor([[0, 0, 1, 1]]), 'xyxy', 'xyz' as BoxFormat)).toThrow(/unsupported/);
    expect(() => clipBoxesToImage(tensor([[0, 0, 1, 1]], undefined, 'int32'), [2.5, 3])).toThrow(/integer/);
    expect(() => generalizedBoxIouLoss(tensor([[0, 0, 1, 1]]), tensor([[0, 0, 1, 1], [0, 0, 2, 2]]))).toThrow(/same shape/);
    expect(() => generalizedBoxIouLoss(tensor([[0, 0, 1, 1]]), tensor([[0, 0, 1, 1]]), { reduction: 'avg' as 'mean' })).toThrow(/reduction/);
    expect(() => masksToBoxes(tensor([[[0, 0], [0, 0]]]))).toThrow(/no non-zero/);
  });

  it('a one-pixel mask gives an inclusive box [c, r, c, r]', () => {
    const m = new Uint8Array(5 * 6);
    m[2 * 6 + 4] = 1;
    expect(masksToBoxes(new Tensor(m, [1, 5, 6], 'uint8')).toArray()).toEqual([[4, 2, 4, 2]]);
  });
});

// ---------------------------------------------------------------------------
// Properties

const coord = fc.float({ min: -50, max: 150, noNaN: true });
const size = fc.float({ min: Math.fround(0.5), max: 80, noNaN: true });
const boxArb = fc.tuple(coord, coord, size, size).map(([x, y, w, h]) => [x, y, Math.fround(x + w), Math.fround(y + h)]);
const boxesArb = (min: number, max: number) => fc.array(boxArb, { minLength: min, maxLength: max }).map((a) => tensor(a.length ? a : [], [a.length, 4]));

function at(t: Tensor, i: number, j: number): number {
  return t.data[i * t.shape[1] + j];
}

describe('box properties', () => {
  it('IoU matrices are symmetric, in [0, 1], 1 on the diagonal; GIoU <= IoU; DIoU <= IoU', () => {
    fc.assert(
      fc.property(boxesArb(1, 12), (bs) => {
        const iou = boxIou(bs, bs);
        const giou = generalizedBoxIou(bs, bs);
        const diou = distanceBoxIou(bs, bs);
        const n = bs.shape[0];
        for (let i = 0; i < n; i++) {
          expect(at(iou, i, i)).toBe(1);
          for (let j = 0; j < n; j++) {
            const v = at(iou, i, j);
            expect(v).toBe(at(iou, j, i));
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(1);
            // Equal mathematically when the enclosing box is the union; float32 rounding of
            // the two areas can put GIoU/DIoU an ulp or two above IoU.
            expect(at(giou, i, j)).toBeLessThanOrEqual(v + 3e-7);
            expect(at(giou, i, j)).toBeGreaterThanOrEqual(-1);
            expect(at(diou, i, j)).toBeLessThanOrEqual(v + 3e-7);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('IoU losses are >= 0 and 0 for identical boxes', () => {
    const losses = [generalizedBoxIouLoss, distanceBoxIouLoss, completeBoxIouLoss];
    fc.assert(
      fc.property(boxesArb(1, 10), boxesArb(10, 10), (a, other) => {
        const bb = other.narrow(0, 0, a.shape[0]);
        for (const loss of losses) {
          for (const v of loss(a, bb).data) expect(v).toBeGreaterThanOrEqual(0);
          // eps = 1e-7 in a float32 denominator leaves at most a few ulps above 0.
          for (const v of loss(a, a).data) expect(Math.abs(v)).toBeLessThan(1e-6);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('boxConvert round-trips through every format', () => {
    const fmts: BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
    fc.assert(
      fc.property(boxesArb(0, 8), fc.constantFrom(...fmts), (bs, fmt) => {
        const back = boxConvert(boxConvert(bs.to('float64'), 'xyxy', fmt), fmt, 'xyxy');
        expectClose(back, bs.to('float64'), { rtol: 1e-12, atol: 1e-12 });
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------
// Differential: random cases against live torchvision

describe.skipIf(!hasTorch)(`box ops vs live torchvision (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  async function check(op: string, args: Args): Promise<void> {
    let expected: Tensor | undefined;
    try {
      expected = await torch.call<Tensor>(op, args);
    } catch (e) {
      if (!(e instanceof TorchError)) throw e;
    }
    if (expected === undefined) expect(() => OPS[op](args)).toThrow(VisionOpsError);
    else compare(op, args, OPS[op](args), expected);
  }

  // Integer-valued coordinates on a small grid make exact ties, touching and identical boxes common.
  const gridBox = fc
    .tuple(fc.integer({ min: -3, max: 8 }), fc.integer({ min: -3, max: 8 }), fc.integer({ min: -2, max: 6 }), fc.integer({ min: -2, max: 6 }))
    .map(([x, y, w, h]) => [x, y, x + w, y + h]);
  const anyBoxes = fc.oneof(
    boxesArb(0, 9),
    fc.array(gridBox, { maxLength: 9 }).map((a) => tensor(a.length ? a : [], [a.length, 4])),
    fc.array(gridBox, { maxLength: 9 }).map((a) => tensor(a.length ? a : [], [a.length, 4], 'int32')),
    boxesArb(0, 9).map((t) => t.to('float64')),
  );

  it.each(['box_iou', 'generalized_box_iou', 'distance_box_iou', 'complete_box_iou'])('%s on random box sets', async (op) => {
    await fc.assert(fc.asyncProperty(anyBoxes, anyBoxes, (b1, b2) => check(op, { boxes1: b1, boxes2: b2 })), { numRuns: 150 });
  });

  it.each(['generalized_box_iou_loss', 'distance_box_iou_loss', 'complete_box_iou_loss'])('%s on random pairs', async (op) => {
    await fc.assert(
      fc.asyncProperty(anyBoxes, anyBoxes, fc.constantFrom('none', 'mean', 'sum'), async (b1, b2, reduction) => {
        const n = Math.min(b1.shape[0], b2.shape[0]);
        const x = b1.narrow(0, 0, n);
        const y = b2.narrow(0, 0, n).to(x.dtype);
        await check(op, { boxes1: x, boxes2: y, reduction });
      }),
      { numRuns: 150 },
    );
  });

  it('box_convert, box_area, clip, remove_small_boxes on random boxes', async () => {
    const fmts: BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
    await fc.assert(
      fc.asyncProperty(anyBoxes, fc.constantFrom(...fmts), fc.constantFrom(...fmts), fc.integer({ min: 0, max: 8 }), async (bs, fi, fo, m) => {
        await check('box_convert', { boxes: bs, in_fmt: fi, out_fmt: fo });
        await check('box_area', { boxes: bs });
        await check('clip_boxes_to_image', { boxes: bs, size: [m + 3, 2 * m + 1] });
        await check('remove_small_boxes', { boxes: bs, min_size: m / 2 });
      }),
      { numRuns: 150 },
    );
  });

  it('masks_to_boxes on random masks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer(), async (n, h, w, seed) => {
        const m = new Uint8Array(n * h * w);
        let s = seed >>> 0;
        for (let i = 0; i < m.length; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          m[i] = s >>> 30 === 0 ? 1 : 0;
        }
        await check('masks_to_boxes', { masks: new Tensor(m, [n, h, w], 'uint8') });
      }),
      { numRuns: 100 },
    );
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Generator,
  LevelMapper,
  multiScaleRoiAlign,
  pasteMasksInImage,
  psRoiAlign,
  psRoiPool,
  rand,
  randn,
  roiAlign,
  roiPool,
  tensor,
  type RoiBoxes,
  type Tensor,
} from '../src';
import { expectClose, expectEqual } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchWorker } from './helpers/torch';

const RUNS = { numRuns: 200 };
// Same tolerances as the fixture tests (roi.test.ts): float64 sums here, float32 in torchvision.
const ALIGN_TOL = { rtol: 1e-5, atol: 2e-6 };
const AVG_TOL = { rtol: 1e-6, atol: 1e-6 };

/** Coordinates that often sit on .25/.5 boundaries (rounding, sample cut-offs) and otherwise anywhere. */
const coord = (lo: number, hi: number) => fc.oneof(fc.double({ min: lo, max: hi, noNaN: true }), fc.integer({ min: lo * 4, max: hi * 4 }).map((v) => v / 4));

interface Scene {
  x: Tensor;
  boxes: RoiBoxes;
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

/** Random maps and rois; `channelsPerBin` makes C a multiple of ph * pw for the ps ops. */
function scene(channelsPerBin: boolean): fc.Arbitrary<Scene> {
  return fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      c: fc.integer({ min: 1, max: 11 }),
      h: fc.integer({ min: 1, max: 10 }),
      w: fc.integer({ min: 1, max: 10 }),
      ph: fc.integer({ min: 1, max: 4 }),
      pw: fc.integer({ min: 1, max: 4 }),
      seed: fc.nat(),
      scale: fc.constantFrom(0.25, 0.5, 1, 1 / 16, 2, -0.5),
      samplingRatio: fc.integer({ min: -1, max: 4 }),
      aligned: fc.boolean(),
      asList: fc.boolean(),
      dtype: fc.constantFrom('float32', 'float32', 'float64'),
    })
    .chain((s) =>
      fc
        .array(fc.tuple(fc.integer({ min: 0, max: s.n - 1 }), coord(-4, s.w + 3), coord(-4, s.h + 3), coord(-2, s.w + 6), coord(-2, s.h + 6)), { minLength: 0, maxLength: 7 })
        .map((rois) => {
          const c = channelsPerBin ? s.c * s.ph * s.pw : s.c;
          const x = randn([s.n, c, s.h, s.w], { generator: new Generator(s.seed), dtype: s.dtype as 'float32' | 'float64' });
          const rows = rois.map(([b, x1, y1, w, h]) => [b, x1 / s.scale, y1 / s.scale, (x1 + w) / s.scale, (y1 + h) / s.scale]);
          const boxes: RoiBoxes = s.asList
            ? Array.from({ length: s.n }, (_, i) => tensor(rows.filter((r) => r[0] === i).flatMap((r) => r.slice(1)), undefined, s.dtype as 'float32').reshape(-1, 4))
            : tensor(rows.flat(), undefined, s.dtype as 'float32').reshape(-1, 5);
          return { x, boxes, outputSize: [s.ph, s.pw] as [number, number], spatialScale: s.scale, samplingRatio: s.samplingRatio, aligned: s.aligned };
        }),
    );
}

describe.skipIf(!hasTorch)(`RoI ops vs live torchvision (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  /** Same result as torch, or both raise. */
  async function agree(op: string, ours: () => Tensor, args: unknown, check: (got: Tensor, want: Tensor) => void): Promise<void> {
    let want: Tensor;
    try {
      want = await torch.call<Tensor>(op, args);
    } catch (e) {
      expect(ours, `torch raised ${String(e)}`).toThrow();
      return;
    }
    check(ours(), want);
  }

  const cases = [
    ['roi_align', false, (s: Scene) => roiAlign(s.x, s.boxes, s), ALIGN_TOL],
    ['roi_pool', false, (s: Scene) => roiPool(s.x, s.boxes, s), null],
    ['ps_roi_align', true, (s: Scene) => psRoiAlign(s.x, s.boxes, s), ALIGN_TOL],
    ['ps_roi_pool', true, (s: Scene) => psRoiPool(s.x, s.boxes, s), AVG_TOL],
  ] as const;

  it.each(cases)('%s matches torchvision on random maps and rois', async (op, ps, fn, tol) => {
    await fc.assert(
      fc.asyncProperty(scene(ps), async (s) => {
        await agree(op, () => fn(s), s, (got, want) => (tol ? expectClose(got, want, tol, op) : expectEqual(got, want, op)));
      }),
      RUNS,
    );
  });

  it('multi_scale_roi_align and LevelMapper match torchvision on random pyramids', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          levels: fc.integer({ min: 1, max: 4 }),
          first: fc.integer({ min: 1, max: 3 }),
          images: fc.array(fc.tuple(fc.integer({ min: 24, max: 96 }), fc.integer({ min: 24, max: 96 })), { minLength: 1, maxLength: 3 }),
          canonicalScale: fc.constantFrom(16, 32, 224),
          canonicalLevel: fc.integer({ min: 2, max: 5 }),
          samplingRatio: fc.integer({ min: -1, max: 3 }),
          outputSize: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
          boxes: fc.array(fc.array(fc.tuple(coord(-8, 100), coord(-8, 100), coord(-4, 120), coord(-4, 120)), { maxLength: 6 }), { minLength: 3, maxLength: 3 }),
        }),
        async (s) => {
          const g = new Generator(s.seed);
          const maxH = Math.max(...s.images.map(([h]) => h));
          const maxW = Math.max(...s.images.map(([, w]) => w));
          const names = Array.from({ length: s.levels }, (_, l) => `p${s.first + l}`);
          const features = names.map((name, l): [string, Tensor] => {
            const stride = 2 ** (s.first + l);
            return [name, randn([s.images.length, 2, Math.ceil(maxH / stride), Math.ceil(maxW / stride)], { generator: g })];
          });
          const boxes = s.images.map((_, i) => tensor(s.boxes[i].flatMap(([x, y, w, h]) => [x, y, x + w, y + h])).reshape(-1, 4));
          const args = { features, boxes, imageSizes: s.images, featmapNames: names, outputSize: s.outputSize, samplingRatio: s.samplingRatio, canonicalScale: s.canonicalScale, canonicalLevel: s.canonicalLevel };
          await agree('multi_scale_roi_align', () => multiScaleRoiAlign(Object.fromEntries(features), boxes, s.images, args), args, (got, want) => expectClose(got, want, ALIGN_TOL));
          const kMin = s.first;
          const mapperArgs = { boxes, kMin, kMax: kMin + s.levels - 1, canonicalScale: s.canonicalScale, canonicalLevel: s.canonicalLevel };
          const want = await torch.call<Tensor>('level_mapper', mapperArgs);
          expectEqual(new LevelMapper(kMin, kMin + s.levels - 1, s.canonicalScale, s.canonicalLevel).map(boxes), want);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('paste_masks_in_image matches torchvision on random masks and boxes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          m: fc.integer({ min: 1, max: 12 }),
          imh: fc.integer({ min: 1, max: 24 }),
          imw: fc.integer({ min: 1, max: 24 }),
          padding: fc.integer({ min: 0, max: 3 }),
          threshold: fc.option(fc.constantFrom(0.5, 0.25), { nil: undefined }),
          boxes: fc.array(fc.tuple(coord(-10, 26), coord(-10, 26), coord(0, 30), coord(0, 30)), { maxLength: 5 }),
        }),
        async (s) => {
          const masks = rand([s.boxes.length, 1, s.m, s.m], { generator: new Generator(s.seed) });
          const boxes = tensor(s.boxes.flatMap(([x, y, w, h]) => [x, y, x + w, y + h])).reshape(-1, 4);
          const args = { masks, boxes, imageShape: [s.imh, s.imw] as [number, number], padding: s.padding, threshold: s.threshold };
          let want: Tensor;
          try {
            want = await torch.call<Tensor>('paste_masks_in_image', args);
          } catch {
            // torchvision's negative slice bounds: only boxes lying outside the image fail there.
            const b = boxes.data;
            const outside = s.boxes.some((_, i) => b[4 * i] > s.imw - 3 || b[4 * i + 1] > s.imh - 3 || b[4 * i + 2] < 3 || b[4 * i + 3] < 3);
            expect(outside).toBe(true);
            return;
          }
          const got = pasteMasksInImage(masks, boxes, args.imageShape, args);
          if (s.threshold === undefined) expectClose(got, want, { rtol: 0, atol: 3e-7 });
          else expectEqual(got, want);
        },
      ),
      { numRuns: 200 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Generator, IndexError, ones, randn, psRoiAlign, psRoiPool, roiAlign, roiPool, ShapeError, tensor, ValueError, VisionOpsError, zeros, type RoiBoxes, type Tensor } from '../src';
import { expectClose, expectEqual, loadFixture } from './helpers/fixtures';

interface RoiCase {
  op: string;
  x: Tensor;
  boxes: RoiBoxes;
  outputSize: number | [number, number];
  spatialScale: number;
  samplingRatio?: number;
  aligned?: boolean;
  expected?: Tensor;
  error?: string;
}

/**
 * torchvision accumulates each bin in float32; we sum in float64 and round once,
 * so results differ by a few float32 ulps of the bin's sum of |terms| (inputs
 * here are unit-scale normals, sums of at most a few hundred samples).
 */
const ALIGN_TOL = { rtol: 1e-5, atol: 2e-6 };
/** ps_roi_pool averages in float64 here, float32 in torchvision. */
const AVG_TOL = { rtol: 1e-6, atol: 1e-6 };

const ops = {
  roi_align: (c: RoiCase) => roiAlign(c.x, c.boxes, c),
  roi_pool: (c: RoiCase) => roiPool(c.x, c.boxes, c),
  ps_roi_align: (c: RoiCase) => psRoiAlign(c.x, c.boxes, c),
  ps_roi_pool: (c: RoiCase) => psRoiPool(c.x, c.boxes, c),
} as const;

const { cases } = loadFixture<RoiCase>('roi');

describe.each(Object.keys(ops) as (keyof typeof ops)[])('%s vs torchvision 0.14 fixtures', (op) => {
  const mine = cases.filter((c) => c.op === op);
  it('has cases', () => expect(mine.length).toBeGreaterThan(10));
  it.each(mine.map((c, i) => [i, c] as const))('case %i', (i, c) => {
    const label = `${op} case ${i} (out ${JSON.stringify(c.outputSize)}, scale ${c.spatialScale}, sr ${c.samplingRatio}, aligned ${c.aligned})`;
    if (c.error) {
      expect(() => ops[op](c), label).toThrow(VisionOpsError);
      return;
    }
    const got = ops[op](c);
    expect(got.dtype).toBe(c.expected!.dtype);
    if (op === 'roi_pool') expectEqual(got, c.expected!, label);
    else expectClose(got, c.expected!, op === 'ps_roi_pool' ? AVG_TOL : ALIGN_TOL, label);
  });
});

describe('RoI argument checks', () => {
  const x = zeros([2, 4, 5, 6]);
  const rois = tensor([[0, 0, 0, 3, 3]]);
  it('rejects an out-of-range batch index', () => {
    expect(() => roiAlign(x, tensor([[2, 0, 0, 3, 3]]), { outputSize: 2 })).toThrow(IndexError);
    expect(() => roiPool(x, tensor([[-1, 0, 0, 3, 3]]), { outputSize: 2 })).toThrow(IndexError);
    expect(() => roiAlign(x, [zeros([1, 4]), zeros([1, 4]), zeros([1, 4])], { outputSize: 2 })).toThrow(/batch size 2/);
  });
  it('truncates a fractional batch index like a C int cast', () => {
    const y = tensor([[[[1]]], [[[2]]]]);
    expect(roiPool(y, tensor([[1.9, 0, 0, 0, 0], [-0.5, 0, 0, 0, 0]]), { outputSize: 1 }).toArray()).toEqual([[[[2]]], [[[1]]]]);
  });
  it('checks box shapes and input rank', () => {
    expect(() => roiAlign(x, tensor([[0, 0, 3, 3]]), { outputSize: 2 })).toThrow(ShapeError);
    expect(() => roiAlign(x, [tensor([[0, 0, 0, 3, 3]])], { outputSize: 2 })).toThrow(/List\[Tensor\[L, 4\]\]/);
    expect(() => roiAlign(zeros([4, 5, 6]), rois, { outputSize: 2 })).toThrow(ShapeError);
    expect(() => roiAlign(x, [], { outputSize: 2 })).toThrow(ValueError);
  });
  it('checks options', () => {
    expect(() => roiAlign(x, rois, { outputSize: 0 })).toThrow(ValueError);
    expect(() => roiAlign(x, rois, { outputSize: [2, 2.5] as unknown as [number, number] })).toThrow(/output_size/);
    expect(() => roiAlign(x, rois, { outputSize: 2, samplingRatio: 1.5 })).toThrow(/sampling_ratio/);
    expect(() => roiAlign(x, rois, { outputSize: 2, spatialScale: NaN })).toThrow(/spatial_scale/);
    expect(() => roiAlign(x, rois, {} as never)).toThrow(/output_size/);
    expect(() => psRoiAlign(x, rois, { outputSize: 3 })).toThrow(/multiple of pooling height \* pooling width/);
    expect(() => psRoiPool(x, rois, { outputSize: [1, 3] })).toThrow(ValueError);
  });
  it('rejects non-finite and integer boxes', () => {
    expect(() => roiAlign(x, tensor([[0, NaN, 0, 3, 3]]), { outputSize: 2 })).toThrow(/finite/);
    expect(() => roiPool(x, tensor([[0, 0, 0, Infinity, 3]]), { outputSize: 2 })).toThrow(/finite/);
    expect(() => roiAlign(x, tensor([[0, 0, 0, 3, 3]], undefined, 'int32'), { outputSize: 2 })).toThrow(/float32 or float64/);
  });
  it('refuses rois whose adaptive grid would not fit an int, instead of hanging', () => {
    expect(() => roiAlign(x, tensor([[0, 0, 0, 1e12, 3]]), { outputSize: 2 })).toThrow(/sampling_ratio/);
    expect(() => roiAlign(x, rois, { outputSize: 2, samplingRatio: 2 ** 30 })).toThrow(/int range/);
    expect(() => roiPool(x, tensor([[0, 0, 0, 1e12, 3]]), { outputSize: 2 })).toThrow(/int range/);
  });
  it('gives the same result for a roi alone or among others (weight tables chunked by map size)', () => {
    // 140 * 8001 table entries per roi: one roi per chunk.
    const x = randn([2, 3, 8000, 3], { generator: new Generator(5) });
    const rows = [[0, 0, 10, 2, 7000], [1, -1, 3.5, 3, 20], [0, 0.5, 7990, 2.5, 8003]];
    const opts = { outputSize: [140, 2] as [number, number], samplingRatio: 2 };
    const all = roiAlign(x, tensor(rows), opts);
    rows.forEach((r, k) => expectEqual(all.select(0, k), roiAlign(x, tensor([r]), opts).select(0, 0)));
  });
  it('handles a huge roi with adaptive sampling in time linear in its grid', () => {
    // 1e6 x 1e6 samples per bin; only those within one pixel of the 5 x 6 map count.
    const y = roiAlign(ones([1, 1, 5, 6]), tensor([[0, -1e6, -1e6, 1e6, 1e6]]), { outputSize: 2 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    for (const v of y.data) expect(v).toBeGreaterThan(0), expect(v).toBeLessThan(1e-10);
  });
});

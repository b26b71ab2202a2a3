import { describe, expect, it } from 'vitest';
import { LevelMapper, multiScaleRoiAlign, resolveMultiScaleRoiAlign, roiAlign, selectFeatures, tensor, ValueError, zeros, type Tensor } from '../src';
import { expectClose, expectEqual, loadFixture } from './helpers/fixtures';

interface MultiScaleCase {
  op: 'multi_scale_roi_align';
  features: [string, Tensor][];
  boxes: Tensor[];
  imageSizes: [number, number][];
  featmapNames: string[];
  outputSize: number | [number, number];
  samplingRatio: number;
  canonicalScale?: number;
  canonicalLevel?: number;
  expected: Tensor;
}

interface LevelCase {
  op: 'level_mapper';
  boxes: Tensor[];
  kMin: number;
  kMax: number;
  canonicalScale?: number;
  canonicalLevel?: number;
  expected: Tensor;
}

// As roi.test.ts: float64 sums here, float32 in torchvision.
const ALIGN_TOL = { rtol: 1e-5, atol: 2e-6 };

const { cases } = loadFixture<MultiScaleCase | LevelCase>('roi');

describe('multiScaleRoiAlign vs torchvision MultiScaleRoIAlign', () => {
  const mine = cases.filter((c): c is MultiScaleCase => c.op === 'multi_scale_roi_align');
  it('has cases', () => expect(mine.length).toBeGreaterThanOrEqual(5));
  it.each(mine.map((c, i) => [i, c] as const))('case %i', (i, c) => {
    const features = Object.fromEntries(c.features);
    expectClose(multiScaleRoiAlign(features, c.boxes, c.imageSizes, c), c.expected, ALIGN_TOL, `case ${i}`);
  });
});

describe('LevelMapper vs torchvision', () => {
  const mine = cases.filter((c): c is LevelCase => c.op === 'level_mapper');
  it('has cases', () => expect(mine.length).toBeGreaterThanOrEqual(3));
  it.each(mine.map((c, i) => [i, c] as const))('case %i', (i, c) => {
    expectEqual(new LevelMapper(c.kMin, c.kMax, c.canonicalScale, c.canonicalLevel).map(c.boxes), c.expected, `case ${i}`);
  });
});

describe('multiScaleRoiAlign arguments', () => {
  const f = { a: zeros([1, 2, 16, 16]), b: zeros([1, 2, 8, 8]) };
  const boxes = [tensor([[0, 0, 10, 10]])];
  it('uses the record order and featmapNames as a filter', () => {
    expect(selectFeatures(f, ['b', 'a']).names).toEqual(['a', 'b']);
    expect(selectFeatures([f.a, f.b], ['1']).maps).toEqual([f.b]);
    expect(() => selectFeatures(f)).toThrow(/featmapNames/);
  });
  it('infers scales and levels from the largest image height', () => {
    const plan = resolveMultiScaleRoiAlign([f.a.shape, f.b.shape], boxes, [[64, 64], [60, 70]], { outputSize: 2, samplingRatio: 2 });
    expect(plan.scales).toEqual([0.25, 0.125]);
    expect([plan.kMin, plan.kMax]).toEqual([2, 3]);
    expect(plan.outShape).toEqual([1, 2, 2, 2]);
  });
  it('pools from one map like roiAlign with the inferred scale', () => {
    const x = tensor(Array.from({ length: 2 * 16 * 16 }, (_, i) => Math.sin(i)), [1, 2, 16, 16]);
    const got = multiScaleRoiAlign([x], boxes, [[32, 32]], { outputSize: 3, samplingRatio: 2 });
    expectEqual(got, roiAlign(x, boxes, { outputSize: 3, spatialScale: 0.5, samplingRatio: 2 }));
  });
  it('rejects bad arguments', () => {
    expect(() => multiScaleRoiAlign(f, boxes, [], { featmapNames: ['a'], outputSize: 2, samplingRatio: 2 })).toThrow(/images list should not be empty/);
    expect(() => multiScaleRoiAlign(f, boxes, [[64, 64]], { featmapNames: ['zz'], outputSize: 2, samplingRatio: 2 })).toThrow(ValueError);
    expect(() => multiScaleRoiAlign({ a: f.a, c: zeros([1, 3, 8, 8]) }, boxes, [[64, 64]], { featmapNames: ['a', 'c'], outputSize: 2, samplingRatio: 2 })).toThrow(/same number of channels/);
    expect(() => multiScaleRoiAlign(f, [tensor([[0, 0, 1, 1]]), tensor([[0, 0, 1, 1]])], [[64, 64]], { featmapNames: ['a'], outputSize: 2, samplingRatio: 2 })).toThrow(/batch size 1/);
  });
});

import { describe, expect, it } from 'vitest';
import { pasteMasksInImage, resolvePasteMasks, ShapeError, tensor, ones, type Tensor } from '../src';
import { expectClose, expectEqual, loadFixture } from './helpers/fixtures';

interface PasteCase {
  op: 'paste_masks_in_image';
  masks: Tensor;
  boxes: Tensor;
  imageShape: [number, number];
  padding: number;
  threshold?: number;
  expected: Tensor;
}

// Taps and float32 weights match torch exactly; torch sums the four taps in float32, we in float64: a few ulps of values in [0, 1].
const PASTE_TOL = { rtol: 0, atol: 3e-7 };

describe('pasteMasksInImage vs torchvision paste_masks_in_image', () => {
  const { cases } = loadFixture<PasteCase>('roi');
  const mine = cases.filter((c) => c.op === 'paste_masks_in_image');
  it('has cases', () => expect(mine.length).toBeGreaterThanOrEqual(8));
  it.each(mine.map((c, i) => [i, c] as const))('case %i', (i, c) => {
    const got = pasteMasksInImage(c.masks, c.boxes, c.imageShape, c);
    if (c.threshold !== undefined) expectEqual(got, c.expected, `case ${i}`);
    else expectClose(got, c.expected, PASTE_TOL, `case ${i}`);
  });
});

describe('pasteMasksInImage semantics', () => {
  it('expands boxes by (M + 2p) / M and truncates toward zero', () => {
    const plan = resolvePasteMasks([2, 1, 4, 4], tensor([[1.0, 2.0, 9.0, 6.0], [-3.3, -1.0, 0.0, 0.4]]), [10, 10], { padding: 1 });
    // scale 6/4: half sizes 6 and 3 around (5, 4); second box: 2.475 and 1.05 around (-1.65, -0.3)
    expect(Array.from(plan.boxes)).toEqual([-1, 1, 11, 7, -4, -1, 0, 0]);
  });
  it('pastes nothing for boxes wholly outside the image (torchvision raises on some)', () => {
    const got = pasteMasksInImage(ones([2, 1, 3, 3]), tensor([[-20, -20, -10, -10], [50, 50, 60, 60]]), [8, 9]);
    expect(got.shape).toEqual([2, 1, 8, 9]);
    expect(Array.from(got.data).every((v) => v === 0)).toBe(true);
  });
  it('accepts [N, M, M] masks like [N, 1, M, M]', () => {
    const m = tensor(Array.from({ length: 2 * 16 }, (_, i) => (i % 7) / 7), [2, 4, 4]);
    const boxes = tensor([[1, 1, 6, 5], [0, 2, 3, 7]]);
    expectEqual(pasteMasksInImage(m, boxes, [8, 8]), pasteMasksInImage(m.reshape(2, 1, 4, 4), boxes, [8, 8]));
  });
  it('checks shapes', () => {
    expect(() => pasteMasksInImage(ones([2, 1, 3, 3]), ones([3, 4]), [5, 5])).toThrow(ShapeError);
    expect(() => pasteMasksInImage(ones([2, 2, 3, 3]), ones([2, 4]), [5, 5])).toThrow(ShapeError);
    expect(() => pasteMasksInImage(ones([1, 1, 3, 3]), ones([1, 4]), [5, 5], { padding: -1 })).toThrow(/padding/);
  });
});

// pycocotools reference vectors (test/fixtures/coco/mask, copied from the shared
// reference set): every value must match exactly, floats included (the C code
// computes each IoU with one division, which JS reproduces bit for bit).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  area,
  decode,
  encode,
  frPyObjects,
  iou,
  merge,
  rleDecode,
  rleEncode,
  rleFromObject,
  toBbox,
  type RLE,
  type UncompressedRLE,
} from '../src/coco/mask';
import { Tensor } from '../src/tensor/tensor';

interface MaskIn {
  h: number;
  w: number;
  bits_b64: string;
}

function load<T>(name: string): { cases: T[] } {
  return JSON.parse(readFileSync(new URL(`./fixtures/coco/mask/${name}.json`, import.meta.url), 'utf8'));
}

/** Row-major 0/1 bytes of a fixture mask (numpy packbits, big bit order). */
function unpackRowMajor(m: MaskIn): Uint8Array {
  const bytes = Buffer.from(m.bits_b64, 'base64');
  const out = new Uint8Array(m.h * m.w);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

function toColumnMajor(rm: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y + x * h] = rm[y * w + x];
  return out;
}

/** Index of the first differing byte, -1 if equal (vitest's deep equality is slow on megapixel arrays). */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Row-major bytes of a decoded Tensor mask (read through its strides). */
function rowMajor(t: Tensor): Uint8Array {
  return t.contiguous().data as Uint8Array;
}

describe('encode.json', () => {
  const { cases } = load<{
    name: string;
    mask: MaskIn;
    expected: { rle: RLE; ucounts: number[]; area: number; bbox: number[] };
  }>('encode');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const { h, w } = c.mask;
    const rm = unpackRowMajor(c.mask);
    const cm = toColumnMajor(rm, h, w);
    const rle = encode({ data: cm, height: h, width: w });
    expect(rle).toEqual(c.expected.rle);
    // the same mask as a row-major Tensor: encode follows its strides
    expect(encode(new Tensor(rm, [h, w], 'uint8'))).toEqual(c.expected.rle);
    expect(Array.from(rleEncode(cm, h, w).cnts)).toEqual(c.expected.ucounts);
    expect(area(rle)).toBe(c.expected.area);
    expect(toBbox(rle)).toEqual(c.expected.bbox);
    const dec = decode(c.expected.rle);
    expect(dec.shape).toEqual([h, w]);
    expect(firstDiff(rowMajor(dec), rm)).toBe(-1);
    expect(frPyObjects({ size: [h, w], counts: c.expected.ucounts }, h, w)).toEqual(c.expected.rle);
  });

  it('encodes [H, W, N] tensors and decodes lists to [H, W, N]', () => {
    const sel = cases.filter((c) => c.mask.h === 10 && c.mask.w === 10);
    expect(sel.length).toBeGreaterThan(1);
    const n = sel.length;
    const data = new Uint8Array(100 * n);
    sel.forEach((c, k) => data.set(toColumnMajor(unpackRowMajor(c.mask), 10, 10), 100 * k));
    const stack = new Tensor(data, [10, 10, n], 'uint8', [1, 10, 100]);
    const rles = encode(stack) as RLE[];
    expect(rles).toEqual(sel.map((c) => c.expected.rle));
    const dec = decode(rles);
    expect(dec.shape).toEqual([10, 10, n]);
    expect(dec.strides).toEqual([1, 10, 100]);
    expect(firstDiff(dec.data, data)).toBe(-1);
    expect(area(rles)).toEqual(sel.map((c) => c.expected.area));
    expect(toBbox(rles)).toEqual(sel.map((c) => c.expected.bbox));
  });
});

describe('uncompressed.json', () => {
  const { cases } = load<{
    name: string;
    input: UncompressedRLE;
    h: number;
    w: number;
    expected: { rle: RLE; area: number; bbox: number[]; decoded?: MaskIn; reencoded_counts?: string };
  }>('uncompressed');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const rle = frPyObjects(c.input, c.h, c.w);
    expect(rle).toEqual(c.expected.rle);
    expect(frPyObjects([c.input], c.h, c.w)).toEqual([c.expected.rle]);
    expect(area(rle)).toBe(c.expected.area);
    expect(toBbox(rle)).toEqual(c.expected.bbox);
    if (c.expected.decoded) {
      const dec = decode(rle);
      expect(firstDiff(rowMajor(dec), unpackRowMajor(c.expected.decoded))).toBe(-1);
      expect(encode(dec)).toEqual({ size: rle.size, counts: c.expected.reencoded_counts });
    } else {
      // too large to ship the decoded mask: check the runs decode to the right area
      const R = rleFromObject(rle);
      let ones = 0;
      for (const v of rleDecode(R)) ones += v;
      expect(ones).toBe(c.expected.area);
    }
  });
});

describe('polygons.json', () => {
  const { cases } = load<{
    name: string;
    h: number;
    w: number;
    polygons: number[][];
    expected: { rles: RLE[]; areas: number[]; bboxes: number[][]; merged: RLE; merged_area: number; merged_bbox: number[] };
  }>('polygons');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const rles = frPyObjects(c.polygons, c.h, c.w);
    expect(rles).toEqual(c.expected.rles);
    expect(area(rles)).toEqual(c.expected.areas);
    expect(toBbox(rles)).toEqual(c.expected.bboxes);
    const merged = merge(rles);
    expect(merged).toEqual(c.expected.merged);
    expect(area(merged)).toBe(c.expected.merged_area);
    expect(toBbox(merged)).toEqual(c.expected.merged_bbox);
  });
});

describe('bboxes.json', () => {
  const { cases } = load<{
    name: string;
    h: number;
    w: number;
    boxes: number[][];
    expected: { rles: RLE[]; areas: number[]; bboxes: number[][] };
  }>('bboxes');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const rles = frPyObjects(c.boxes, c.h, c.w);
    expect(rles).toEqual(c.expected.rles);
    expect(frPyObjects(Float64Array.from(c.boxes.flat()), c.h, c.w)).toEqual(c.expected.rles);
    expect(area(rles)).toEqual(c.expected.areas);
    expect(toBbox(rles)).toEqual(c.expected.bboxes);
  });
});

describe('iou_rle.json', () => {
  const { cases } = load<{ name: string; dt: RLE[]; gt: RLE[]; iscrowd: number[]; expected: { iou: number[][] } }>('iou_rle');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    expect(iou(c.dt, c.gt, c.iscrowd)).toEqual(c.expected.iou);
  });
});

describe('iou_bbox.json', () => {
  const { cases } = load<{ name: string; dt: number[][]; gt: number[][]; iscrowd: number[]; expected: { iou: number[][] } }>('iou_bbox');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    expect(iou(c.dt, c.gt, c.iscrowd)).toEqual(c.expected.iou);
    expect(iou(Float64Array.from(c.dt.flat()), Float64Array.from(c.gt.flat()), c.iscrowd)).toEqual(c.expected.iou);
  });
});

describe('merge.json', () => {
  const { cases } = load<{ name: string; rles: RLE[]; intersect: number; expected: { rle: RLE; area: number; bbox: number[] } }>('merge');
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const m = merge(c.rles, c.intersect);
    expect(m).toEqual(c.expected.rle);
    expect(area(m)).toBe(c.expected.area);
    expect(toBbox(m)).toEqual(c.expected.bbox);
  });
});

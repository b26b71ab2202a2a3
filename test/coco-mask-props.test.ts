// Properties of the mask API on random masks, a differential check of the
// windowed polygon walk against a direct port of maskApi.c's point-by-point
// walk, and bad-input fuzzing (clear ValueError/ShapeError, never a hang).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  area,
  binaryMaskToRle,
  columnMajorToRowMajor,
  decode,
  encode,
  frPyObjects,
  iou,
  maskFromImageData,
  merge,
  rleDecode,
  rleFrBbox,
  rleFrPoly,
  rleFrString,
  rleToString,
  rowMajorToColumnMajor,
  toBbox,
  type RLE,
} from '../src/coco/mask';
import { ShapeError, ValueError, VisionOpsError } from '../src/tensor/errors';

/** A random column-major mask with runs (biased coin flips give long runs, like real masks). */
const maskArb = fc
  .record({ h: fc.integer({ min: 0, max: 12 }), w: fc.integer({ min: 0, max: 12 }), p: fc.double({ min: 0, max: 1, noNaN: true }) })
  .chain(({ h, w, p }) =>
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: h * w, maxLength: h * w }).map((r) => {
      const data = new Uint8Array(h * w);
      let v = 0;
      for (let i = 0; i < data.length; i++) {
        if (r[i] < p * 0.5) v ^= 1;
        data[i] = v;
      }
      return { data, height: h, width: w };
    }),
  );

/** Two or three masks of one size. */
const masksArb = fc
  .record({ h: fc.integer({ min: 1, max: 10 }), w: fc.integer({ min: 1, max: 10 }), n: fc.integer({ min: 2, max: 3 }) })
  .chain(({ h, w, n }) =>
    fc.array(fc.uint8Array({ minLength: h * w, maxLength: h * w, max: 1 }), { minLength: n, maxLength: n }).map((ds) =>
      ds.map((data) => ({ data, height: h, width: w })),
    ),
  );

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function colMajorOf(rle: RLE): Uint8Array {
  return decode(rle).data as Uint8Array;
}

describe('properties', () => {
  it('decode(encode(m)) = m, area = sum, and row-major helpers agree', () => {
    fc.assert(
      fc.property(maskArb, (m) => {
        const rle = encode(m);
        expect(rle.size).toEqual([m.height, m.width]);
        expect(colMajorOf(rle)).toEqual(m.data);
        expect(area(rle)).toBe(sum(m.data));
        const rm = columnMajorToRowMajor(m.data, m.height, m.width);
        expect(rowMajorToColumnMajor(rm, m.height, m.width)).toEqual(m.data);
        expect(binaryMaskToRle(rm, m.height, m.width)).toEqual(rle);
        expect(decode(rle).contiguous().data).toEqual(rm);
      }),
      { numRuns: 300 },
    );
  });

  it('any non-zero byte is foreground, at any byte offset of a view', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 255 })), { minLength: 400, maxLength: 400 }),
        fc.integer({ min: 1, max: 8 }),
        (h, w, off, values, runLen) => {
          // runs of runLen equal bytes, so aligned words of one value occur
          const buf = new Uint8Array(off + h * w + 3);
          for (let i = 0; i < h * w; i++) buf[off + i] = values[Math.floor(i / runLen) % values.length];
          const view = buf.subarray(off, off + h * w);
          const binary = Uint8Array.from(view, (v) => (v !== 0 ? 1 : 0));
          expect(encode({ data: view, height: h, width: w })).toEqual(encode({ data: Array.from(binary), height: h, width: w }));
          expect(colMajorOf(encode({ data: view, height: h, width: w }))).toEqual(binary);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('toBbox is the extent of the foreground', () => {
    fc.assert(
      fc.property(maskArb, (m) => {
        let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
        for (let x = 0; x < m.width; x++) {
          for (let y = 0; y < m.height; y++) {
            if (!m.data[y + x * m.height]) continue;
            x0 = Math.min(x0, x);
            x1 = Math.max(x1, x);
            y0 = Math.min(y0, y);
            y1 = Math.max(y1, y);
          }
        }
        const expected = x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
        expect(toBbox(encode(m))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('merge is the pixelwise OR / AND of the decoded masks', () => {
    fc.assert(
      fc.property(masksArb, fc.boolean(), (ms, intersect) => {
        const merged = colMajorOf(merge(encode(ms), intersect));
        for (let i = 0; i < merged.length; i++) {
          const bits = ms.map((m) => m.data[i]);
          expect(merged[i]).toBe(intersect ? Math.min(...bits) : Math.max(...bits));
        }
        expect(encode({ data: merged, height: ms[0].height, width: ms[0].width })).toEqual(merge(encode(ms), intersect));
      }),
      { numRuns: 300 },
    );
  });

  it('iou is the ratio of pixel counts (crowd: over the dt area)', () => {
    fc.assert(
      fc.property(masksArb, fc.boolean(), (ms, crowd) => {
        const [a, b] = ms;
        let inter = 0;
        let union = 0;
        for (let i = 0; i < a.data.length; i++) {
          inter += a.data[i] & b.data[i];
          union += a.data[i] | b.data[i];
        }
        const denom = crowd ? sum(a.data) : union;
        const expected = inter === 0 ? 0 : inter / denom;
        expect(iou(encode([a]), encode([b]), [crowd ? 1 : 0])).toEqual([[expected]]);
      }),
      { numRuns: 300 },
    );
  });

  it('box iou: symmetric, 1 on itself, and the area ratio', () => {
    const box = fc.tuple(
      fc.double({ min: -50, max: 50, noNaN: true }),
      fc.double({ min: -50, max: 50, noNaN: true }),
      fc.double({ min: 0.01, max: 50, noNaN: true }),
      fc.double({ min: 0.01, max: 50, noNaN: true }),
    );
    fc.assert(
      fc.property(box, box, (a, b) => {
        const [[ab]] = iou([a], [b], [0]);
        const [[ba]] = iou([b], [a], [0]);
        expect(ab).toBe(ba);
        // 1 up to the rounding of (x + w) - x and (y + h) - y, which pycocotools' bbIou computes too:
        // each loses up to eps * (|x| + w) relative to w.
        const cancel = (p: number, s: number) => (Number.EPSILON * (Math.abs(p) + s)) / s;
        const selfTol = 2 * (cancel(a[0], a[2]) + cancel(a[1], a[3])) + 8 * Number.EPSILON;
        expect(Math.abs(iou([a], [a], [0])[0][0] - 1)).toBeLessThanOrEqual(selfTol);
        const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
        const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
        const inter = iw > 0 && ih > 0 ? iw * ih : 0;
        expect(ab).toBe(inter === 0 ? 0 : inter / (a[2] * a[3] + b[2] * b[3] - inter));
      }),
      { numRuns: 300 },
    );
  });

  it('compressed strings round-trip any uint32 counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 12 }),
        (counts) => {
          const cnts = Uint32Array.from(counts);
          const s = rleToString({ h: 1, w: 1, cnts });
          expect(s).toMatch(/^[0-o]*$/);
          expect(Array.from(rleFrString(s, 1, 1).cnts)).toEqual(counts);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** maskApi.c rleFrPoly as written: every boundary point stored (for modest coordinates only). */
function naiveFrPoly(xy: number[], h: number, w: number): number[] {
  const k = Math.floor(xy.length / 2);
  const cint = (v: number): number => (Number.isNaN(v) ? -2147483648 : Math.trunc(v));
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) x.push(Math.trunc(5 * xy[2 * j] + 0.5));
  for (let j = 0; j < k; j++) y.push(Math.trunc(5 * xy[2 * j + 1] + 0.5));
  x.push(x[0]);
  y.push(y[0]);
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let [xs, xe, ys, ye] = [x[j], x[j + 1], y[j], y[j + 1]];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) [xs, xe, ys, ye] = [xe, xs, ye, ys];
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(cint(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(cint(xs + s * t + 0.5));
      }
    }
  }
  const a: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / 5 - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / 5 - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > h ? h : yd);
    a.push(xd * h + yd);
  }
  a.push(h * w);
  a.sort((p, q) => p - q);
  for (let j = a.length - 1; j > 0; j--) a[j] -= a[j - 1];
  const b = [a[0]];
  for (let j = 1; j < a.length; ) {
    if (a[j] > 0) b.push(a[j++]);
    else if (++j < a.length) b[b.length - 1] += a[j++];
  }
  return b;
}

describe('polygon rasterisation', () => {
  const coord = fc.oneof(
    fc.double({ min: -8, max: 40, noNaN: true }),
    fc.integer({ min: -5, max: 35 }),
    fc.integer({ min: -40, max: 80 }).map((i) => i / 2),
    fc.integer({ min: -200, max: 400 }).map((i) => i / 10),
    fc.double({ min: -400, max: 400, noNaN: true }),
  );
  it('matches a direct port of the C point-by-point walk', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        // wide images with few crossings take the native-sort path of the crossing sort
        fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 200, max: 500 })),
        fc.array(coord, { minLength: 0, maxLength: 17 }),
        (h, w, xy) => {
          const expected = xy.length >= 2 ? naiveFrPoly(xy, h, w) : [h * w];
          expect(Array.from(rleFrPoly(xy, h, w).cnts)).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('huge coordinates cost time in the image size, not the edge length', () => {
    const t0 = performance.now();
    const R = rleFrPoly([-1e8, -3e7, 1e8, 2e2, 1.5e8, 1e8, 7, 1.9e8], 480, 640);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(sum(R.cnts)).toBe(480 * 640);
    // a box covering the image, given with far-away corners, fills it
    expect(Array.from(rleFrBbox([-1e7, -1e7, 3e7, 3e7], 50, 40).cnts)).toEqual([0, 2000]);
  });

  it('rejects non-finite and out-of-range coordinates', () => {
    for (const bad of [NaN, Infinity, -Infinity, 3e8]) {
      expect(() => frPyObjects([[1, 1, 5, 1, bad, 5]], 10, 10)).toThrow(ValueError);
      expect(() => frPyObjects([[1, 1, bad, 4]], 10, 10)).toThrow(ValueError);
    }
  });

  it('negative coordinates and boxes give valid masks', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 4, maxLength: 4 }), (bb) => {
        const R = rleFrBbox(bb, 20, 30);
        expect(sum(R.cnts)).toBe(600);
        expect(rleDecode(R).length).toBe(600);
      }),
      { numRuns: 300 },
    );
  });
});

describe('bad input', () => {
  /** Either a result or one of the library's typed errors. */
  function defined(f: () => unknown): void {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(VisionOpsError);
    }
  }

  it('random strings as counts: a ValueError or an RLE whose use is checked', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-o]{0,30}$/)), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), (s, h, w) => {
        const rle = { size: [h, w] as [number, number], counts: s };
        defined(() => area(rle));
        defined(() => toBbox(rle));
        defined(() => decode(rle));
        defined(() => merge([rle, rle], true));
        defined(() => iou([rle], [rle], [0]));
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes as counts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const s = String.fromCharCode(...bytes);
        defined(() => decode({ size: [16, 16], counts: s }));
      }),
      { numRuns: 500 },
    );
  });

  it('clear errors for malformed strings and sizes', () => {
    expect(() => rleFrString('0P', 4, 4)).toThrow(/ends inside a number/);
    expect(() => rleFrString('1 2', 4, 4)).toThrow(/invalid char/);
    expect(() => rleFrString('oooooooo0', 4, 4)).toThrow(/more than 7 groups/);
    expect(() => decode({ size: [3, 4], counts: '5' })).toThrow(/sum to 5 but size \[3, 4\] has 12/);
    expect(() => decode({ size: [-1, 3], counts: '3' })).toThrow(/non-negative integers/);
    expect(() => decode({ size: [2.5, 3], counts: '3' })).toThrow(ValueError);
    expect(() => decode({ size: [70000, 70000], counts: '0' })).toThrow(/2\^32-1/);
  });

  it('a huge but valid RLE is refused by decode, and handled by area/toBbox/iou without decoding', () => {
    const big = frPyObjects({ size: [60000, 60000], counts: [1799999999, 2, 1800000000 - 1] }, 0, 0);
    expect(() => decode(big)).toThrow(/decode limit/);
    expect(area(big)).toBe(2);
    expect(toBbox(big)).toEqual([29999, 0, 2, 60000]);
    expect(iou([big], [big], [0])).toEqual([[1]]);
  });

  it('missing fields and wrong types', () => {
    expect(() => decode({ size: [2, 2] } as unknown as RLE)).toThrow(/compressed string/);
    expect(() => decode({ counts: '4' } as unknown as RLE)).toThrow(/'size'/);
    expect(() => decode(null as unknown as RLE)).toThrow(ValueError);
    expect(() => area([{ size: [2, 2], counts: [4] }] as unknown as RLE[])).toThrow(/frPyObjects/);
    expect(() => frPyObjects({} as never, 2, 2)).toThrow(/not supported/);
    expect(() => frPyObjects([], 2, 2)).toThrow(/empty list/);
    expect(() => frPyObjects([[1, 2]], 2, 2)).toThrow(/2 numbers/);
    expect(() => frPyObjects([[1, 2, 3, 4], [1, 2, 3]], 5, 5)).toThrow(ShapeError);
    expect(() => frPyObjects([[1, 2, 3, 4, 5, 6]], 2.5, 2)).toThrow(/integers/);
    expect(() => frPyObjects({ size: [2, 2], counts: [1, -3] }, 2, 2)).toThrow(/counts\[1\]/);
    expect(() => frPyObjects({ size: [2, 2], counts: '4' } as never, 2, 2)).toThrow(/already a compressed string/);
    expect(() => iou([[1, 2, 3, 4]], [{ size: [2, 2], counts: '4' }], [0])).toThrow(/same data type/);
    expect(() => iou([[1, 2, 3, 4]], [[1, 2, 3, 4]], [])).toThrow(/iscrowd/);
    expect(() => iou([[1, 2, 3, 4], { size: [2, 2], counts: '4' }] as never, [[1, 2, 3, 4]], [0])).toThrow(/not a mix/);
    expect(() => encode({ data: new Uint8Array(5), height: 2, width: 2 })).toThrow(ShapeError);
    expect(() => decode([])).toThrow(/empty/);
    expect(() => decode([{ size: [1, 2], counts: '2' }, { size: [2, 1], counts: '2' }])).toThrow(/rles\[1\]/);
  });

  it('NaN box coordinates follow C fmin/fmax, which ignore a NaN argument', () => {
    // fmin(NaN + 10, 10) = 10 and fmax(NaN, 0) = 0, and the area w*h does not involve x: IoU 1
    expect(iou([[NaN, 0, 10, 10]], [[0, 0, 10, 10]], [0])).toEqual([[1]]);
    // a NaN width makes the area NaN, and so the IoU
    expect(Number.isNaN(iou([[0, 0, NaN, 10]], [[0, 0, 10, 10]], [0])[0][0])).toBe(true);
  });
});

describe('maskFromImageData', () => {
  it('thresholds one channel of RGBA pixels into a row-major mask', () => {
    const data = new Uint8ClampedArray([0, 0, 0, 0, 255, 0, 0, 255, 10, 200, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255, 0, 0, 0, 255]);
    const alpha = maskFromImageData({ data, width: 3, height: 2 });
    expect(Array.from(alpha.data)).toEqual([0, 1, 0, 1, 1, 1]);
    const red = maskFromImageData({ data, width: 3, height: 2 }, { channel: 0, threshold: 127 });
    expect(Array.from(red.data)).toEqual([0, 1, 0, 0, 1, 0]);
    // row-major tensor: encode reads it by its strides
    expect(encode(red)).toEqual(binaryMaskToRle(red.data, 2, 3));
    expect(() => maskFromImageData({ data, width: 4, height: 2 })).toThrow(ShapeError);
    expect(() => maskFromImageData({ data, width: 3, height: 2 }, { channel: 4 })).toThrow(ValueError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { full, Generator, psRoiAlign, psRoiPool, randn, roiAlign, roiPool, tensor, type Tensor } from '../src';
import { expectClose, expectEqual } from './helpers/fixtures';

const RUNS = { numRuns: 150 };

/** A map shape and rois (batch index, x1, y1, x2, y2), some of them partly or wholly outside the map. */
const scene = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    seed: fc.nat(),
    k: fc.integer({ min: 1, max: 6 }),
    ph: fc.integer({ min: 1, max: 4 }),
    pw: fc.integer({ min: 1, max: 4 }),
    scale: fc.constantFrom(0.25, 0.5, 1, 2),
    samplingRatio: fc.integer({ min: -1, max: 3 }),
  })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      rois: fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: s.n - 1 }),
          fc.double({ min: -3, max: s.w + 3, noNaN: true }),
          fc.double({ min: -3, max: s.h + 3, noNaN: true }),
          fc.double({ min: -1, max: s.w + 4, noNaN: true }),
          fc.double({ min: -1, max: s.h + 4, noNaN: true }),
        ),
        { minLength: s.k, maxLength: s.k },
      ),
    }),
  );

function roisTensor(rois: [number, number, number, number, number][], scale: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return tensor(rois.map(([b, x, y, w, h]) => [b, x / scale, y / scale, (x + w) / scale, (y + h) / scale]), undefined, dtype);
}

describe('RoI op properties', () => {
  it('output shapes are [K, C, ph, pw] (C / (ph * pw) for the position-sensitive ops)', () => {
    fc.assert(
      fc.property(scene, ({ s, rois }) => {
        const boxes = roisTensor(rois, s.scale);
        const x = randn([s.n, s.c, s.h, s.w], { generator: new Generator(s.seed) });
        const opts = { outputSize: [s.ph, s.pw] as [number, number], spatialScale: s.scale, samplingRatio: Math.max(s.samplingRatio, 1) };
        expect(roiAlign(x, boxes, opts).shape).toEqual([s.k, s.c, s.ph, s.pw]);
        expect(roiPool(x, boxes, opts).shape).toEqual([s.k, s.c, s.ph, s.pw]);
        const xps = randn([s.n, s.c * s.ph * s.pw, s.h, s.w], { generator: new Generator(s.seed) });
        expect(psRoiAlign(xps, boxes, opts).shape).toEqual([s.k, s.c, s.ph, s.pw]);
        expect(psRoiPool(xps, boxes, opts).shape).toEqual([s.k, s.c, s.ph, s.pw]);
      }),
      RUNS,
    );
  });

  it('roiAlign of a constant map is that constant for rois inside the map', () => {
    fc.assert(
      fc.property(scene, fc.double({ min: -100, max: 100, noNaN: true }), fc.boolean(), ({ s, rois }, value, aligned) => {
        // Keep every sample within [-1, W] x [-1, H]: start inside the map, at most one pixel past its edge.
        const inside = rois.map(([b, x, y, w, h]): [number, number, number, number, number] => {
          const x1 = Math.min(Math.max(x, 0), s.w - 1);
          const y1 = Math.min(Math.max(y, 0), s.h - 1);
          return [b, x1, y1, Math.min(Math.max(Math.abs(w), 0.05), s.w - x1), Math.min(Math.max(Math.abs(h), 0.05), s.h - y1)];
        });
        const x = full([s.n, s.c, s.h, s.w], value, { dtype: 'float64' });
        const got = roiAlign(x, roisTensor(inside, s.scale, 'float64'), { outputSize: [s.ph, s.pw], spatialScale: s.scale, samplingRatio: s.samplingRatio, aligned });
        expectClose(got, full(got.shape, value, { dtype: 'float64' }), { rtol: 1e-12, atol: 1e-12 });
      }),
      RUNS,
    );
  });

  it('roiPool is the max over each bin region (naive per-pixel reference)', () => {
    fc.assert(
      fc.property(scene, ({ s, rois }) => {
        const x = randn([s.n, s.c, s.h, s.w], { generator: new Generator(s.seed), dtype: 'float64' });
        const boxes = roisTensor(rois, s.scale, 'float64');
        const got = roiPool(x, boxes, { outputSize: [s.ph, s.pw], spatialScale: s.scale });
        const b = boxes.data;
        const cRound = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
        for (let k = 0; k < s.k; k++) {
          const [x1, y1, x2, y2] = [1, 2, 3, 4].map((j) => cRound(b[5 * k + j] * s.scale));
          const binH = Math.max(y2 - y1 + 1, 1) / s.ph;
          const binW = Math.max(x2 - x1 + 1, 1) / s.pw;
          for (let c = 0; c < s.c; c++) {
            for (let i = 0; i < s.ph; i++) {
              for (let j = 0; j < s.pw; j++) {
                let m = -Infinity;
                for (let h = 0; h < s.h; h++) {
                  for (let w = 0; w < s.w; w++) {
                    const inBin = h >= Math.floor(i * binH) + y1 && h < Math.ceil((i + 1) * binH) + y1 && w >= Math.floor(j * binW) + x1 && w < Math.ceil((j + 1) * binW) + x1;
                    if (inBin) m = Math.max(m, x.get(b[5 * k], c, h, w));
                  }
                }
                expect(got.get(k, c, i, j)).toBe(m === -Infinity ? 0 : m);
              }
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('psRoiAlign with a 1x1 output equals roiAlign with aligned=true (rois of positive size)', () => {
    fc.assert(
      fc.property(scene, ({ s, rois }) => {
        const positive = rois.map(([b, x, y, w, h]): [number, number, number, number, number] => [b, x, y, Math.abs(w) + 0.01, Math.abs(h) + 0.01]);
        const boxes = roisTensor(positive, s.scale);
        const x = randn([s.n, s.c, s.h, s.w], { generator: new Generator(s.seed) });
        const opts = { outputSize: 1, spatialScale: s.scale, samplingRatio: s.samplingRatio };
        expectClose(psRoiAlign(x, boxes, opts), roiAlign(x, boxes, { ...opts, aligned: true }), { rtol: 1e-6, atol: 1e-6 });
      }),
      RUNS,
    );
  });

  it('permuting the rois permutes the outputs', () => {
    fc.assert(
      fc.property(scene, fc.boolean(), fc.nat(), ({ s, rois }, aligned, shift) => {
        const x = randn([s.n, s.c * s.ph * s.pw, s.h, s.w], { generator: new Generator(s.seed) });
        const perm = rois.map((_, i) => (i + shift) % rois.length).reverse();
        const a = roisTensor(rois, s.scale);
        const b = roisTensor(
          perm.map((i) => rois[i]),
          s.scale,
        );
        const opts = { outputSize: [s.ph, s.pw] as [number, number], spatialScale: s.scale, samplingRatio: Math.max(s.samplingRatio, 1), aligned };
        const ops = [roiAlign, roiPool, psRoiAlign, psRoiPool] as const;
        for (const op of ops) {
          const ya = op(x, a, opts);
          const yb = op(x, b, opts);
          perm.forEach((i, j) => expectEqual(yb.select(0, j), ya.select(0, i)));
        }
      }),
      RUNS,
    );
  });
});

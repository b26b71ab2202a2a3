import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adaptiveAvgPool2d, avgPool2d, full, Generator, maxPool2d, maxUnpool2d, randn, resolveMaxPool2d, type Tensor } from '../src';

const geometry = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.integer({ min: 1, max: 12 }),
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  d: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(2), fc.nat(2)),
  ceilMode: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});
type Geometry = typeof geometry extends fc.Arbitrary<infer T> ? T : never;

function opts(g: Geometry) {
  return {
    kernelSize: g.k,
    stride: g.s,
    dilation: g.d,
    padding: [Math.min(g.p[0], g.k[0] >> 1), Math.min(g.p[1], g.k[1] >> 1)] as [number, number],
    ceilMode: g.ceilMode,
  };
}

/** torch's documented formula, written independently of the implementation: ceil or floor, then drop a window starting in the right padding. */
function documentedOut(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = (size + 2 * p - d * (k - 1) - 1) / s;
  let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  return out;
}

describe('pooling properties', () => {
  it('output shapes follow torch formula (or the call is rejected when it gives < 1)', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const o = opts(g);
        const oh = documentedOut(g.h, g.k[0], g.s[0], o.padding[0], g.d[0], g.ceilMode);
        const ow = documentedOut(g.w, g.k[1], g.s[1], o.padding[1], g.d[1], g.ceilMode);
        if (oh < 1 || ow < 1) {
          expect(() => resolveMaxPool2d([g.n, g.c, g.h, g.w], o)).toThrow();
          return;
        }
        expect(resolveMaxPool2d([g.n, g.c, g.h, g.w], o).outShape).toEqual([g.n, g.c, oh, ow]);
        expect(resolveMaxPool2d([g.c, g.h, g.w], o).outShape).toEqual([g.c, oh, ow]);
      }),
      { numRuns: 500 },
    );
  });

  it('every max-pool output is >= each in-bounds element of its window and equals the element its index points to', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const o = opts(g);
        if (documentedOut(g.h, g.k[0], g.s[0], o.padding[0], g.d[0], g.ceilMode) < 1) return;
        if (documentedOut(g.w, g.k[1], g.s[1], o.padding[1], g.d[1], g.ceilMode) < 1) return;
        const x = randn([g.n, g.c, g.h, g.w], { generator: new Generator(g.seed) });
        const { output, indices } = maxPool2d(x, { ...o, returnIndices: true });
        const [, , OH, OW] = output.shape;
        for (let b = 0; b < g.n; b++)
          for (let ch = 0; ch < g.c; ch++)
            for (let oh = 0; oh < OH; oh++)
              for (let ow = 0; ow < OW; ow++) {
                const m = output.get(b, ch, oh, ow);
                let any = false;
                for (let i = 0; i < g.k[0]; i++)
                  for (let j = 0; j < g.k[1]; j++) {
                    const ih = oh * g.s[0] - o.padding[0] + i * g.d[0];
                    const iw = ow * g.s[1] - o.padding[1] + j * g.d[1];
                    if (ih < 0 || iw < 0 || ih >= g.h || iw >= g.w) continue;
                    any = true;
                    expect(m).toBeGreaterThanOrEqual(x.get(b, ch, ih, iw));
                  }
                if (any) {
                  const idx = indices.get(b, ch, oh, ow);
                  expect(x.get(b, ch, Math.floor(idx / g.w), idx % g.w)).toBe(m);
                } else expect(m).toBe(-Infinity);
              }
      }),
      { numRuns: 300 },
    );
  });

  it('maxUnpool2d(maxPool2d(x)) keeps exactly the maxima and zeros elsewhere', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const k = g.k;
        const s = g.s;
        const oh = Math.floor((g.h - k[0]) / s[0]) + 1;
        const ow = Math.floor((g.w - k[1]) / s[1]) + 1;
        if (oh < 1 || ow < 1) return;
        // Inputs without zeros or ties, so "zero" always means "not a maximum".
        const x = randn([g.n, g.c, g.h, g.w], { generator: new Generator(g.seed) });
        const { output, indices } = maxPool2d(x, { kernelSize: k, stride: s, returnIndices: true });
        // The input size is a valid output size: the default (oh-1)*s + k is within one stride below it.
        const up = maxUnpool2d(output, indices, { kernelSize: k, stride: s, outputSize: [g.h, g.w] });
        const plane = up.shape[2] * up.shape[3];
        const xd = x.contiguous().data;
        const ud = up.contiguous().data;
        const id = indices.contiguous().data;
        const perPlane = oh * ow;
        for (let pl = 0; pl < g.n * g.c; pl++) {
          const hit = new Set<number>();
          for (let i = 0; i < perPlane; i++) hit.add(id[pl * perPlane + i]);
          for (let q = 0; q < plane; q++) {
            const u = ud[pl * plane + q];
            if (!hit.has(q)) expect(u).toBe(0);
            else expect(u).toBe(xd[pl * g.h * g.w + q]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the average of a constant is the constant (countIncludePad false; adaptive)', () => {
    fc.assert(
      fc.property(geometry, fc.float({ min: -1e6, max: 1e6, noNaN: true }), (g, v) => {
        const o = opts(g);
        const x = full([g.n, g.c, g.h, g.w], v);
        const c = Math.fround(v);
        const check = (t: Tensor) => {
          for (const y of t.contiguous().data) expect(Math.abs(y - c)).toBeLessThanOrEqual(1e-6 * Math.abs(c));
        };
        const fits = [0, 1].every((a) => documentedOut([g.h, g.w][a], g.k[a], g.s[a], o.padding[a], 1, g.ceilMode) >= 1);
        if (fits) check(avgPool2d(x, { kernelSize: o.kernelSize, stride: o.stride, padding: o.padding, ceilMode: o.ceilMode, countIncludePad: false }));
        check(adaptiveAvgPool2d(x, [1 + (g.seed % 7), 1 + (g.seed % 5)]));
      }),
      { numRuns: 300 },
    );
  });
});

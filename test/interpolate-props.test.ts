import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, interpolate, interpolationTaps, randn, resolveInterpolate, type InterpolateMode } from '../src';
import { expectEqual } from './helpers/fixtures';

const imageArb = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 10 }),
  w: fc.integer({ min: 1, max: 10 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  f64: fc.boolean(),
});

describe('interpolate properties', () => {
  it('same size (or scale factor 1) is the identity, bit for bit, in every mode and alignment', () => {
    const variants: { mode: InterpolateMode; alignCorners?: boolean }[] = [
      { mode: 'nearest' },
      { mode: 'nearest-exact' },
      { mode: 'area' },
      { mode: 'bilinear', alignCorners: false },
      { mode: 'bilinear', alignCorners: true },
      { mode: 'bicubic', alignCorners: false },
      { mode: 'bicubic', alignCorners: true },
    ];
    fc.assert(
      fc.property(imageArb, fc.constantFrom(...variants), fc.boolean(), (r, v, bySize) => {
        let x = randn([r.n, r.c, r.h, r.w], { generator: new Generator(r.seed) });
        if (r.f64) x = x.to('float64');
        const y = interpolate(x, bySize ? { ...v, size: [r.h, r.w] } : { ...v, scaleFactor: 1 });
        expectEqual(y, x, JSON.stringify(v));
      }),
      { numRuns: 300 },
    );
  });

  it('output shapes are floor(in * scale) or the given size', () => {
    fc.assert(
      fc.property(
        imageArb,
        fc.tuple(fc.integer({ min: 10, max: 500 }), fc.integer({ min: 10, max: 500 })),
        fc.constantFrom<InterpolateMode>('nearest', 'bilinear', 'bicubic', 'area'),
        (r, [a, b], mode) => {
          const sf = [a / 100, b / 100];
          const oh = Math.floor(r.h * sf[0]);
          const ow = Math.floor(r.w * sf[1]);
          const shape = [r.n, r.c, r.h, r.w];
          if (oh < 1 || ow < 1) {
            if (mode !== 'area') expect(() => resolveInterpolate(shape, { mode, scaleFactor: sf })).toThrow();
            return;
          }
          expect(resolveInterpolate(shape, { mode, scaleFactor: sf }).outShape).toEqual([r.n, r.c, oh, ow]);
          expect(resolveInterpolate(shape, { mode, size: [oh, ow] }).outShape).toEqual([r.n, r.c, oh, ow]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('linear weights are a convex pair and cubic weights sum to 1 (float32 rounding), taps in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 80 }), fc.boolean(), (inSize, outSize, ac) => {
        for (const mode of ['bilinear', 'bicubic'] as const) {
          const t = interpolationTaps(mode, inSize, outSize, null, ac, 'float32');
          for (let o = 0; o < outSize; o++) {
            let sum = 0;
            for (let k = 0; k < t.taps; k++) {
              const i = t.index[k * outSize + o];
              expect(i).toBeGreaterThanOrEqual(0);
              expect(i).toBeLessThan(inSize);
              if (mode === 'bilinear') expect(t.weight[k * outSize + o]).toBeGreaterThanOrEqual(0);
              sum += t.weight[k * outSize + o];
            }
            // float32 evaluation of the cubic drifts by a few ulps of 1
            expect(Math.abs(sum - 1)).toBeLessThan(4e-6);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('interpolate details', () => {
  it("nearest picks torch's float32 boundary indices (6 -> 74: dst 37 reads 2; x2.3: dst 69 reads 29)", () => {
    expect(interpolationTaps('nearest', 6, 74, null, false, 'float32').index[37]).toBe(2);
    expect(interpolationTaps('nearest', 31, 71, 2.3, false, 'float32').index[69]).toBe(29);
    // the same in float64 inputs: torch computes nearest indices in float32 for every dtype
    expect(interpolationTaps('nearest', 6, 74, null, false, 'float64').index[37]).toBe(2);
  });
  it('bicubic overshoots the input range, bilinear does not', () => {
    const x = randn([1, 1, 1, 2]);
    x.data.set([0, 255]);
    const x4 = x.reshape([1, 1, 1, 2]).expand([1, 1, 2, 2]).contiguous();
    const cubic = interpolate(x4, { size: [2, 8], mode: 'bicubic' }).contiguous().data;
    const lin = interpolate(x4, { size: [2, 8], mode: 'bilinear' }).contiguous().data;
    expect(Math.min(...cubic)).toBeLessThan(0);
    expect(Math.max(...cubic)).toBeGreaterThan(255);
    expect(Math.min(...lin)).toBe(0);
    expect(Math.max(...lin)).toBe(255);
  });
  it('alignCorners with nearest and a zero output size are errors', () => {
    const x = randn([1, 1, 2, 2]);
    expect(() => interpolate(x, { size: 3, mode: 'nearest', alignCorners: false })).toThrow(/align_corners/);
    expect(() => interpolate(x, { scaleFactor: 0.3, mode: 'bilinear' })).toThrow(/greater than 0/);
  });
});

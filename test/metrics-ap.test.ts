import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averagePrecision, precisionRecallCurve } from '../src/metrics/ap';
import { ShapeError, ValueError } from '../src/tensor/errors';

describe('precisionRecallCurve', () => {
  it('ranks by score (ties in input order) and accumulates TP/FP', () => {
    // ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.7 TP (tie: input order), 0.5 FP
    const pr = precisionRecallCurve([0.7, 0.9, 0.5, 0.8, 0.7], [1, 1, 0, false, true], 4);
    expect(Array.from(pr.scores)).toEqual([0.9, 0.8, 0.7, 0.7, 0.5]);
    expect(Array.from(pr.tp)).toEqual([1, 1, 2, 3, 3]);
    expect(Array.from(pr.fp)).toEqual([0, 1, 1, 1, 2]);
    expect(Array.from(pr.recall)).toEqual([0.25, 0.25, 0.5, 0.75, 0.75]);
    expect(Array.from(pr.precision)).toEqual([1, 0.5, 2 / 3, 0.75, 0.6]);
  });

  it('-1 (difficult) counts as neither TP nor FP but keeps its place', () => {
    const pr = precisionRecallCurve([3, 2, 1], [0, -1, 1], 2);
    expect(Array.from(pr.tp)).toEqual([0, 0, 1]);
    expect(Array.from(pr.fp)).toEqual([1, 1, 1]);
    expect(Array.from(pr.precision)).toEqual([0, 0, 0.5]);
  });

  it('rejects bad input', () => {
    expect(() => precisionRecallCurve([1, 2], [1], 1)).toThrow(ShapeError);
    expect(() => precisionRecallCurve([1], [1], 0)).toThrow(/numPositives/);
    expect(() => precisionRecallCurve([NaN], [1], 1)).toThrow(/NaN/);
    expect(() => precisionRecallCurve([1], [2], 1)).toThrow(/1, 0 or -1/);
  });
});

describe('averagePrecision', () => {
  const recall = [0.25, 0.25, 0.5, 0.75, 0.75];
  const precision = [1, 0.5, 2 / 3, 0.75, 0.6];

  it('voc12: area under the precision envelope', () => {
    // envelope: 1 on (0, .25], .75 on (.25, .75], 0 beyond
    expect(averagePrecision(recall, precision, { method: 'voc12' })).toBe(0.625);
    expect(averagePrecision(recall, precision)).toBe(0.625);
  });

  it('voc07: 11 recall levels', () => {
    // t = 0, .1, .2 -> 1; .3 .. .7 -> .75; .8, .9, 1 -> 0
    expect(averagePrecision(recall, precision, { method: 'voc07' })).toBeCloseTo(6.75 / 11, 15);
  });

  it('voc07 levels are i*0.1 as in numpy: recall 3/10 misses level 0.30000000000000004', () => {
    expect(averagePrecision([0.3], [1], { method: 'voc07' })).toBeCloseTo(3 / 11, 15);
    expect(averagePrecision([0.4], [1], { method: 'voc07' })).toBeCloseTo(5 / 11, 15);
  });

  it('coco101: mean over 101 recall thresholds', () => {
    // thresholds 0..0.25 (26 of them) -> 1, 0.26..0.75 (50) -> .75, above -> 0
    expect(averagePrecision(recall, precision, { method: 'coco101' })).toBeCloseTo((26 + 50 * 0.75) / 101, 14);
  });

  it('empty curves give 0; bad input is refused', () => {
    for (const method of ['voc07', 'voc12', 'coco101'] as const) expect(averagePrecision([], [], { method })).toBe(0);
    expect(() => averagePrecision([0.1], [], {})).toThrow(ShapeError);
    expect(() => averagePrecision([NaN], [1], {})).toThrow(ValueError);
    expect(() => averagePrecision([0.1], [1], { method: 'voc10' as never })).toThrow(/method/);
  });

  const matches = fc
    .array(fc.record({ score: fc.integer({ min: 0, max: 20 }), tp: fc.boolean() }), { minLength: 1, maxLength: 60 })
    .chain((ds) => fc.record({ ds: fc.constant(ds), extra: fc.integer({ min: 0, max: 10 }) }));

  it('properties: in [0, 1]; 1 for a perfect ranking; never above max precision x max recall', () => {
    fc.assert(
      fc.property(matches, ({ ds, extra }) => {
        const npos = ds.filter((d) => d.tp).length + extra;
        if (npos === 0) return;
        const pr = precisionRecallCurve(
          ds.map((d) => d.score),
          ds.map((d) => d.tp),
          npos,
        );
        const maxP = Math.max(...pr.precision);
        const maxR = Math.max(...pr.recall);
        for (const method of ['voc07', 'voc12', 'coco101'] as const) {
          const ap = averagePrecision(pr.recall, pr.precision, { method });
          expect(ap).toBeGreaterThanOrEqual(0);
          expect(ap).toBeLessThanOrEqual(maxP * Math.min(1, maxR + 0.1) + 1e-12);
        }
        // area under the envelope equals the sum over true positives of (1/npos) x envelope precision there
        let manual = 0;
        for (let r = 0; r < pr.recall.length; r++) {
          if (r > 0 ? pr.tp[r] === pr.tp[r - 1] : pr.tp[r] === 0) continue;
          let best = 0;
          for (let s = r; s < pr.precision.length; s++) best = Math.max(best, pr.precision[s]);
          manual += best / npos;
        }
        expect(averagePrecision(pr.recall, pr.precision, { method: 'voc12' })).toBeCloseTo(manual, 12);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 20 }), (nt, nf) => {
        const scores = [...Array(nt + nf).keys()].map((i) => nt + nf - i);
        const pr = precisionRecallCurve(scores, scores.map((_, i) => i < nt), nt);
        expect(averagePrecision(pr.recall, pr.precision, { method: 'voc12' })).toBeCloseTo(1, 14);
        expect(averagePrecision(pr.recall, pr.precision, { method: 'voc07' })).toBeCloseTo(1, 14);
        expect(averagePrecision(pr.recall, pr.precision, { method: 'coco101' })).toBeCloseTo(1, 14);
      }),
      { numRuns: 100 },
    );
  });
});

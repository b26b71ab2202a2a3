/**
 * COCOeval beyond the reference runs: numpy helpers (linspace, pairwise sum,
 * Python float formatting), the summary-bug option, accessors, properties
 * (fast-check) and input fuzzing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COCO, type CocoDataset, type CocoResult } from '../src/coco/coco';
import { COCOeval, linspace, numpyMean, pairwiseSum, Params, pyFixed } from '../src/metrics/cocoeval';
import { ValueError } from '../src/tensor/errors';

describe('numpy / Python arithmetic helpers', () => {
  it('linspace follows numpy: i*step + start, last = stop', () => {
    expect(linspace(0.5, 0.95, 10)[8]).toBe(0.8999999999999999);
    const r = linspace(0, 1, 101);
    expect(r[35]).toBe(35 * 0.01);
    expect(r[35]).not.toBe(35 / 100);
    expect(r[100]).toBe(1);
    expect(new Params('bbox').iouThrs).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95]);
  });

  it('pairwiseSum matches the numpy recursion (8 accumulators, halving at multiples of 8)', () => {
    const ref = (a: number[], off: number, n: number): number => {
      if (n < 8) return a.slice(off, off + n).reduce((s, x) => s + x, 0);
      if (n <= 128) {
        const r = a.slice(off, off + 8);
        let i = 8;
        for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[off + i + j];
        let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
        for (; i < n; i++) res += a[off + i];
        return res;
      }
      const n2 = Math.floor(n / 2) - (Math.floor(n / 2) % 8);
      return ref(a, off, n2) + ref(a, off + n2, n - n2);
    };
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 700 }), (a) => {
        expect(pairwiseSum(a, 0, a.length)).toBe(ref(a, 0, a.length));
      }),
      { numRuns: 200 },
    );
  });

  it('numpyMean blocks of 8192 differ from the whole-array sum only beyond 8192 values', () => {
    const a = Array.from({ length: 20000 }, (_, i) => ((i * 7919) % 1000) / 997);
    expect(numpyMean(a, 8192, 'pairwise_blocks8192')).toBe(numpyMean(a, 8192, 'pairwise_whole'));
    const blocks = (pairwiseSum(a, 0, 8192) + pairwiseSum(a, 8192, 8192) + pairwiseSum(a, 16384, 20000 - 16384)) / 20000;
    expect(numpyMean(a, 20000, 'pairwise_blocks8192')).toBe(blocks);
    expect(numpyMean(a, 20000, 'pairwise_whole')).toBe(pairwiseSum(a, 0, 20000) / 20000);
  });

  it("pyFixed is Python's format: ties (exact halves) round to even", () => {
    expect(pyFixed(0.0625, 3)).toBe('0.062');
    expect(pyFixed(0.1875, 3)).toBe('0.188');
    expect(pyFixed(0.3125, 3)).toBe('0.312');
    expect(pyFixed(0.125, 2)).toBe('0.12');
    expect(pyFixed(0.375, 2)).toBe('0.38');
    expect(pyFixed(-1, 3)).toBe('-1.000');
    expect(pyFixed(0.5054, 3)).toBe('0.505');
    expect(pyFixed(0.8999999999999999, 2)).toBe('0.90');
    expect(pyFixed(2.5, 0)).toBe('2');
    expect(pyFixed(1e-20, 3)).toBe('0.000');
  });
});

function gtDataset(): CocoDataset {
  return {
    images: [
      { id: 1, width: 100, height: 100 },
      { id: 2, width: 100, height: 100 },
    ],
    categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 2, bbox: [50, 50, 40, 40], area: 1600, iscrowd: 0 },
      { id: 3, image_id: 2, category_id: 1, bbox: [0, 0, 50, 50], area: 2500, iscrowd: 0 },
    ],
  };
}

const dets: CocoResult[] = [
  { image_id: 1, category_id: 1, score: 0.9, bbox: [10, 10, 20, 20] },
  { image_id: 1, category_id: 2, score: 0.8, bbox: [52, 52, 40, 40] },
  { image_id: 2, category_id: 1, score: 0.7, bbox: [5, 5, 50, 50] },
  { image_id: 2, category_id: 1, score: 0.6, bbox: [60, 60, 10, 10] },
];

function evaluated(gt = gtDataset(), dt = dets, iouType: 'bbox' | 'segm' = 'bbox', setup?: (E: COCOeval) => void): COCOeval {
  const coco = new COCO(gt);
  const E = new COCOeval(coco, coco.loadRes(dt), iouType);
  setup?.(E);
  E.evaluate();
  E.accumulate();
  return E;
}

describe('COCOeval API', () => {
  it('summarize prints 12 pycocotools lines through the logger and sets stats', () => {
    const E = evaluated();
    const lines: string[] = [];
    const stats = E.summarize({ log: (l) => lines.push(l) });
    expect(E.stats).toBe(stats);
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ' + pyFixed(stats[0], 3));
    expect(lines[1]).toMatch(/^ Average Precision {2}\(AP\) @\[ IoU=0\.50 {6}\| area= {3}all \| maxDets=100 \] = /);
    expect(lines[6]).toMatch(/^ Average Recall {5}\(AR\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets= {2}1 \] = /);
    expect(lines[3]).toContain('area= small');
  });

  it('reproduces the summary bug by default; useMaxDets computes stats[0] with maxDets[2]', () => {
    const E = evaluated(undefined, undefined, 'bbox', (e) => (e.params.maxDets = [1, 5, 20]));
    const quiet = { log: () => {} };
    const buggy = E.summarize(quiet);
    expect(buggy[0]).toBe(-1); // maxDets=100 is not among [1, 5, 20]
    const fixed = E.summarize({ ...quiet, useMaxDets: true });
    expect(fixed[0]).toBeGreaterThan(0);
    expect(fixed.slice(1)).toEqual(buggy.slice(1));
    const lines: string[] = [];
    E.summarize({ log: (l) => lines.push(l), useMaxDets: true });
    expect(lines[0]).toContain('maxDets= 20');
  });

  it('keypoint stats use maxDets 20 unless useMaxDets', () => {
    const gt: CocoDataset = {
      images: [{ id: 1, width: 100, height: 100 }],
      categories: [{ id: 1, name: 'person' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 50, 50], area: 2500, iscrowd: 0, num_keypoints: 17, keypoints: Array.from({ length: 51 }, (_, i) => (i % 3 === 2 ? 2 : 20 + i)) },
      ],
    };
    const coco = new COCO(gt);
    const res = coco.loadRes([{ image_id: 1, category_id: 1, score: 1, keypoints: Array.from({ length: 51 }, (_, i) => (i % 3 === 2 ? 1 : 20 + i)) }]);
    const E = new COCOeval(coco, res, 'keypoints');
    E.params.maxDets = [5];
    E.evaluate();
    E.accumulate();
    const lines: string[] = [];
    expect(E.summarize({ log: (l) => lines.push(l) })).toEqual(Array(10).fill(-1));
    expect(lines).toHaveLength(10);
    const fixed = E.summarize({ log: () => {}, useMaxDets: true });
    expect(fixed[0]).toBeCloseTo(1, 12);
  });

  it('a ground truth with id 0 counts as unmatched, as in pycocotools (matches are ids, 0 = none)', () => {
    const gt: CocoDataset = {
      images: [{ id: 1, width: 100, height: 100 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [{ id: 0, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
    };
    const E = evaluated(gt, [{ image_id: 1, category_id: 1, score: 1, bbox: [10, 10, 20, 20] }]);
    expect(E.recallAt(0, 0, 0, 2)).toBe(0);
    expect(E.precisionAt(0, 0, 0, 0, 2)).toBe(0);
    expect(E.evalImg(0)!.gtMatches[0][0]).toBe(1); // the ground truth did record the detection
    const ok = evaluated({ ...gt, annotations: [{ ...gt.annotations![0], id: 5 }] }, [{ image_id: 1, category_id: 1, score: 1, bbox: [10, 10, 20, 20] }]);
    expect(ok.recallAt(0, 0, 0, 2)).toBe(1);
  });

  it('bbox/segm summaries need three maxDets, like pycocotools', () => {
    const E = evaluated(undefined, undefined, 'bbox', (e) => (e.params.maxDets = [1, 10]));
    expect(() => E.summarize({ log: () => {} })).toThrow(/needs at least 3 values/);
  });

  it('accessors read the pycocotools layouts; perCategory gives one row per category', () => {
    const E = evaluated();
    const [T, R, K, A, M] = E.eval!.counts;
    expect([T, R, K, A, M]).toEqual([10, 101, 2, 4, 3]);
    expect(E.eval!.precision.length).toBe(T * R * K * A * M);
    expect(E.recallAt(0, 0, 0, 2)).toBe(E.eval!.recall[((0 * K + 0) * A + 0) * M + 2]);
    expect(E.precisionAt(0, 0, 1, 0, 2)).toBe(E.eval!.precision[(((0 * R + 0) * K + 1) * A + 0) * M + 2]);
    const rows = E.perCategory();
    expect(rows.map((r) => r.category_id)).toEqual([1, 2]);
    expect(rows[1].ap50).toBeCloseTo(1, 12);
  });

  it('calls in the wrong order and bad params raise ValueError', () => {
    const coco = new COCO(gtDataset());
    const E = new COCOeval(coco, coco.loadRes(dets), 'bbox');
    expect(() => E.accumulate()).toThrow(/call evaluate\(\) first/);
    expect(() => E.evalImgs).toThrow(/call evaluate\(\) first/);
    E.evaluate();
    expect(() => E.summarize()).toThrow(/call accumulate\(\) first/);
    expect(() => E.evalImg(-1)).toThrow(/index must be an integer/);
    expect(() => new COCOeval(coco, coco.loadRes(dets), 'mask' as never)).toThrow(/iouType must be/);
    expect(() => new COCOeval({} as never, coco)).toThrow(/cocoGt must be a COCO/);
    const bad = (f: (p: Params) => void) => {
      const e = new COCOeval(coco, coco.loadRes(dets), 'bbox');
      f(e.params);
      return () => e.evaluate();
    };
    expect(bad((p) => (p.maxDets = [0, 10]))).toThrow(/maxDets must be positive integers/);
    expect(bad((p) => (p.iouThrs = []))).toThrow(/iouThrs must be a non-empty array/);
    expect(bad((p) => (p.areaRng = [[0, 1, 2] as never]))).toThrow(/areaRng/);
    expect(bad((p) => (p.areaRngLbl = ['all']))).toThrow(/areaRngLbl/);
  });

  it('missing fields needed by the evaluation name the annotation and field', () => {
    const missing = (mut: (d: CocoDataset) => void, iouType: 'bbox' | 'segm' = 'bbox') => {
      const gt = gtDataset();
      mut(gt);
      return () => evaluated(gt, dets, iouType);
    };
    expect(missing((d) => delete d.annotations![1].area)).toThrow(/ground truth annotation 2\.area must be a number/);
    expect(missing((d) => delete d.annotations![0].iscrowd)).toThrow(/ground truth annotation 1\.iscrowd must be 0 or 1/);
    expect(missing((d) => (d.annotations![2].bbox = [1, 2, 3]))).toThrow(/annotation 3\.bbox must be an array of 4 numbers/);
    expect(missing(() => {}, 'segm')).toThrow(/annotation 1\.segmentation is missing/);
    expect(missing((d) => (d.annotations![0].id = 2))).toThrow(/annotation ids are not unique/);
  });

  it('evaluates the real val2014 case in segm with polygon GT and RLE results (progress reported)', async () => {
    const { readFileSync } = await import('node:fs');
    const base = new URL('./fixtures/coco/real/', import.meta.url);
    const coco = new COCO(JSON.parse(readFileSync(new URL('instances_val2014_100.json', base), 'utf8')));
    const res = coco.loadRes(JSON.parse(readFileSync(new URL('instances_val2014_fakesegm100_results.json', base), 'utf8')));
    const E = new COCOeval(coco, res, 'segm');
    const seen: number[] = [];
    E.evaluate({ onProgress: (d, t) => seen.push(d / t) });
    expect(seen.at(-1)).toBe(1);
    expect(seen.length).toBeGreaterThan(10);
    E.accumulate();
    expect(pyFixed(E.summarize({ log: () => {} })[0], 3)).toBe('0.320');
  });
});

// ---------------------------------------------------------------------------
// Properties

interface World {
  gt: CocoDataset;
  dt: CocoResult[];
}

const boxArb = fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }));

/** Random small datasets; `perfect` makes one detection per ground truth with its exact box. */
function worldArb(perfect: boolean): fc.Arbitrary<World> {
  return fc
    .record({
      nImg: fc.integer({ min: 1, max: 5 }),
      gts: fc.array(fc.record({ img: fc.nat(4), cat: fc.integer({ min: 1, max: 3 }), box: boxArb }), { minLength: 1, maxLength: 25 }),
      extra: fc.array(fc.record({ img: fc.nat(4), cat: fc.integer({ min: 1, max: 3 }), box: boxArb }), { maxLength: 25 }),
      seed: fc.integer(),
    })
    .map(({ nImg, gts, extra, seed }) => {
      const images = Array.from({ length: nImg }, (_, i) => ({ id: 10 + i, width: 160, height: 160 }));
      const annotations = gts.map((g, j) => ({
        id: j + 1,
        image_id: 10 + (g.img % nImg),
        category_id: g.cat,
        bbox: [...g.box],
        area: g.box[2] * g.box[3],
        iscrowd: 0,
      }));
      // Distinct scores: with ties pycocotools' results depend on input order.
      let s = (seed >>> 0) % 1000;
      const score = () => (s = (s * 7 + 13) % 100003) / 100003 + 1e-9 * s;
      const used = new Set<number>();
      const uniq = () => {
        let v = score();
        while (used.has(v)) v = score();
        used.add(v);
        return v;
      };
      const dt: CocoResult[] = perfect ? annotations.map((a) => ({ image_id: a.image_id, category_id: a.category_id, score: uniq(), bbox: [...a.bbox] })) : [];
      if (!perfect) for (const e of [...gts, ...extra]) dt.push({ image_id: 10 + (e.img % nImg), category_id: e.cat, score: uniq(), bbox: [e.box[0] + 1, e.box[1], e.box[2], e.box[3]] });
      return { gt: { images, categories: [1, 2, 3].map((id) => ({ id, name: `c${id}` })), annotations }, dt };
    });
}

function summary(w: World): { stats: number[]; E: COCOeval } {
  const E = evaluated(structuredClone(w.gt), structuredClone(w.dt));
  return { stats: E.summarize({ log: () => {} }), E };
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('COCOeval properties', () => {
  it('perfect detections give AP = AR = 1 (to 1 ulp of eps: tp/(tp+eps))', () => {
    fc.assert(
      fc.property(worldArb(true), (w) => {
        const { stats } = summary(w);
        for (const j of [0, 1, 2, 8]) expect(Math.abs(stats[j] - 1)).toBeLessThan(1e-15);
      }),
      { numRuns: 60 },
    );
  });

  it('shuffling detections (distinct scores) or images changes no number', () => {
    fc.assert(
      fc.property(worldArb(false), fc.integer(), (w, seed) => {
        const a = summary(w).E;
        const b = summary({ gt: { ...w.gt, images: shuffled(w.gt.images!, seed) }, dt: shuffled(w.dt, seed + 1) }).E;
        expect(sameValues(b.eval!.precision, a.eval!.precision)).toBe(true);
        expect(sameValues(b.eval!.recall, a.eval!.recall)).toBe(true);
        expect(sameValues(b.eval!.scores, a.eval!.scores)).toBe(true);
        expect(b.summarize({ log: () => {} })).toEqual(a.summarize({ log: () => {} }));
      }),
      { numRuns: 60 },
    );
  });

  it('stats lie in [-1, 1], precision and recall in {-1} ∪ [0, 1]', () => {
    fc.assert(
      fc.property(worldArb(false), (w) => {
        const { stats, E } = summary(w);
        expect(stats.every((s) => s >= -1 && s <= 1)).toBe(true);
        const valid = (v: number) => v === -1 || (v >= 0 && v <= 1);
        expect(E.eval!.precision.every(valid)).toBe(true);
        expect(E.eval!.recall.every(valid)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('COCOeval input fuzzing', () => {
  it('removing any field of any annotation or result gives a ValueError or a valid evaluation, never a crash', () => {
    fc.assert(
      fc.property(worldArb(false), fc.nat(), fc.nat(), fc.boolean(), (w, which, field, onGt) => {
        const gt = structuredClone(w.gt);
        const dt = structuredClone(w.dt);
        const list = (onGt ? gt.annotations! : dt) as unknown as Record<string, unknown>[];
        if (list.length === 0) return;
        const obj = list[which % list.length];
        const keys = Object.keys(obj);
        delete obj[keys[field % keys.length]];
        try {
          evaluated(gt, dt).summarize({ log: () => {} });
        } catch (e) {
          expect(e).toBeInstanceOf(ValueError);
          expect((e as Error).message).toMatch(/id|bbox|area|iscrowd|score|image_id|category_id|not unique|none of bbox/);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('results for unknown images or categories are rejected with the offending ids', () => {
    fc.assert(
      fc.property(worldArb(false), fc.integer({ min: 1000, max: 2000 }), fc.boolean(), (w, bad, img) => {
        if (!w.dt.length) return;
        const dt = structuredClone(w.dt);
        if (img) dt[dt.length - 1].image_id = bad;
        else dt[0].category_id = bad;
        expect(() => evaluated(structuredClone(w.gt), dt)).toThrow(new RegExp(`${img ? 'image' : 'category'} id.*${bad}`));
      }),
      { numRuns: 50 },
    );
  });
});

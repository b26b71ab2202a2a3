// Error breakdown and reports on a hand-made scene whose stage APs are worked
// out below, plus consistency with COCOeval on the real val2014 sample.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COCO, type CocoDataset } from '../src/coco/coco';
import { analysisToSvg, analyze, formatAnalysis } from '../src/metrics/analyze';
import { COCOeval } from '../src/metrics/cocoeval';
import { categoryApTable, formatCategoryTable, prCurves, prCurvesToSvg } from '../src/metrics/cocoplots';

const box = (x: number, y: number) => [x, y, 10, 10];
let nextId = 1;
const gtAnn = (category_id: number, x: number, y: number) => ({ id: nextId++, image_id: 1, category_id, bbox: box(x, y), area: 100, iscrowd: 0 });

/**
 * One 100x100 image. Ground truth: dogs at (0,0), (0,30), (30,0) [never detected], (60,0);
 * a cat (same supercategory) at (50,50); a car at (20,60). Dog detections by score:
 * .95 on dog (0,30) shifted 6px down (IoU .25: a localisation error), .9 on the cat,
 * .85 exact on dog (0,0), .8 on the car, .75 on background, .7 exact on dog (60,0).
 */
const gt: CocoDataset = {
  images: [{ id: 1, width: 100, height: 100 }],
  categories: [
    { id: 1, name: 'dog', supercategory: 'animal' },
    { id: 2, name: 'cat', supercategory: 'animal' },
    { id: 3, name: 'car', supercategory: 'vehicle' },
  ],
  annotations: [gtAnn(1, 0, 0), gtAnn(1, 0, 30), gtAnn(1, 30, 0), gtAnn(1, 60, 0), gtAnn(2, 50, 50), gtAnn(3, 20, 60)],
};
const dets = [
  { s: 0.95, b: box(0, 36) },
  { s: 0.9, b: box(50, 50) },
  { s: 0.85, b: box(0, 0) },
  { s: 0.8, b: box(20, 60) },
  { s: 0.75, b: box(80, 80) },
  { s: 0.7, b: box(60, 0) },
].map((d) => ({ image_id: 1, category_id: 1, bbox: d.b, score: d.s }));

describe('analyze', () => {
  const cocoGt = new COCO(gt);
  const res = analyze(cocoGt, cocoGt.loadRes(dets), 'bbox');
  const dog = res.categories[0];

  it('stage APs of the hand-made scene', () => {
    // 4 dogs. C75 = C50: F F T F F T -> precision 1/3 up to recall .5 (51 of 101 thresholds)
    expect(dog.ap[0][0]).toBeCloseTo(51 / 3 / 101, 14);
    expect(dog.ap[1][0]).toBeCloseTo(51 / 3 / 101, 14);
    // Loc (IoU .1): T F T F F T -> envelope 1 to recall .25, 2/3 to .5, 1/2 to .75
    expect(dog.ap[2][0]).toBeCloseTo((26 + (25 * 2) / 3 + 25 * 0.5) / 101, 14);
    // Sim: the detection on the cat is ignored -> T T F F T -> 1 to .5, .6 to .75
    expect(dog.ap[3][0]).toBeCloseTo((51 + 25 * 0.6) / 101, 14);
    // Oth: the detection on the car is ignored too -> T T F T -> 1 to .5, .75 to .75
    expect(dog.ap[4][0]).toBeCloseTo((51 + 25 * 0.75) / 101, 14);
    // BG: 1 up to the recall reached (.75), FN: 1
    expect(dog.ap[5][0]).toBeCloseTo(76 / 101, 14);
    expect(dog.ap[6][0]).toBe(1);
    // all objects are small: no ground truth in medium/large
    expect(res.areaRngLbl).toEqual(['all', 'small', 'medium', 'large']);
    expect(dog.ap.map((perArea) => perArea[1])).toEqual(dog.ap.map((perArea) => perArea[0]));
    expect(dog.ap.every((perArea) => perArea[2] === -1 && perArea[3] === -1)).toBe(true);
  });

  it('categories without detections score 0 until FN; the overall row averages categories with ground truth', () => {
    for (const c of res.categories.slice(1)) expect(c.ap.map((perArea) => perArea[0])).toEqual([0, 0, 0, 0, 0, 0, 1]);
    for (let s = 0; s < 7; s++) {
      const mean = res.categories.reduce((acc, c) => acc + c.ap[s][0], 0) / 3;
      expect(res.overall.ap[s][0]).toBeCloseTo(mean, 14);
    }
    expect(res.overall.ap[0][2]).toBe(-1);
  });

  it('C50 and C75 equal COCOeval AP50 and AP75 (maxDets 100)', () => {
    const E = new COCOeval(cocoGt, cocoGt.loadRes(dets), 'bbox');
    E.evaluate();
    E.accumulate();
    const stats = E.summarize({ log: () => {} });
    expect(res.overall.ap[1][0]).toBeCloseTo(stats[1], 14);
    expect(res.overall.ap[0][0]).toBeCloseTo(stats[2], 14);
  });

  it('formats a table and an SVG figure', () => {
    const text = formatAnalysis(res);
    expect(text.split('\n')[0]).toMatch(/^category\s+C75\s+C50\s+Loc\s+Sim\s+Oth\s+BG\s+FN$/);
    expect(text).toContain('dog');
    const svg = analysisToSvg(res, { categoryId: 1 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('[0.653] Sim');
    expect((svg.match(/<polygon/g) ?? []).length).toBe(7);
    expect(() => analysisToSvg(res, { categoryId: 99 })).toThrow(/not analysed/);
    expect(() => formatAnalysis(res, { areaRng: 'huge' })).toThrow(/area range/);
  });
});

describe('reports on the real val2014 sample', () => {
  const dir = new URL('./fixtures/coco/real/', import.meta.url);
  const cocoGt = new COCO(JSON.parse(readFileSync(new URL('instances_val2014_100.json', dir), 'utf8')));
  const cocoDt = cocoGt.loadRes(JSON.parse(readFileSync(new URL('instances_val2014_fakebbox100_results.json', dir), 'utf8')));
  const E = new COCOeval(cocoGt, cocoDt, 'bbox');
  E.evaluate();
  E.accumulate();
  const stats = E.summarize({ log: () => {} });

  it('per-category table rows match COCOeval.perCategory, with names', () => {
    const rows = categoryApTable(E);
    const per = E.perCategory();
    expect(rows.map((r) => r.ap)).toEqual(per.map((r) => r.ap));
    expect(rows.find((r) => r.category_id === 1)?.name).toBe('person');
    const md = formatCategoryTable(rows, { format: 'markdown', sortBy: 'ap' });
    expect(md.split('\n')[1]).toBe('| --- | --- | ---: | ---: | ---: | ---: |');
    expect(md.split('\n')).toHaveLength(rows.length + 2);
    const csv = formatCategoryTable(rows, { format: 'csv' });
    expect(csv.split('\n')[0]).toBe('id,category,AP,AP50,AP75,AR');
    expect(formatCategoryTable(rows)).toContain('person');
  });

  it('PR curves: the category mean of the curves is AP50', () => {
    const set = prCurves(E, { iouThr: 0.5 });
    expect(set.recall).toHaveLength(101);
    expect(set.curves.length).toBeGreaterThan(0);
    expect(set.mean.ap).toBeCloseTo(stats[1], 12);
    const json = JSON.parse(JSON.stringify(set));
    expect(json.curves[0].precision).toHaveLength(101);
    const svg = prCurvesToSvg(set, { maxCurves: 5 });
    expect((svg.match(/<polyline/g) ?? []).length).toBe(6);
    expect(svg).toContain(`[${set.mean.ap.toFixed(3)}] mean`);
    expect(() => prCurves(E, { iouThr: 0.3 })).toThrow(/iouThr/);
  });

  it('analysis C75/C50 agree with AP75/AP50 at maxDets 100 over a real dataset', () => {
    const res = analyze(cocoGt, cocoDt, 'bbox', { catIds: [1, 3, 62] });
    const sub = new COCOeval(cocoGt, cocoDt, 'bbox');
    sub.params.catIds = [1, 3, 62];
    sub.evaluate();
    sub.accumulate();
    const s = sub.summarize({ log: () => {} });
    expect(res.overall.ap[1][0]).toBeCloseTo(s[1], 12);
    expect(res.overall.ap[0][0]).toBeCloseTo(s[2], 12);
    // each stage removes errors, so AP never decreases along the stages
    for (const c of res.categories) {
      for (let st = 1; st < 7; st++) if (c.ap[st][0] >= 0) expect(c.ap[st][0]).toBeGreaterThanOrEqual(c.ap[st - 1][0] - 1e-12);
    }
  });
});

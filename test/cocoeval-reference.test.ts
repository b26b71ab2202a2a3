/**
 * Every run of every pycocotools reference case (test/fixtures/coco/eval, a
 * copy of shared/reference/coco/eval): stats exact for each summation variant
 * (and within 1e-12 of the other), params, counts, per-category table,
 * recall / precision / scores arrays and evalImgs entries equal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COCO, type CocoDataset, type CocoResult } from '../src/coco/coco';
import { COCOeval, type IouType, type Summation } from '../src/metrics/cocoeval';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/coco/eval');

interface Run {
  name: string;
  iouType: IouType;
  overrides: Record<string, unknown>;
  dt?: string;
  params: Record<string, unknown>;
  stats: number[];
  stats_variants: Record<Summation, number[]>;
  stats_source: string;
  counts: number[];
  per_category: { category_id: number; ap: number; ap50: number; ap75: number; ar: number }[];
  recall: unknown;
  precision?: unknown;
  scores?: unknown;
  evalImgs_len: number;
  evalImgs_nonnull: number;
  evalImgs: Record<string, unknown>[];
}

interface Expected {
  case: string;
  files: { gt: string; dt: string | null };
  runs: Run[];
}

const jsonCache = new Map<string, unknown>();
function readJson(path: string): unknown {
  if (!jsonCache.has(path)) jsonCache.set(path, JSON.parse(readFileSync(path, 'utf8')));
  return jsonCache.get(path);
}

function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}

function runEval(dir: string, exp: Expected, run: Run) {
  const gt = new COCO(structuredClone(readJson(join(dir, exp.files.gt))) as CocoDataset);
  const dtPath = run.dt ?? exp.files.dt;
  const dt = gt.loadRes(readJson(join(dir, dtPath as string)) as CocoResult[]);
  const E = new COCOeval(gt, dt, run.iouType);
  Object.assign(E.params, structuredClone(run.overrides));
  E.evaluate();
  E.accumulate();
  return E;
}

const cases = readdirSync(ROOT).sort();

describe.each(cases)('reference case %s', (name) => {
  const dir = join(ROOT, name);
  const exp = readJson(join(dir, 'expected.json')) as Expected;
  it.each(exp.runs.map((r) => [r.name, r] as const))('%s', (_, run) => {
    const E = runEval(dir, exp, run);
    const lines: string[] = [];
    for (const variant of ['pairwise_whole', 'pairwise_blocks8192'] as Summation[]) {
      const stats = E.summarize({ summation: variant, log: (l) => lines.push(l) });
      expect(stats).toEqual(run.stats_variants[variant]);
      stats.forEach((s, j) => expect(Math.abs(s - run.stats[j])).toBeLessThanOrEqual(1e-12));
    }
    expect(lines.length).toBe(run.iouType === 'keypoints' ? 20 : 24);

    const p = E.params;
    for (const key of ['imgIds', 'catIds', 'iouThrs', 'recThrs', 'maxDets', 'areaRng', 'areaRngLbl', 'useCats'] as const) {
      expect(p[key], key).toEqual(run.params[key]);
    }
    if (run.iouType === 'keypoints') expect(p.kpt_oks_sigmas).toEqual(run.params.kpt_oks_sigmas);

    const ev = E.eval!;
    expect(ev.counts).toEqual(run.counts);
    expect(Array.from(ev.recall)).toEqual(flat(run.recall));
    if (run.precision) expect(Array.from(ev.precision)).toEqual(flat(run.precision));
    if (run.scores) expect(Array.from(ev.scores)).toEqual(flat(run.scores));
    expect(E.perCategory()).toEqual(run.per_category);

    const first = E.evalImg(run.evalImgs[0]?.index as number ?? 0);
    const all = E.evalImgs;
    expect(all.length).toBe(run.evalImgs_len);
    expect(all.filter((e) => e !== null).length).toBe(run.evalImgs_nonnull);
    if (run.evalImgs.length) expect(first).toEqual(all[run.evalImgs[0].index as number]);
    for (const want of run.evalImgs) {
      const got = all[want.index as number];
      expect(got, `evalImgs[${want.index}]`).not.toBeNull();
      const g = got!;
      expect({
        index: want.index,
        image_id: g.image_id,
        category_id: g.category_id,
        aRng: g.aRng,
        maxDet: g.maxDet,
        dtIds: g.dtIds,
        gtIds: g.gtIds,
        dtMatches: g.dtMatches.map((r) => Array.from(r)),
        gtMatches: g.gtMatches.map((r) => Array.from(r)),
        dtScores: g.dtScores,
        gtIgnore: Array.from(g.gtIgnore),
        dtIgnore: g.dtIgnore.map((r) => Array.from(r)),
      }).toEqual(want);
    }
  });
});

/**
 * Error breakdown of detections in the spirit of the COCO analysis tool
 * (cocoapi `CocoEval.analyze`, Hoiem-style; Python port in mmdetection's
 * `coco_error_analysis.py`): precision/recall curves after removing one kind
 * of error at a time, each stage's AP bounding how much fixing that error could gain.
 *
 * - C75, C50: PR at IoU 0.75 and 0.5;
 * - Loc: PR at IoU 0.1 (localisation errors forgiven, duplicates still count);
 * - Sim: as Loc, and detections on objects of another class of the same
 *   supercategory are neither TP nor FP (those objects become crowd regions
 *   of the class, `iscrowd` = 1, as in the tool);
 * - Oth: the same for objects of any other class;
 * - BG: every remaining false positive removed (1 up to the recall reached, else 0);
 * - FN: every missed object found (1 everywhere).
 *
 * Stage curves are COCO's interpolated precision at `recThrs`, maxDets 100.
 * Category means leave out categories without ground truth in an area range
 * (COCO's -1), so C75 and C50 equal COCO's AP75 and AP50 at maxDets 100;
 * mmdetection's port counts such categories as 0. Browser-safe.
 */
import { COCO, type CocoAnnotation, type CocoDataset } from '../coco/coco';
import { ValueError } from '../tensor/errors';
import { COCOeval, type IouType } from './cocoeval';
import { svgPlot, type SvgSeries } from './cocoplots';

export const ANALYZE_STAGES = ['C75', 'C50', 'Loc', 'Sim', 'Oth', 'BG', 'FN'] as const;
export type AnalyzeStage = (typeof ANALYZE_STAGES)[number];

export interface AnalyzeOptions {
  /** Area ranges and labels (default COCO's all/small/medium/large; keypoints all/medium/large). */
  areaRng?: [number, number][];
  areaRngLbl?: string[];
  /** Detections kept per image (default 100). */
  maxDets?: number;
  /** Images to evaluate (default all ground-truth images). */
  imgIds?: number[];
  /** Categories to analyse (default all ground-truth categories). */
  catIds?: number[];
}

export interface CategoryAnalysis {
  category_id: number;
  name: string;
  supercategory: string;
  /** `ap[s][a]`: AP of stage s in area range a; -1 where the category has no ground truth there. */
  ap: number[][];
}

export interface AnalyzeResult {
  iouType: IouType;
  stages: readonly AnalyzeStage[];
  recall: number[];
  areaRngLbl: string[];
  maxDets: number;
  /** Stage precision, flat `[S][R][K][A]` (S = 7 stages); -1 where a category has no ground truth in a range. */
  precision: Float64Array;
  counts: [number, number, number, number];
  categories: CategoryAnalysis[];
  /** Over categories with ground truth: `ap[s][a]` and mean curves `precision[s][a][r]`. */
  overall: { ap: number[][]; precision: number[][][] };
}

/** Evaluates `dt` against `gt` with the given thresholds; returns precision [T][R][K][A][1]. */
function runEval(gt: COCO, dt: COCO, iouType: IouType, iouThrs: number[], imgIds: number[], catIds: number[], opts: AnalyzeOptions): COCOeval {
  const E = new COCOeval(gt, dt, iouType);
  E.params.imgIds = [...imgIds];
  E.params.catIds = [...catIds];
  E.params.iouThrs = iouThrs;
  E.params.maxDets = [opts.maxDets ?? 100];
  if (opts.areaRng) E.params.areaRng = opts.areaRng.map((r) => [r[0], r[1]]);
  if (opts.areaRngLbl) E.params.areaRngLbl = [...opts.areaRngLbl];
  E.evaluate();
  E.accumulate();
  return E;
}

/**
 * Ground truth where the annotations of `confused` categories become ignored
 * crowd regions of `catId`. Only images holding a detection of `catId` keep
 * them: elsewhere they could absorb nothing, and the evaluation is the same.
 */
function relabelled(cocoGt: COCO, catId: number, confused: Set<number>, dtImages: Set<number>): COCO {
  const anns: CocoAnnotation[] = [];
  for (const a of cocoGt.anns.values()) {
    if (a.category_id === catId) anns.push(a);
    else if (confused.has(a.category_id) && dtImages.has(a.image_id)) anns.push({ ...a, category_id: catId, iscrowd: 1, ignore: 1 });
  }
  const ds: CocoDataset = { images: cocoGt.dataset.images, categories: cocoGt.dataset.categories, annotations: anns };
  return new COCO(ds);
}

/**
 * Runs the analysis of `cocoDt` (e.g. `cocoGt.loadRes(results)`) against
 * `cocoGt`. Costs one COCOeval over all categories plus two single-category
 * evaluations per category.
 */
export function analyze(cocoGt: COCO, cocoDt: COCO, iouType: IouType, opts: AnalyzeOptions = {}): AnalyzeResult {
  const base = new COCOeval(cocoGt, cocoDt, iouType);
  const imgIds = opts.imgIds ?? base.params.imgIds;
  const catIds = [...new Set(opts.catIds ?? base.params.catIds)].sort((a, b) => a - b);
  if (catIds.length === 0) throw new ValueError('analyze: no categories to analyse');
  const main = runEval(cocoGt, cocoDt, iouType, [0.75, 0.5, 0.1], imgIds, catIds, opts);
  const ev = main.eval!;
  const [, R, K, A] = ev.counts;
  const S = ANALYZE_STAGES.length;
  const at = (s: number, r: number, k: number, a: number): number => ((s * R + r) * K + k) * A + a;
  const ps = new Float64Array(S * R * K * A);
  for (let s = 0; s < 3; s++) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) for (let a = 0; a < A; a++) ps[at(s, r, k, a)] = main.precisionAt(s, r, k, a, 0);

  const catInfo = (id: number) => cocoGt.cats.get(id);
  const dtByCat = new Map<number, CocoAnnotation[]>();
  for (const d of cocoDt.anns.values()) {
    const list = dtByCat.get(d.category_id);
    if (list) list.push(d);
    else dtByCat.set(d.category_id, [d]);
  }
  catIds.forEach((catId, k) => {
    const dets = dtByCat.get(catId) ?? [];
    const dtK = new COCO({ images: cocoDt.dataset.images, categories: cocoDt.dataset.categories, annotations: dets });
    const dtImages = new Set(dets.map((d) => d.image_id));
    const sup = catInfo(catId)?.supercategory;
    const sameSuper = new Set(sup === undefined ? [] : cocoGt.getCatIds({ supNms: [String(sup)] }).filter((c) => c !== catId));
    const others = new Set([...cocoGt.cats.keys()].filter((c) => c !== catId));
    [sameSuper, others].forEach((confused, j) => {
      const E = runEval(relabelled(cocoGt, catId, confused, dtImages), dtK, iouType, [0.1], imgIds, [catId], opts);
      for (let r = 0; r < R; r++) for (let a = 0; a < A; a++) ps[at(3 + j, r, k, a)] = E.precisionAt(0, r, 0, a, 0);
    });
    for (let a = 0; a < A; a++) {
      const valid = ps[at(1, 0, k, a)] !== -1;
      for (let r = 0; r < R; r++) {
        ps[at(5, r, k, a)] = valid ? (ps[at(4, r, k, a)] > 0 ? 1 : 0) : -1;
        ps[at(6, r, k, a)] = valid ? 1 : -1;
      }
    }
  });

  const apOf = (s: number, k: number, a: number): number => {
    if (ps[at(s, 0, k, a)] === -1) return -1;
    let sum = 0;
    for (let r = 0; r < R; r++) sum += ps[at(s, r, k, a)];
    return sum / R;
  };
  const categories = catIds.map((id, k) => ({
    category_id: id,
    name: String(catInfo(id)?.name ?? id),
    supercategory: String(catInfo(id)?.supercategory ?? ''),
    ap: ANALYZE_STAGES.map((_, s) => Array.from({ length: A }, (_, a) => apOf(s, k, a))),
  }));
  const overallPrecision = ANALYZE_STAGES.map((_, s) =>
    Array.from({ length: A }, (_, a) => {
      const ks = [...Array(K).keys()].filter((k) => ps[at(s, 0, k, a)] !== -1);
      return Array.from({ length: R }, (_, r) => (ks.length ? ks.reduce((acc, k) => acc + ps[at(s, r, k, a)], 0) / ks.length : -1));
    }),
  );
  const overallAp = overallPrecision.map((perArea) => perArea.map((c) => (c[0] === -1 ? -1 : c.reduce((x, y) => x + y, 0) / R)));
  return {
    iouType,
    stages: ANALYZE_STAGES,
    recall: [...ev.params.recThrs],
    areaRngLbl: [...ev.params.areaRngLbl],
    maxDets: ev.params.maxDets[0],
    precision: ps,
    counts: [S, R, K, A],
    categories,
    overall: { ap: overallAp, precision: overallPrecision },
  };
}

/** Text table: one row per category (and the overall row first), one column per stage, for one area range. */
export function formatAnalysis(res: AnalyzeResult, opts: { areaRng?: string; digits?: number } = {}): string {
  const a = areaIndex(res, opts.areaRng);
  const digits = opts.digits ?? 3;
  const num = (v: number): string => (v < 0 ? '-' : v.toFixed(digits));
  const rows = [
    ['category', ...res.stages],
    ['(all)', ...res.overall.ap.map((perArea) => num(perArea[a]))],
    ...res.categories.map((c) => [c.name, ...c.ap.map((perArea) => num(perArea[a]))]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function areaIndex(res: AnalyzeResult, lbl = 'all'): number {
  const a = res.areaRngLbl.indexOf(lbl);
  if (a < 0) throw new ValueError(`analyze: area range '${lbl}' is not one of ${res.areaRngLbl.join(', ')}`);
  return a;
}

const STAGE_COLORS: readonly [number, number, number][] = [
  [235, 235, 235], [190, 190, 190], [79, 130, 189], [192, 80, 77], [92, 230, 97], [128, 100, 162], [255, 153, 0],
];

/**
 * The analysis figure as SVG: stacked areas under each stage's PR curve (FN
 * at the back, C75 in front), legend `[AP] stage`, for one category id (or
 * the overall mean) and one area range.
 */
export function analysisToSvg(res: AnalyzeResult, opts: { categoryId?: number; areaRng?: string; width?: number; height?: number } = {}): string {
  const a = areaIndex(res, opts.areaRng);
  let curves: number[][];
  let aps: number[];
  let name: string;
  if (opts.categoryId === undefined) {
    curves = res.overall.precision.map((perArea) => perArea[a]);
    aps = res.overall.ap.map((perArea) => perArea[a]);
    name = 'overall';
  } else {
    const k = res.categories.findIndex((c) => c.category_id === opts.categoryId);
    if (k < 0) throw new ValueError(`analysisToSvg: category ${opts.categoryId} was not analysed`);
    const [, R, K, A] = res.counts;
    curves = res.stages.map((_, s) => Array.from({ length: R }, (_, r) => res.precision[((s * R + r) * K + k) * A + a]));
    aps = res.categories[k].ap.map((perArea) => perArea[a]);
    name = res.categories[k].name;
  }
  const series: SvgSeries[] = [];
  for (let s = res.stages.length - 1; s >= 0; s--) {
    series.push({ label: `[${aps[s] < 0 ? '-' : aps[s].toFixed(3)}] ${res.stages[s]}`, x: res.recall, y: curves[s].map((v) => Math.max(0, v)), color: STAGE_COLORS[s], fill: true });
  }
  return svgPlot({
    title: `${res.iouType} ${name} (area ${res.areaRngLbl[a]})`,
    xLabel: 'recall',
    yLabel: 'precision',
    width: opts.width,
    height: opts.height,
    series,
  });
}

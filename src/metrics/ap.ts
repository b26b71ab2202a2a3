/**
 * Average precision of one ranked list of detections, as the PASCAL VOC
 * devkit computes it (`voc_eval.py` / `voc_ap` of py-faster-rcnn and
 * detectron2): precision/recall from scored matches, then 11-point (VOC2007)
 * or all-point (VOC2010+) interpolation; COCO's 101-point interpolation for
 * comparison. Browser-safe, no dependencies.
 */
import { ShapeError, ValueError } from '../tensor/errors';
import { linspace, pairwiseSum } from './cocoeval';

/**
 * `'voc07'`: mean over recall levels t = 0, 0.1, ..., 1 of the best precision
 * at recall >= t (11 points); `'voc12'`: area under the precision envelope at
 * every recall change (all points, VOC2010 onwards); `'coco101'`: COCO's mean
 * over 101 recall thresholds of the envelope at the first recall >= threshold.
 */
export type ApMethod = 'voc07' | 'voc12' | 'coco101';

/** A precision/recall curve over detections ranked by descending score. */
export interface PrCurve {
  /** Scores in ranking order. */
  scores: Float64Array;
  /** Cumulative true positives and false positives. */
  tp: Float64Array;
  fp: Float64Array;
  /** `tp / numPositives`. */
  recall: Float64Array;
  /** `tp / max(tp + fp, eps)`. */
  precision: Float64Array;
}

/** `np.finfo(np.float64).eps`. */
const EPS = 2.220446049250313e-16;

/**
 * Precision and recall after each detection, ranked by descending score (ties
 * keep input order; the VOC devkit's unstable quicksort leaves them
 * unspecified). `isTruePositive[i]` is 1/true for a true positive, 0/false for
 * a false positive, and -1 for a detection that counts as neither (VOC's
 * match to a "difficult" object): it keeps its place in the curve, as in the devkit.
 * `numPositives` is the number of (non-difficult) ground-truth objects.
 */
export function precisionRecallCurve(
  scores: ArrayLike<number>,
  isTruePositive: ArrayLike<number | boolean>,
  numPositives: number,
): PrCurve {
  const n = scores.length;
  if (isTruePositive.length !== n) {
    throw new ShapeError(`precisionRecallCurve: isTruePositive has ${isTruePositive.length} entries, scores ${n}`);
  }
  if (!Number.isInteger(numPositives) || numPositives < 1) {
    throw new ValueError(`precisionRecallCurve: numPositives must be a positive integer (recall is undefined without positives), got ${numPositives}`);
  }
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new ValueError(`precisionRecallCurve: scores[${i}] is NaN`);
    const t = Number(isTruePositive[i]);
    if (t !== 0 && t !== 1 && t !== -1) throw new ValueError(`precisionRecallCurve: isTruePositive[${i}] must be 1, 0 or -1, got ${isTruePositive[i]}`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const out: PrCurve = {
    scores: new Float64Array(n),
    tp: new Float64Array(n),
    fp: new Float64Array(n),
    recall: new Float64Array(n),
    precision: new Float64Array(n),
  };
  let tp = 0;
  let fp = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r];
    const t = Number(isTruePositive[i]);
    if (t === 1) tp++;
    else if (t === 0) fp++;
    out.scores[r] = scores[i];
    out.tp[r] = tp;
    out.fp[r] = fp;
    out.recall[r] = tp / numPositives;
    out.precision[r] = tp / Math.max(tp + fp, EPS);
  }
  return out;
}

/**
 * Average precision of a precision/recall curve (`voc_ap` of the VOC devkit,
 * `use_07_metric` for `'voc07'`; the default is `'voc12'`). Follows numpy's
 * arithmetic: the 11 recall levels are `i * 0.1` (so 0.30000000000000004: a
 * recall of exactly 3/10 does not reach it, as in the devkit) and the
 * all-point sum is numpy's pairwise sum. Exact to the last bit against the devkit.
 */
export function averagePrecision(recall: ArrayLike<number>, precision: ArrayLike<number>, opts: { method?: ApMethod } = {}): number {
  const method = opts.method ?? 'voc12';
  const n = recall.length;
  if (precision.length !== n) throw new ShapeError(`averagePrecision: recall has ${n} entries, precision ${precision.length}`);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(recall[i]) || Number.isNaN(precision[i])) throw new ValueError(`averagePrecision: NaN at index ${i}`);
  }
  if (method === 'voc07') {
    let ap = 0;
    for (let k = 0; k <= 10; k++) {
      const t = k * 0.1;
      let p = -Infinity;
      for (let i = 0; i < n; i++) if (recall[i] >= t && precision[i] > p) p = precision[i];
      ap += (p === -Infinity ? 0 : p) / 11;
    }
    return ap;
  }
  if (method === 'voc12') {
    // sentinels: recall 0 and 1, precision 0 at both ends
    const mrec = new Float64Array(n + 2);
    const mpre = new Float64Array(n + 2);
    mrec.set(Float64Array.from(recall), 1);
    mrec[n + 1] = 1;
    mpre.set(Float64Array.from(precision), 1);
    for (let i = n + 1; i > 0; i--) if (mpre[i] > mpre[i - 1]) mpre[i - 1] = mpre[i];
    const terms: number[] = [];
    for (let i = 0; i < n + 1; i++) if (mrec[i + 1] !== mrec[i]) terms.push((mrec[i + 1] - mrec[i]) * mpre[i + 1]);
    return pairwiseSum(terms, 0, terms.length);
  }
  if (method === 'coco101') {
    const q = Float64Array.from(precision);
    for (let i = n - 1; i > 0; i--) if (q[i] > q[i - 1]) q[i - 1] = q[i];
    const thr = linspace(0, 1, 101);
    const vals = new Float64Array(101);
    let i = 0;
    for (let r = 0; r < 101; r++) {
      // searchsorted(recall, thr, 'left') on a non-decreasing recall
      while (i < n && recall[i] < thr[r]) i++;
      vals[r] = i < n ? q[i] : 0;
    }
    return pairwiseSum(vals, 0, 101) / 101;
  }
  throw new ValueError(`averagePrecision: method must be 'voc07', 'voc12' or 'coco101', got ${JSON.stringify(method)}`);
}

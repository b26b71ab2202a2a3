/**
 * COCOeval: pycocotools' detection evaluation (`pycocotools/cocoeval.py`)
 * reproduced to the last bit — same matching, same accumulation, same summary
 * lines and `stats` — for `bbox`, `segm` and `keypoints`.
 *
 * The observable behaviour follows pycocotools exactly, quirks included:
 * stable (mergesort) score ordering with ties in input order, detections cut
 * to `maxDets[-1]` per image, crowd / `ignore` / `num_keypoints == 0` ground
 * truth, inclusive area ranges, greedy matching where among equal IoUs the last
 * ground truth wins, `iouThrs = np.linspace(.5, .95, 10)`, `eps` added after
 * `fp + tp`, `searchsorted(..., 'left')`, -1 for absent categories, numpy's
 * pairwise summation in `summarize()`, and the summary's fixed maxDets (100 /
 * 20, cocoapi#558/#584) unless `summarize({ useMaxDets: true })`.
 *
 * The implementation is not pycocotools' structure: annotations are packed
 * into typed arrays once, grouped per (image, category) with a counting sort,
 * IoUs are written into reusable buffers, matching writes one byte per
 * (area range, threshold, detection), and `accumulate` sorts each category's
 * detections once for all area ranges, thresholds and maxDets. `evalImgs`
 * (pycocotools' per-image records) are rebuilt on demand from the same code.
 *
 * Browser-safe: no Node built-ins.
 */
import { COCO, requireNumber, requireNumbers, type CocoAnnotation } from '../coco/coco';
import { rleIou, type Rle } from '../coco/mask';
import { ValueError } from '../tensor/errors';
import { argsortDescending } from '../tensor/sort';

export type IouType = 'bbox' | 'segm' | 'keypoints';

/**
 * How `summarize` (and `perCategory`) sum before dividing for a mean:
 * numpy's pairwise summation over the whole array (numpy >= 2.0), or over
 * 8192-value buffers added one after another (numpy 1.x). They differ in the
 * last bits of some stats when more than 8192 values are averaged.
 */
export type Summation = 'pairwise_whole' | 'pairwise_blocks8192';

/** `np.spacing(1)`. */
const EPS = 2.220446049250313e-16;

/** `np.linspace(start, stop, num)` with numpy's arithmetic: `i * step + start`, last value exactly `stop`. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * numpy's pairwise summation (`pairwise_sum` in loops_utils.h): sequential
 * below 8 values, 8 interleaved accumulators up to 128, recursive halving at
 * multiples of 8 above.
 */
export function pairwiseSum(a: ArrayLike<number>, off: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
    let r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
    const end = n - (n % 8);
    let i = 8;
    for (; i < end; i += 8) {
      r0 += a[off + i]; r1 += a[off + i + 1]; r2 += a[off + i + 2]; r3 += a[off + i + 3];
      r4 += a[off + i + 4]; r5 += a[off + i + 5]; r6 += a[off + i + 6]; r7 += a[off + i + 7];
    }
    let res = (r0 + r1 + (r2 + r3)) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[off + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
}

/** `np.mean` of `n` values of `a` under the given summation variant. */
export function numpyMean(a: ArrayLike<number>, n: number, summation: Summation): number {
  if (summation === 'pairwise_whole') return pairwiseSum(a, 0, n) / n;
  let acc = 0;
  for (let off = 0; off < n; off += 8192) acc += pairwiseSum(a, off, Math.min(8192, n - off));
  return acc / n;
}

/**
 * Python's `'{:0.<d>f}'.format(x)`: like `toFixed` but ties (exactly
 * representable halves, e.g. 0.0625 at 3 digits) round half to even.
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const s = x.toFixed(digits);
  const ax = Math.abs(x);
  if (ax >= 1e21) return s;
  const full = ax.toFixed(100);
  const dot = full.indexOf('.');
  if (!/^50*$/.test(full.slice(dot + 1 + digits))) return s;
  const kept = full.slice(0, dot + 1 + digits);
  const last = Number(kept[kept.length - 1] === '.' ? kept[kept.length - 2] : kept[kept.length - 1]);
  if (last % 2 === 1) return s; // toFixed rounded the tie up, which is even here
  const truncated = digits === 0 ? kept.slice(0, -1) : kept;
  return (x < 0 && /[1-9]/.test(truncated) ? '-' : '') + truncated;
}

/**
 * pycocotools `Params`; attribute names kept as in pycocotools so settings
 * carry over (`useCats` is 1/0, `kpt_oks_sigmas` used by keypoints only).
 */
export class Params {
  iouType: IouType;
  imgIds: number[] = [];
  catIds: number[] = [];
  /** `np.linspace(.5, .95, 10)`: note 0.8999999999999999. */
  iouThrs: number[] = linspace(0.5, 0.95, 10);
  /** `np.linspace(0, 1, 101)`: `i * 0.01`, last 1. */
  recThrs: number[] = linspace(0, 1, 101);
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats: number = 1;
  kpt_oks_sigmas: number[] = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10);

  constructor(iouType: IouType = 'segm') {
    if (iouType !== 'bbox' && iouType !== 'segm' && iouType !== 'keypoints') {
      throw new ValueError(`COCOeval: iouType must be 'bbox', 'segm' or 'keypoints', got ${JSON.stringify(iouType)}`);
    }
    this.iouType = iouType;
    if (iouType === 'keypoints') {
      this.maxDets = [20];
      this.areaRng = [[0, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]];
      this.areaRngLbl = ['all', 'medium', 'large'];
    } else {
      this.maxDets = [1, 10, 100];
      this.areaRng = [[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]];
      this.areaRngLbl = ['all', 'small', 'medium', 'large'];
    }
  }

  /** A deep copy (pycocotools keeps one as `_paramsEval`). */
  clone(): Params {
    const p = new Params(this.iouType);
    p.imgIds = [...this.imgIds];
    p.catIds = [...this.catIds];
    p.iouThrs = [...this.iouThrs];
    p.recThrs = [...this.recThrs];
    p.maxDets = [...this.maxDets];
    p.areaRng = this.areaRng.map((r) => [r[0], r[1]] as [number, number]);
    p.areaRngLbl = [...this.areaRngLbl];
    p.useCats = this.useCats;
    p.kpt_oks_sigmas = [...this.kpt_oks_sigmas];
    return p;
  }
}

/** One entry of pycocotools' `evalImgs` (matches hold ids, 0 = unmatched). */
export interface EvalImg {
  image_id: number;
  category_id: number;
  aRng: [number, number];
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  /** `[T][D]`: id of the matched ground truth per threshold. */
  dtMatches: Float64Array[];
  /** `[T][G]`: id of the matched detection per threshold. */
  gtMatches: Float64Array[];
  dtScores: number[];
  gtIgnore: Uint8Array;
  /** `[T][D]`. */
  dtIgnore: Uint8Array[];
}

/**
 * `E.eval` after `accumulate()`: flat row-major arrays with pycocotools'
 * layouts, precision and scores `[T, R, K, A, M]`, recall `[T, K, A, M]`.
 */
export interface EvalResult {
  params: Params;
  counts: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

export interface SummarizeOptions {
  /** Where the 12 (10) summary lines go; default `console.log`. */
  log?: (line: string) => void;
  /** Summation variant for the means (default `'pairwise_whole'`, numpy >= 2). */
  summation?: Summation;
  /**
   * Fix pycocotools' summary bug (cocoapi#558/#584): stats[0] uses `maxDets[2]`
   * instead of a hard-coded 100, and keypoint stats use the last maxDets instead
   * of 20. Default false (pycocotools' numbers).
   */
  useMaxDets?: boolean;
}

/** Per-category summary (area 'all', last maxDets): AP over IoU .50:.95, AP50, AP75 and AR; -1 where undefined. */
export interface CategoryAP {
  category_id: number;
  ap: number;
  ap50: number;
  ap75: number;
  ar: number;
}

export interface EvaluateOptions {
  /** Called now and then with (units done, units total); the CLI draws a progress bar with it. */
  onProgress?: (done: number, total: number) => void;
}

/** Growable scratch buffers shared by every (image, category) unit. */
class Scratch {
  iou = new Float64Array(1024);
  dtm = new Float64Array(1024);
  dtIg = new Uint8Array(1024);
  gtm = new Float64Array(256);
  perm = new Int32Array(64);
  gtIg = new Uint8Array(64);
  outArea = new Uint8Array(128);
  e = new Float64Array(64);

  fit(D: number, G: number, T: number): void {
    if (this.iou.length < D * G) this.iou = new Float64Array(2 * D * G);
    if (this.dtm.length < T * D) {
      this.dtm = new Float64Array(2 * T * D);
      this.dtIg = new Uint8Array(2 * T * D);
    }
    if (this.gtm.length < T * G) this.gtm = new Float64Array(2 * T * G);
    if (this.perm.length < G) {
      this.perm = new Int32Array(2 * G);
      this.gtIg = new Uint8Array(2 * G);
    }
    if (this.outArea.length < D) this.outArea = new Uint8Array(2 * D);
  }
}

/** Packed annotations of one side (ground truth or detections) after evaluate's preparation. */
interface Packed {
  n: number;
  ids: Float64Array;
  area: Float64Array;
  /** xywh per annotation (bbox and keypoints). */
  box: Float64Array;
  /** Detections: score; ground truth: unused. */
  score: Float64Array;
  /** Ground truth: crowd flag and base ignore flag. */
  crowd: Uint8Array;
  ignore: Uint8Array;
  keypoints: Float64Array;
  /**
   * segm: RLE per annotation. Ground truth is decoded up front; a detection only when its
   * (image, category) has ground truth, since otherwise its mask is never compared.
   */
  rles: (Rle | null)[];
  anns: CocoAnnotation[];
  coco: COCO;
  /** CSR over units: members of unit u are `items[start[u] .. start[u + 1])`. */
  start: Int32Array;
  items: Int32Array;
}

/** State of one `evaluate()` call. */
interface Evaluated {
  p: Params;
  /** Category id of each slot (`[-1]` when useCats = 0). */
  catIds: number[];
  I: number;
  /** Category slots: K, or 1 when useCats = 0. */
  K: number;
  gt: Packed;
  dt: Packed;
  /** Detections kept per unit (`min(count, maxDets[-1])`), sorted by score in `dt.items`. */
  D: Int32Array;
  /** Offset of each unit's match codes: `[D][A][T]` bytes (one detection's codes together), 0 = false positive, 1 = true positive, 2 = ignored. */
  codeOff: Int32Array;
  codes: Uint8Array;
  /** Non-ignored ground truth per (category slot, area range). */
  npig: Float64Array;
}

/**
 * pycocotools `COCOeval(cocoGt, cocoDt, iouType)`. Set `params` fields,
 * then `evaluate()`, `accumulate()`, `summarize()`; read `stats`, `eval`,
 * `evalImgs` (built on first access), `perCategory()`.
 */
export class COCOeval {
  readonly cocoGt: COCO;
  readonly cocoDt: COCO;
  params: Params;
  stats: number[] = [];
  eval: EvalResult | null = null;
  private state: Evaluated | null = null;
  private evalImgsCache: (EvalImg | null)[] | null = null;
  private scratch = new Scratch();

  constructor(cocoGt: COCO, cocoDt: COCO, iouType: IouType = 'segm') {
    if (!(cocoGt instanceof COCO)) throw new ValueError('COCOeval: cocoGt must be a COCO object');
    if (!(cocoDt instanceof COCO)) throw new ValueError('COCOeval: cocoDt must be a COCO object (e.g. cocoGt.loadRes(results))');
    this.cocoGt = cocoGt;
    this.cocoDt = cocoDt;
    this.params = new Params(iouType);
    this.params.imgIds = [...cocoGt.getImgIds()].sort((a, b) => a - b);
    this.params.catIds = [...cocoGt.getCatIds()].sort((a, b) => a - b);
  }

  /**
   * Matches detections to ground truth per image, category and area range
   * (pycocotools `evaluate`). Like pycocotools it first replaces
   * `params.imgIds` (and `catIds` when useCats) by their sorted unique values
   * and sorts `maxDets`.
   */
  evaluate(opts: EvaluateOptions = {}): void {
    const p = this.params;
    checkParams(p);
    p.imgIds = uniqueSorted(p.imgIds);
    if (p.useCats) p.catIds = uniqueSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    const pe = p.clone();
    const I = pe.imgIds.length;
    const useCats = !!pe.useCats;
    const catSlots = uniqueSorted(pe.catIds);
    const K = useCats ? catSlots.length : 1;
    const imgIndex = new Map<number, number>();
    pe.imgIds.forEach((id, i) => imgIndex.set(id, i));
    const catIndex = new Map<number, number>();
    catSlots.forEach((id, k) => catIndex.set(id, k));
    // With useCats = 0 each image's list is its categories' lists in params.catIds order (duplicates repeat).
    const catOrder = useCats ? null : pe.catIds.map((c) => catIndex.get(c) as number);
    const kp = pe.iouType === 'keypoints';
    const nk = pe.kpt_oks_sigmas.length;
    const gt = pack(this.cocoGt, 'ground truth', pe, imgIndex, catIndex, catSlots.length, catOrder, false, nk);
    const dt = pack(this.cocoDt, 'detections', pe, imgIndex, catIndex, catSlots.length, catOrder, true, nk);
    const U = I * K;
    const T = pe.iouThrs.length;
    const A = pe.areaRng.length;
    const maxDet = pe.maxDets[pe.maxDets.length - 1];
    sortDetections(dt);
    const D = new Int32Array(U);
    const codeOff = new Int32Array(U + 1);
    for (let u = 0; u < U; u++) {
      D[u] = Math.min(dt.start[u + 1] - dt.start[u], maxDet);
      codeOff[u + 1] = codeOff[u] + A * T * D[u];
    }
    const st: Evaluated = { p: pe, catIds: useCats ? catSlots : [-1], I, K, gt, dt, D, codeOff, codes: new Uint8Array(codeOff[U]), npig: new Float64Array(K * A) };
    const every = Math.max(1, U >> 7);
    for (let u = 0; u < U; u++) {
      if (opts.onProgress && u % every === 0) opts.onProgress(u, U);
      const G = gt.start[u + 1] - gt.start[u];
      if (G === 0 && dt.start[u + 1] === dt.start[u]) continue;
      if (G === 0) {
        codesWithoutGt(st, u);
        continue;
      }
      const hasIou = this.computeIou(st, u, kp && !useCats);
      const k = u % K;
      for (let a = 0; a < A; a++) {
        st.npig[k * A + a] += this.match(st, u, a, hasIou);
        this.writeCodes(st, u, a);
      }
    }
    opts.onProgress?.(U, U);
    this.state = st;
    this.evalImgsCache = null;
    this.eval = null;
  }

  /** IoU (or OKS) of unit u's kept detections (rows) and ground truths (columns) into scratch.iou; false when pycocotools' `ious` is empty. */
  private computeIou(st: Evaluated, u: number, noOks: boolean): boolean {
    const { gt, dt } = st;
    const G = gt.start[u + 1] - gt.start[u];
    const Dk = st.D[u];
    const T = st.p.iouThrs.length;
    this.scratch.fit(Dk, G, T);
    if (G === 0 || Dk === 0 || noOks) return false;
    const out = this.scratch.iou;
    const g0 = gt.start[u], d0 = dt.start[u];
    switch (st.p.iouType) {
      case 'bbox':
        bboxIouInto(dt.box, dt.items, d0, Dk, gt.box, gt.items, g0, G, gt.crowd, out);
        break;
      case 'segm': {
        const dR: Rle[] = [], gR: Rle[] = [];
        const crowd = new Uint8Array(G);
        for (let d = 0; d < Dk; d++) dR.push(rleOf(dt, dt.items[d0 + d]));
        for (let g = 0; g < G; g++) {
          gR.push(rleOf(gt, gt.items[g0 + g]));
          crowd[g] = gt.crowd[gt.items[g0 + g]];
        }
        out.set(rleIou(dR, gR, crowd));
        break;
      }
      case 'keypoints':
        this.oksInto(st, u, out);
        break;
    }
    return true;
  }

  /** pycocotools `computeOks` for unit u. */
  private oksInto(st: Evaluated, u: number, out: Float64Array): void {
    const { gt, dt } = st;
    const sig = st.p.kpt_oks_sigmas;
    const nk = sig.length;
    if (this.scratch.e.length < 2 * nk) this.scratch.e = new Float64Array(2 * nk);
    const e = this.scratch.e;
    const G = gt.start[u + 1] - gt.start[u];
    const Dk = st.D[u];
    for (let j = 0; j < G; j++) {
      const gi = gt.items[gt.start[u] + j];
      const go = gi * 3 * nk;
      let k1 = 0;
      for (let q = 0; q < nk; q++) if (gt.keypoints[go + 3 * q + 2] > 0) k1++;
      const bx = gt.box[4 * gi], by = gt.box[4 * gi + 1], bw = gt.box[4 * gi + 2], bh = gt.box[4 * gi + 3];
      const x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
      const area = gt.area[gi] + EPS;
      for (let i = 0; i < Dk; i++) {
        const doff = dt.items[dt.start[u] + i] * 3 * nk;
        let n = 0;
        for (let q = 0; q < nk; q++) {
          const xd = dt.keypoints[doff + 3 * q], yd = dt.keypoints[doff + 3 * q + 1];
          let dx: number, dy: number;
          if (k1 > 0) {
            if (!(gt.keypoints[go + 3 * q + 2] > 0)) continue;
            dx = xd - gt.keypoints[go + 3 * q];
            dy = yd - gt.keypoints[go + 3 * q + 1];
          } else {
            dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
            dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
          }
          const v = 2 * sig[q];
          e[n++] = Math.exp(-((dx * dx + dy * dy) / (v * v) / area / 2));
        }
        out[i * G + j] = pairwiseSum(e, 0, n) / n;
      }
    }
  }

  /**
   * pycocotools `evaluateImg` for unit u and area range a, into scratch:
   * perm (ground truth, non-ignored first, stable), gtIg, dtm / dtIg `[T][D]`,
   * gtm `[T][G]`. Returns the number of non-ignored ground truths.
   */
  private match(st: Evaluated, u: number, a: number, hasIou: boolean): number {
    const { gt, dt, p } = st;
    const s = this.scratch;
    const G = gt.start[u + 1] - gt.start[u];
    const Dk = st.D[u];
    const T = p.iouThrs.length;
    const lo = p.areaRng[a][0], hi = p.areaRng[a][1];
    const g0 = gt.start[u], d0 = dt.start[u];
    const { perm, gtIg, dtm, dtIg, gtm, iou } = s;
    let nOk = 0;
    for (let g = 0; g < G; g++) {
      const gi = gt.items[g0 + g];
      const ar = gt.area[gi];
      if (!(gt.ignore[gi] || ar < lo || ar > hi)) perm[nOk++] = g;
    }
    for (let g = 0, j = nOk; g < G; g++) {
      const gi = gt.items[g0 + g];
      const ar = gt.area[gi];
      if (gt.ignore[gi] || ar < lo || ar > hi) perm[j++] = g;
    }
    for (let j = 0; j < G; j++) gtIg[j] = j < nOk ? 0 : 1;
    dtm.fill(0, 0, T * Dk);
    dtIg.fill(0, 0, T * Dk);
    gtm.fill(0, 0, T * G);
    for (let d = 0; d < Dk; d++) {
      const ar = dt.area[dt.items[d0 + d]];
      s.outArea[d] = ar < lo || ar > hi ? 1 : 0;
    }
    if (!hasIou) return nOk;
    for (let t = 0; t < T; t++) {
      const thr = Math.min(p.iouThrs[t], 1 - 1e-10);
      const gm = t * G;
      for (let d = 0; d < Dk; d++) {
        let best = thr;
        let m = -1;
        const row = d * G;
        for (let j = 0; j < G; j++) {
          const g = perm[j];
          if (gtm[gm + j] > 0 && !gt.crowd[gt.items[g0 + g]]) continue;
          if (m > -1 && gtIg[m] === 0 && gtIg[j] === 1) break;
          const v = iou[row + g];
          if (v < best) continue;
          best = v;
          m = j;
        }
        if (m === -1) continue;
        dtIg[t * Dk + d] = gtIg[m];
        dtm[t * Dk + d] = gt.ids[gt.items[g0 + perm[m]]];
        gtm[gm + m] = dt.ids[dt.items[d0 + d]];
      }
    }
    return nOk;
  }

  /** Condenses scratch dtm / dtIg / outArea into the unit's match codes for area range a. */
  private writeCodes(st: Evaluated, u: number, a: number): void {
    const T = st.p.iouThrs.length;
    const Dk = st.D[u];
    const { dtm, dtIg, outArea } = this.scratch;
    const AT = st.p.areaRng.length * T;
    const codes = st.codes;
    for (let d = 0, base = st.codeOff[u] + a * T; d < Dk; d++, base += AT) {
      for (let t = 0; t < T; t++) {
        const q = t * Dk + d;
        const matched = dtm[q] !== 0;
        codes[base + t] = dtIg[q] || (!matched && outArea[d]) ? 2 : matched ? 1 : 0;
      }
    }
  }

  private requireState(what: string): Evaluated {
    if (!this.state) throw new ValueError(`COCOeval.${what}: call evaluate() first`);
    return this.state;
  }

  /** pycocotools' `evalImgs`: `K*A*I` entries (index `k*A*I + a*I + i`), null where an image has neither ground truth nor detections of a category. Built on first access. */
  get evalImgs(): (EvalImg | null)[] {
    const st = this.requireState('evalImgs');
    if (this.evalImgsCache) return this.evalImgsCache;
    const A = st.p.areaRng.length;
    const out = new Array<EvalImg | null>(st.K * A * st.I).fill(null);
    for (let u = 0; u < st.I * st.K; u++) {
      if (st.gt.start[u + 1] === st.gt.start[u] && st.dt.start[u + 1] === st.dt.start[u]) continue;
      const hasIou = this.computeIou(st, u, st.p.iouType === 'keypoints' && !st.p.useCats);
      const i = Math.floor(u / st.K), k = u % st.K;
      for (let a = 0; a < A; a++) out[k * A * st.I + a * st.I + i] = this.record(st, u, a, hasIou);
    }
    this.evalImgsCache = out;
    return out;
  }

  /** One `evalImgs` entry without building the whole list. */
  evalImg(index: number): EvalImg | null {
    const st = this.requireState('evalImg');
    const A = st.p.areaRng.length;
    if (!Number.isInteger(index) || index < 0 || index >= st.K * A * st.I) throw new ValueError(`evalImg: index must be an integer in [0, ${st.K * A * st.I}), got ${index}`);
    if (this.evalImgsCache) return this.evalImgsCache[index];
    const k = Math.floor(index / (A * st.I)), a = Math.floor(index / st.I) % A, i = index % st.I;
    const u = i * st.K + k;
    if (st.gt.start[u + 1] === st.gt.start[u] && st.dt.start[u + 1] === st.dt.start[u]) return null;
    return this.record(st, u, a, this.computeIou(st, u, st.p.iouType === 'keypoints' && !st.p.useCats));
  }

  private record(st: Evaluated, u: number, a: number, hasIou: boolean): EvalImg {
    const { gt, dt, p } = st;
    this.match(st, u, a, hasIou);
    const s = this.scratch;
    const T = p.iouThrs.length;
    const G = gt.start[u + 1] - gt.start[u];
    const Dk = st.D[u];
    const g0 = gt.start[u], d0 = dt.start[u];
    const dtIgnore: Uint8Array[] = [];
    for (let t = 0; t < T; t++) {
      const row = new Uint8Array(Dk);
      for (let d = 0; d < Dk; d++) row[d] = s.dtIg[t * Dk + d] || (s.dtm[t * Dk + d] === 0 && s.outArea[d]) ? 1 : 0;
      dtIgnore.push(row);
    }
    const dtItems = Array.from(dt.items.subarray(d0, d0 + Dk));
    return {
      image_id: p.imgIds[Math.floor(u / st.K)],
      category_id: st.catIds[u % st.K],
      aRng: [p.areaRng[a][0], p.areaRng[a][1]],
      maxDet: p.maxDets[p.maxDets.length - 1],
      dtIds: dtItems.map((x) => dt.ids[x]),
      gtIds: Array.from({ length: G }, (_, j) => gt.ids[gt.items[g0 + s.perm[j]]]),
      dtMatches: Array.from({ length: T }, (_, t) => s.dtm.slice(t * Dk, (t + 1) * Dk)),
      gtMatches: Array.from({ length: T }, (_, t) => s.gtm.slice(t * G, (t + 1) * G)),
      dtScores: dtItems.map((x) => dt.score[x]),
      gtIgnore: s.gtIg.slice(0, G),
      dtIgnore,
    };
  }

  /**
   * Precision / recall / scores per (threshold, recall, category, area,
   * maxDets) (pycocotools `accumulate`), into `this.eval`. As in pycocotools,
   * `params.catIds` becomes `[-1]` when useCats = 0.
   */
  accumulate(): EvalResult {
    const st = this.requireState('accumulate');
    const p = st.p;
    if (!p.useCats) this.params.catIds = [-1];
    const T = p.iouThrs.length, R = p.recThrs.length, K = st.K, A = p.areaRng.length, M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const { dt, D, codeOff, codes, I } = st;
    const AT = A * T;
    // Every kept detection in unit order (image-major, then category, then score rank): for a fixed
    // category this is pycocotools' concatenation over images. One stable sort by descending score,
    // then a stable split by category, gives each category's accumulate order.
    const total = codeOff[I * K] / AT;
    const sc = new Float64Array(total), cat = new Int32Array(total), rank = new Int32Array(total);
    let n = 0;
    for (let u = 0; u < I * K; u++) {
      const s0 = dt.start[u];
      for (let r = 0; r < D[u]; r++, n++) {
        sc[n] = dt.score[dt.items[s0 + r]];
        cat[n] = u % K;
        rank[n] = r;
      }
    }
    const byScore = argsortDescending(sc);
    const kStart = new Int32Array(K + 1);
    for (let j = 0; j < total; j++) kStart[cat[j] + 1]++;
    for (let k = 0; k < K; k++) kStart[k + 1] += kStart[k];
    const fill = kStart.slice(0, K);
    const order = new Int32Array(total);
    for (let j = 0; j < total; j++) order[fill[cat[byScore[j]]]++] = byScore[j];
    let cap = 0;
    for (let k = 0; k < K; k++) cap = Math.max(cap, kStart[k + 1] - kStart[k]);
    const kc = new Uint8Array(cap * AT), selBuf = new Int32Array(cap);
    // Per IoU threshold: true-positive count, false-positive count, and for the i-th true positive
    // its position and (after the backward pass) the precision envelope there.
    const tpN = new Int32Array(T), fpN = new Int32Array(T);
    const stride = cap + 2;
    const tpPos = new Int32Array(T * stride), smax = new Float64Array(T * stride);
    const recThrs = p.recThrs;
    const maxDetLast = p.maxDets[M - 1];
    for (let k = 0; k < K; k++) {
      const k0 = kStart[k], nk = kStart[k + 1] - k0;
      // This category's codes in score order, one detection's A*T codes together.
      gatherCodes(kc, codes, order, k0, nk, AT);
      for (let m = 0; m < M; m++) {
        const maxDet = p.maxDets[m];
        // sel lists the positions kept under this maxDet; null when all are (the last maxDets).
        let nd = nk;
        const sel = maxDet >= maxDetLast ? null : selBuf;
        if (sel) {
          nd = 0;
          for (let j = 0; j < nk; j++) if (rank[order[k0 + j]] < maxDet) sel[nd++] = j;
        }
        for (let a = 0; a < A; a++) {
          const npig = st.npig[k * A + a];
          if (npig === 0) continue;
          // pycocotools: pr = tp / (fp + tp + eps) at every position, then a running max from the
          // right, read at searchsorted(tp / npig, recThrs, 'left'). Precision only rises at a true
          // positive, so the running max is a max over true-positive positions; the values and the
          // comparisons are the same doubles as pycocotools'.
          countMatches(kc, AT, a * T, T, nd, sel, tpN, fpN, tpPos, smax, stride);
          for (let t = 0; t < T; t++) {
            const tp = tpN[t];
            recall[((t * K + k) * A + a) * M + m] = nd ? tp / npig : 0;
            // precision / scores [t, :, k, a, m]: start and stride of the recall-threshold axis.
            const at0 = ((t * R * K + k) * A + a) * M + m;
            readPrecision(tpPos, smax, t * stride, tp, nd, npig, recThrs, precision, scores, at0, K * A * M, sc, order, k0, sel);
          }
        }
      }
    }
    this.eval = { params: this.params, counts: [T, R, K, A, M], precision, recall, scores };
    return this.eval;
  }

  private requireEval(what: string): EvalResult {
    if (!this.eval) throw new ValueError(`COCOeval.${what}: call accumulate() first`);
    return this.eval;
  }

  /** `E.eval['precision'][t, r, k, a, m]`. */
  precisionAt(t: number, r: number, k: number, a: number, m: number): number {
    const { precision, counts: [, R, K, A, M] } = this.requireEval('precisionAt');
    return precision[(((t * R + r) * K + k) * A + a) * M + m];
  }

  /** `E.eval['scores'][t, r, k, a, m]`. */
  scoresAt(t: number, r: number, k: number, a: number, m: number): number {
    const { scores, counts: [, R, K, A, M] } = this.requireEval('scoresAt');
    return scores[(((t * R + r) * K + k) * A + a) * M + m];
  }

  /** `E.eval['recall'][t, k, a, m]`. */
  recallAt(t: number, k: number, a: number, m: number): number {
    const { recall, counts: [, , K, A, M] } = this.requireEval('recallAt');
    return recall[((t * K + k) * A + a) * M + m];
  }

  /**
   * Prints pycocotools' 12 summary lines (10 for keypoints) and sets `stats`.
   * Means use numpy's pairwise summation (see {@link Summation}).
   */
  summarize(opts: SummarizeOptions = {}): number[] {
    const ev = this.requireEval('summarize');
    const st = this.requireState('summarize');
    const p = st.p;
    const log = opts.log ?? console.log;
    const summation = opts.summation ?? 'pairwise_whole';
    const [, R, K] = ev.counts;
    const buf = new Float64Array(ev.precision.length);
    const one = (ap: boolean, iouThr: number | undefined, areaLbl: string, maxDets: number): number => {
      if (maxDets === undefined) throw new ValueError(`summarize: params.maxDets needs at least 3 values for ${p.iouType} (pycocotools indexes maxDets[2]), got [${p.maxDets.join(', ')}]`);
      const ts = iouThr === undefined ? [...p.iouThrs.keys()] : [...p.iouThrs.keys()].filter((t) => p.iouThrs[t] === iouThr);
      const pairs = indexPairs(
        [...p.areaRngLbl.keys()].filter((a) => p.areaRngLbl[a] === areaLbl),
        [...p.maxDets.keys()].filter((m) => p.maxDets[m] === maxDets),
      );
      let n = 0;
      for (const t of ts) {
        for (let r = 0; r < (ap ? R : 1); r++) {
          for (let k = 0; k < K; k++) {
            for (const [a, m] of pairs) {
              const v = ap ? this.precisionAt(t, r, k, a, m) : this.recallAt(t, k, a, m);
              if (v > -1) buf[n++] = v;
            }
          }
        }
      }
      const mean = n === 0 ? -1 : numpyMean(buf, n, summation);
      const iouStr = iouThr === undefined ? `${pyFixed(p.iouThrs[0], 2)}:${pyFixed(p.iouThrs[p.iouThrs.length - 1], 2)}` : pyFixed(iouThr, 2);
      const title = ap ? 'Average Precision' : 'Average Recall';
      log(` ${title.padEnd(18)} ${ap ? '(AP)' : '(AR)'} @[ IoU=${iouStr.padEnd(9)} | area=${areaLbl.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${pyFixed(mean, 3)}`);
      return mean;
    };
    const md = p.maxDets;
    let stats: number[];
    if (p.iouType === 'keypoints') {
      const m = opts.useMaxDets ? md[md.length - 1] : 20;
      stats = [
        one(true, undefined, 'all', m), one(true, 0.5, 'all', m), one(true, 0.75, 'all', m),
        one(true, undefined, 'medium', m), one(true, undefined, 'large', m),
        one(false, undefined, 'all', m), one(false, 0.5, 'all', m), one(false, 0.75, 'all', m),
        one(false, undefined, 'medium', m), one(false, undefined, 'large', m),
      ];
    } else {
      stats = [
        one(true, undefined, 'all', opts.useMaxDets ? md[2] : 100),
        one(true, 0.5, 'all', md[2]), one(true, 0.75, 'all', md[2]),
        one(true, undefined, 'small', md[2]), one(true, undefined, 'medium', md[2]), one(true, undefined, 'large', md[2]),
        one(false, undefined, 'all', md[0]), one(false, undefined, 'all', md[1]), one(false, undefined, 'all', md[2]),
        one(false, undefined, 'small', md[2]), one(false, undefined, 'medium', md[2]), one(false, undefined, 'large', md[2]),
      ];
    }
    this.stats = stats;
    return stats;
  }

  /**
   * Per-category AP table (not in pycocotools): for each category slot, the
   * mean of precision over all IoU thresholds and recall thresholds (`ap`), at
   * IoU 0.5 / 0.75 (`ap50` / `ap75`, -1 if no such threshold), and the mean
   * recall over thresholds (`ar`), at area index 0 and the last maxDets,
   * averaging entries > -1 (-1 if none).
   */
  perCategory(summation: Summation = 'pairwise_whole'): CategoryAP[] {
    const ev = this.requireEval('perCategory');
    const p = this.requireState('perCategory').p;
    const [T, R, , , M] = ev.counts;
    const buf = new Float64Array(T * R);
    const meanOver = (ts: number[], ap: boolean, k: number): number => {
      let n = 0;
      for (const t of ts) {
        for (let r = 0; r < (ap ? R : 1); r++) {
          const v = ap ? this.precisionAt(t, r, k, 0, M - 1) : this.recallAt(t, k, 0, M - 1);
          if (v > -1) buf[n++] = v;
        }
      }
      return n === 0 ? -1 : numpyMean(buf, n, summation);
    };
    const all = [...p.iouThrs.keys()];
    const at = (x: number) => all.filter((t) => p.iouThrs[t] === x);
    return this.requireState('perCategory').catIds.map((category_id, k) => ({
      category_id,
      ap: meanOver(all, true, k),
      ap50: meanOver(at(0.5), true, k),
      ap75: meanOver(at(0.75), true, k),
      ar: meanOver(all, false, k),
    }));
  }
}

/**
 * One pass over a category's detections in score order (positions `sel[j]`,
 * or j when sel is null) for one area range: per IoU threshold t the number
 * of true and false positives, and for the i-th true positive its position
 * (`tpPos[t*stride + i]`) and precision `i / (fp + i + eps)` (`smax`). Its
 * own small function so that V8 optimises it after a few calls, even in a
 * single cold evaluation.
 */
function countMatches(
  kc: Uint8Array, AT: number, aT: number, T: number, nd: number, sel: Int32Array | null,
  tpN: Int32Array, fpN: Int32Array, tpPos: Int32Array, smax: Float64Array, stride: number,
): void {
  tpN.fill(0);
  fpN.fill(0);
  for (let j = 0; j < nd; j++) {
    const row = (sel ? sel[j] : j) * AT + aT;
    for (let t = 0; t < T; t++) {
      const c = kc[row + t];
      if (c === 1) {
        const i = ++tpN[t];
        tpPos[t * stride + i] = j;
        smax[t * stride + i] = i / (fpN[t] + i + EPS);
      } else if (c === 0) fpN[t]++;
    }
  }
}

/** Copies the A*T codes of each of a category's detections (global numbers `order[k0 + j]`) into kc in score order. */
function gatherCodes(kc: Uint8Array, codes: Uint8Array, order: Int32Array, k0: number, nk: number, AT: number): void {
  for (let j = 0; j < nk; j++) {
    const src = order[k0 + j] * AT, dst = j * AT;
    for (let q = 0; q < AT; q++) kc[dst + q] = codes[src + q];
  }
}

/**
 * Precision and score at each recall threshold for one row (pycocotools:
 * envelope of pr from the right, read at `searchsorted(tp / npig, recThrs,
 * 'left')`, 0 past the last recall). `tpPos` / `smax` at offset `o` hold the
 * row's true positives (1-based) from {@link countMatches}; the envelope is
 * made here. Output entries at `at0 + ri * step`.
 */
function readPrecision(
  tpPos: Int32Array, smax: Float64Array, o: number, tp: number, nd: number, npig: number, recThrs: readonly number[],
  precision: Float64Array, scores: Float64Array, at0: number, step: number,
  sc: Float64Array, order: Int32Array, k0: number, sel: Int32Array | null,
): void {
  smax[o + tp + 1] = 0;
  for (let i = tp - 1; i >= 1; i--) if (smax[o + i + 1] > smax[o + i]) smax[o + i] = smax[o + i + 1];
  // Position 0: its envelope is smax[1] (0 without true positives); recall 1/npig if it is a true positive.
  const rc0 = tp > 0 && tpPos[o + 1] === 0 ? 1 / npig : 0;
  const R = recThrs.length;
  let ri = 0;
  for (; ri < R && nd > 0; ri++) {
    const x = recThrs[ri];
    let pi: number, v: number;
    if (!(rc0 < x)) {
      pi = 0;
      v = smax[o + 1];
    } else {
      let lo = 1, hi = tp + 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (mid / npig < x) lo = mid + 1;
        else hi = mid;
      }
      if (lo > tp) break;
      pi = tpPos[o + lo];
      v = smax[o + lo];
    }
    precision[at0 + ri * step] = v;
    scores[at0 + ri * step] = sc[order[k0 + (sel ? sel[pi] : pi)]];
  }
  for (; ri < R; ri++) {
    precision[at0 + ri * step] = 0;
    scores[at0 + ri * step] = 0;
  }
}

/** Codes of a unit without ground truth: every detection unmatched, ignored when its area is outside the range. */
function codesWithoutGt(st: Evaluated, u: number): void {
  const { p, dt, codes } = st;
  const T = p.iouThrs.length, A = p.areaRng.length;
  let base = st.codeOff[u];
  for (let d = 0; d < st.D[u]; d++) {
    const ar = dt.area[dt.items[dt.start[u] + d]];
    for (let a = 0; a < A; a++, base += T) codes.fill(ar < p.areaRng[a][0] || ar > p.areaRng[a][1] ? 2 : 0, base, base + T);
  }
}

/** numpy advanced indexing `[..., aind, mind]`: equal lengths pair up, a single index broadcasts. */
function indexPairs(aind: number[], mind: number[]): [number, number][] {
  if (aind.length === mind.length) return aind.map((a, j) => [a, mind[j]]);
  if (aind.length === 1) return mind.map((m) => [aind[0], m]);
  if (mind.length === 1) return aind.map((a) => [a, mind[0]]);
  throw new ValueError(`summarize: ${aind.length} area ranges and ${mind.length} maxDets match the requested labels; numpy cannot broadcast these`);
}


function uniqueSorted(xs: readonly number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

function checkNumberList(xs: unknown, name: string, nonEmpty: boolean): void {
  if (!Array.isArray(xs) || !xs.every((x) => typeof x === 'number' && !Number.isNaN(x)) || (nonEmpty && xs.length === 0)) {
    throw new ValueError(`COCOeval params.${name} must be ${nonEmpty ? 'a non-empty' : 'an'} array of numbers, got ${JSON.stringify(xs)}`);
  }
}

function checkParams(p: Params): void {
  checkNumberList(p.imgIds, 'imgIds', false);
  checkNumberList(p.catIds, 'catIds', false);
  checkNumberList(p.iouThrs, 'iouThrs', true);
  checkNumberList(p.recThrs, 'recThrs', true);
  checkNumberList(p.maxDets, 'maxDets', true);
  if (!p.maxDets.every((m) => Number.isInteger(m) && m > 0)) throw new ValueError(`COCOeval params.maxDets must be positive integers, got [${p.maxDets.join(', ')}]`);
  if (!Array.isArray(p.areaRng) || p.areaRng.length === 0 || !p.areaRng.every((r) => Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number'))) {
    throw new ValueError(`COCOeval params.areaRng must be a non-empty array of [min, max] pairs, got ${JSON.stringify(p.areaRng)}`);
  }
  if (!Array.isArray(p.areaRngLbl) || p.areaRngLbl.length !== p.areaRng.length) {
    throw new ValueError(`COCOeval params.areaRngLbl must hold one label per area range (${p.areaRng.length}), got ${JSON.stringify(p.areaRngLbl)}`);
  }
  if (p.iouType === 'keypoints') {
    checkNumberList(p.kpt_oks_sigmas, 'kpt_oks_sigmas', true);
  }
}

/**
 * Packs the annotations of `coco` that fall in params' images (and
 * categories) into typed arrays grouped per unit (image, category slot) in
 * file order, validating the fields the evaluation reads.
 */
function pack(
  coco: COCO,
  side: string,
  p: Params,
  imgIndex: Map<number, number>,
  catIndex: Map<number, number>,
  nCat: number,
  catOrder: number[] | null,
  isDt: boolean,
  nk: number,
): Packed {
  const all = coco.dataset.annotations ?? [];
  if (coco.anns.size !== all.length) throw new ValueError(`COCOeval: ${side} annotation ids are not unique`);
  const sel: CocoAnnotation[] = [];
  const bucket = new Int32Array(all.length);
  for (const ann of all) {
    const i = imgIndex.get(ann.image_id);
    if (i === undefined) continue;
    const c = catIndex.get(ann.category_id);
    if (c === undefined) continue;
    bucket[sel.length] = i * nCat + c;
    sel.push(ann);
  }
  const n = sel.length;
  const ids = new Float64Array(n), area = new Float64Array(n), score = new Float64Array(n);
  const crowd = new Uint8Array(n), ignore = new Uint8Array(n);
  const iouType = p.iouType;
  const box = iouType === 'segm' ? new Float64Array(0) : new Float64Array(4 * n);
  const keypoints = iouType === 'keypoints' ? new Float64Array(3 * nk * n) : new Float64Array(0);
  const rles: (Rle | null)[] = [];
  // Hot for 10^5-10^6 annotations: check inline, build error messages only on failure.
  const where = (ann: CocoAnnotation) => `${side} annotation ${ann.id}`;
  for (let j = 0; j < n; j++) {
    const ann = sel[j];
    ids[j] = ann.id;
    const ar = ann.area;
    area[j] = typeof ar === 'number' && ar === ar ? ar : requireNumber(ann, 'area', where(ann));
    if (isDt) {
      const sc = ann.score;
      score[j] = typeof sc === 'number' && sc === sc ? sc : requireNumber(ann, 'score', where(ann));
    } else {
      const c = ann.iscrowd;
      if (typeof c !== 'number' && typeof c !== 'boolean') throw new ValueError(`${where(ann)}.iscrowd must be 0 or 1, got ${c === undefined ? 'undefined (missing)' : JSON.stringify(c)}`);
      crowd[j] = c ? 1 : 0;
      ignore[j] = crowd[j];
      if (iouType === 'keypoints' && requireNumber(ann, 'num_keypoints', where(ann)) === 0) ignore[j] = 1;
    }
    if (iouType !== 'segm') {
      const bb = ann.bbox;
      if (!Array.isArray(bb) || bb.length !== 4) requireNumbers(ann, 'bbox', where(ann), 4);
      for (let q = 0; q < 4; q++) {
        const v = (bb as number[])[q];
        if (typeof v !== 'number' || v !== v) requireNumbers(ann, 'bbox', where(ann), 4);
        box[4 * j + q] = v;
      }
    }
    if (iouType === 'keypoints') {
      const kps = requireNumbers(ann, 'keypoints', where(ann));
      if (kps.length !== 3 * nk) throw new ValueError(`${where(ann)}.keypoints must hold ${3 * nk} numbers (x, y, v per kpt_oks_sigmas entry), got ${kps.length}`);
      keypoints.set(kps, 3 * nk * j);
    }
    if (iouType === 'segm') rles.push(isDt ? null : coco.annToRle(ann));
  }
  // Counting sort into (image, category) buckets, file order kept.
  const nb = imgIndex.size * nCat;
  const bstart = new Int32Array(nb + 1);
  for (let j = 0; j < n; j++) bstart[bucket[j] + 1]++;
  for (let b = 0; b < nb; b++) bstart[b + 1] += bstart[b];
  const fill = bstart.slice(0, nb);
  const bitems = new Int32Array(n);
  for (let j = 0; j < n; j++) bitems[fill[bucket[j]]++] = j;
  let start = bstart, items = bitems;
  if (catOrder) {
    // useCats = 0: unit i is the concatenation of (i, c) for c in params.catIds order.
    const I = imgIndex.size;
    start = new Int32Array(I + 1);
    const out: number[] = [];
    for (let i = 0; i < I; i++) {
      for (const c of catOrder) for (let q = bstart[i * nCat + c]; q < bstart[i * nCat + c + 1]; q++) out.push(bitems[q]);
      start[i + 1] = out.length;
    }
    items = Int32Array.from(out);
  }
  return { n, ids, area, box, score, crowd, ignore, keypoints, rles, anns: sel, coco, start, items };
}

function rleOf(side: Packed, j: number): Rle {
  return (side.rles[j] ??= side.coco.annToRle(side.anns[j]));
}

/** Sorts each unit's detections by descending score, ties in input order (numpy mergesort of -score). */
function sortDetections(dt: Packed): void {
  const { start, items, score } = dt;
  const U = start.length - 1;
  for (let u = 0; u < U; u++) {
    const s = start[u], e = start[u + 1];
    if (e - s < 2) continue;
    if (e - s <= 32) {
      for (let j = s + 1; j < e; j++) {
        const x = items[j];
        let q = j - 1;
        while (q >= s && score[items[q]] < score[x]) {
          items[q + 1] = items[q];
          q--;
        }
        items[q + 1] = x;
      }
    } else {
      // Ties must keep the unit's current order (category-major when useCats = 0), not annotation order.
      const cur = items.slice(s, e);
      const pos = Int32Array.from(cur.keys());
      pos.sort((x, y) => (score[cur[x]] > score[cur[y]] ? -1 : score[cur[x]] < score[cur[y]] ? 1 : x - y));
      for (let j = 0; j < pos.length; j++) items[s + j] = cur[pos[j]];
    }
  }
}

/**
 * maskApi.c `bbIou` for one unit: detections `dItems[d0 .. d0+D)` (rows) vs
 * ground truths `gItems[g0 .. g0+G)` (columns), xywh boxes, crowd ground
 * truth divides by the detection's area. Output row-major D x G.
 */
function bboxIouInto(
  dBox: Float64Array, dItems: Int32Array, d0: number, D: number,
  gBox: Float64Array, gItems: Int32Array, g0: number, G: number,
  crowd: Uint8Array, out: Float64Array,
): void {
  for (let g = 0; g < G; g++) {
    const gi = gItems[g0 + g] * 4;
    const gx = gBox[gi], gy = gBox[gi + 1], gw = gBox[gi + 2], gh = gBox[gi + 3];
    const ga = gw * gh;
    const isCrowd = crowd[gItems[g0 + g]] !== 0;
    for (let d = 0; d < D; d++) {
      const di = dItems[d0 + d] * 4;
      const dx = dBox[di], dy = dBox[di + 1], dw = dBox[di + 2], dh = dBox[di + 3];
      const da = dw * dh;
      let v = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w > 0) {
        const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
        if (h > 0) {
          const i = w * h;
          v = i / (isCrowd ? da : da + ga - i);
        }
      }
      out[d * G + g] = v;
    }
  }
}

/**
 * Non-maximum suppression: torchvision 0.14's `nms` and `batched_nms` (exact, ties
 * included) and Soft-NMS (Bodla et al. 2017, arXiv 1704.04503).
 *
 * The hard NMS result is the one of torchvision's greedy CPU kernel
 * (`nms_kernel.cpp`): boxes visited by decreasing score (stable sort, NaN first),
 * each kept box suppressing every later box whose IoU with it is `> iouThreshold`,
 * IoU evaluated in the boxes' dtype with the kernel's operation order. It is computed
 * without comparing boxes that cannot overlap: kept boxes are indexed in a uniform
 * grid and a candidate only meets the kept boxes of the cells it covers. Pairs that
 * do not overlap have IoU 0 (or NaN) and can only suppress under a negative
 * threshold, which therefore takes the plain quadratic path.
 */
import { expectDType, expectNdim, expectNumber, expectTensor, describe } from '../tensor/check';
import { allocate, type DType } from '../tensor/dtype';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { argsortDescending } from '../tensor/sort';
import { Tensor } from '../tensor/tensor';


/** Normalised arguments of {@link nms}, shared with the WebGPU backend. */
export interface NmsPlan {
  numBoxes: number;
  iouThreshold: number;
  /** IoU is evaluated with float32 rounding (float32 boxes). */
  float32: boolean;
  /** Contiguous `[N, 4]` boxes and `[N]` scores. */
  boxes: Tensor;
  scores: Tensor;
}

/**
 * Checks `nms` arguments the way torchvision does: `boxes [N, 4]` float32/float64,
 * `scores [N]` of the same dtype, a numeric threshold (NaN suppresses nothing).
 */
export function resolveNms(boxes: unknown, scores: unknown, iouThreshold: unknown, op = 'nms'): NmsPlan {
  expectTensor(op, 'boxes', boxes);
  expectTensor(op, 'scores', scores);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) {
    throw new ShapeError(`${op}(): argument 'boxes' must have shape [N, 4], got ${fmtShape(boxes.shape)}`);
  }
  expectNdim(op, 'scores', scores, [1]);
  expectDType(op, 'boxes', boxes, ['float32', 'float64']);
  if (scores.dtype !== boxes.dtype) {
    throw new DTypeError(`${op}(): 'boxes' (${boxes.dtype}) and 'scores' (${scores.dtype}) must have the same dtype`);
  }
  if (boxes.shape[0] !== scores.shape[0]) {
    throw new ShapeError(`${op}(): 'boxes' and 'scores' must have the same number of elements in dimension 0, got ${boxes.shape[0]} and ${scores.shape[0]}`);
  }
  const thr = expectNumber(op, 'iouThreshold', iouThreshold, { finite: false });
  return { numBoxes: boxes.shape[0], iouThreshold: thr, float32: boxes.dtype === 'float32', boxes: boxes.contiguous(), scores: scores.contiguous() };
}

/**
 * The order NMS visits boxes in: scores decreasing, ties in index order, NaN first and
 * -0 equal to +0 (torch's `sort(stable=True, descending=True)`, see {@link argsortDescending}).
 */
export function nmsSortOrder(scores: Float32Array | Float64Array): Int32Array {
  return argsortDescending(scores);
}

/**
 * Whether kept box `i` suppresses box `j`: torchvision's CPU kernel statement by
 * statement, including `std::max`/`std::min` argument order (so a NaN coordinate of
 * `j` is ignored where the kernel ignores it) and float32 rounding when `f32`.
 */
function suppresses(x: Float64Array, areas: Float64Array, i: number, j: number, thr: number, f32: boolean): boolean {
  const i4 = 4 * i;
  const j4 = 4 * j;
  const ix1 = x[i4];
  const iy1 = x[i4 + 1];
  const ix2 = x[i4 + 2];
  const iy2 = x[i4 + 3];
  const jx1 = x[j4];
  const jy1 = x[j4 + 1];
  const jx2 = x[j4 + 2];
  const jy2 = x[j4 + 3];
  let w = (jx2 < ix2 ? jx2 : ix2) - (ix1 < jx1 ? jx1 : ix1);
  let h = (jy2 < iy2 ? jy2 : iy2) - (iy1 < jy1 ? jy1 : iy1);
  if (f32) {
    w = Math.fround(w);
    h = Math.fround(h);
  }
  w = 0 < w ? w : 0;
  h = 0 < h ? h : 0;
  let ovr: number;
  if (f32) {
    const inter = Math.fround(w * h);
    ovr = Math.fround(inter / Math.fround(Math.fround(areas[i] + areas[j]) - inter));
  } else {
    const inter = w * h;
    ovr = inter / (areas[i] + areas[j] - inter);
  }
  return ovr > thr;
}

/** Areas `(x2 - x1) * (y2 - y1)` in the boxes' precision. */
function nmsAreas(x: Float64Array, n: number, f32: boolean): Float64Array {
  const areas = new Float64Array(n);
  for (let i = 0, k = 0; i < n; i++, k += 4) {
    areas[i] = f32 ? Math.fround(Math.fround(x[k + 2] - x[k]) * Math.fround(x[k + 3] - x[k + 1])) : (x[k + 2] - x[k]) * (x[k + 3] - x[k + 1]);
  }
  return areas;
}

/** The plain greedy: each candidate against every kept box (any threshold, NaN-exact). */
function greedyPlain(x: Float64Array, areas: Float64Array, order: Int32Array, thr: number, f32: boolean): Int32Array {
  const n = order.length;
  const keep = new Int32Array(n);
  let kept = 0;
  for (let r = 0; r < n; r++) {
    const j = order[r];
    let alive = true;
    for (let k = 0; k < kept; k++) {
      if (suppresses(x, areas, keep[k], j, thr, f32)) {
        alive = false;
        break;
      }
    }
    if (alive) keep[kept++] = j;
  }
  return keep.slice(0, kept);
}

/**
 * A uniform grid over the boxes that can overlap anything: finite, positive width and
 * height. A box covers the cells its closed extent touches; two boxes whose open
 * extents intersect share a cell because the cell map is monotone.
 */
interface Grid {
  x0: number;
  y0: number;
  invW: number;
  invH: number;
  cols: number;
  rows: number;
}

/** Boxes spanning more cells than this live in one list that everyone checks. */
const BIG_SPAN = 32;
/** Up to this many boxes to compare with, a plain scan is cheaper than walking grid cells. */
const LINEAR_SCAN = 32;

function buildGrid(x: Float64Array, proper: Int32Array, count: number, pad: number): Grid {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  // Median width and height from a sample of at most ~256 boxes.
  const step = Math.max(1, Math.floor(count / 256));
  const ws = new Float64Array(Math.ceil(count / step));
  const hs = new Float64Array(ws.length);
  for (let t = 0; t < count; t++) {
    const k = 4 * proper[t];
    if (x[k] < x0) x0 = x[k];
    if (x[k + 1] < y0) y0 = x[k + 1];
    if (x[k + 2] + pad > x1) x1 = x[k + 2] + pad;
    if (x[k + 3] + pad > y1) y1 = x[k + 3] + pad;
    if (t % step === 0) {
      ws[t / step] = x[k + 2] + pad - x[k];
      hs[t / step] = x[k + 3] + pad - x[k + 1];
    }
  }
  ws.sort();
  hs.sort();
  const spanX = Math.max(x1 - x0, Number.MIN_VALUE);
  const spanY = Math.max(y1 - y0, Number.MIN_VALUE);
  // Cells about the size of a typical box, at most ~2 cells per box overall.
  let cols = Math.min(4096, Math.max(1, Math.ceil(spanX / ws[ws.length >> 1])));
  let rows = Math.min(4096, Math.max(1, Math.ceil(spanY / hs[hs.length >> 1])));
  const limit = Math.max(64, 2 * count);
  if (cols * rows > limit) {
    const s = Math.sqrt((cols * rows) / limit);
    cols = Math.max(1, Math.floor(cols / s));
    rows = Math.max(1, Math.floor(rows / s));
  }
  return { x0, y0, invW: cols / spanX, invH: rows / spanY, cols, rows };
}

function cellOf(v: number, origin: number, inv: number, size: number): number {
  const c = Math.floor((v - origin) * inv);
  return c < 0 ? 0 : c >= size ? size - 1 : c;
}

/** Singly linked lists of box indices per grid cell, in growable typed arrays. */
class CellLists {
  readonly head: Int32Array;
  box: Int32Array;
  next: Int32Array;
  size = 0;

  constructor(cells: number, capacity: number) {
    this.head = new Int32Array(cells).fill(-1);
    this.box = new Int32Array(Math.max(16, capacity));
    this.next = new Int32Array(this.box.length);
  }

  push(cell: number, b: number): void {
    if (this.size === this.box.length) {
      const box = new Int32Array(this.size * 2);
      const next = new Int32Array(this.size * 2);
      box.set(this.box);
      next.set(this.next);
      this.box = box;
      this.next = next;
    }
    this.box[this.size] = b;
    this.next[this.size] = this.head[cell];
    this.head[cell] = this.size++;
  }
}

/** Greedy NMS for thresholds >= 0 (or NaN) over a grid of the kept boxes. */
function greedyGrid(x: Float64Array, areas: Float64Array, order: Int32Array, thr: number, f32: boolean): Int32Array {
  const n = order.length;
  const proper = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const k = 4 * i;
    // NaN fails both comparisons; with x2 > x1 finite ends make both finite.
    if (x[k + 2] > x[k] && x[k + 3] > x[k + 1] && x[k] > -Infinity && x[k + 2] < Infinity && x[k + 1] > -Infinity && x[k + 3] < Infinity) proper[count++] = i;
  }
  const isProper = new Uint8Array(n);
  for (let t = 0; t < count; t++) isProper[proper[t]] = 1;
  const keep = new Int32Array(n);
  let kept = 0;
  if (count === 0) {
    keep.set(order);
    return keep;
  }
  const g = buildGrid(x, proper, count, 0);
  const lists = new CellLists(g.cols * g.rows, count);
  const big = new Int32Array(n);
  let bigCount = 0;
  const keptProper = new Int32Array(n);
  let keptProperCount = 0;
  const seen = new Int32Array(n).fill(-1);
  for (let r = 0; r < n; r++) {
    const j = order[r];
    if (isProper[j] === 0) {
      // Never suppresses nor is suppressed at a threshold >= 0: IoU is 0, NaN or 0/inf.
      keep[kept++] = j;
      continue;
    }
    const k = 4 * j;
    const cx1 = cellOf(x[k], g.x0, g.invW, g.cols);
    const cx2 = cellOf(x[k + 2], g.x0, g.invW, g.cols);
    const cy1 = cellOf(x[k + 1], g.y0, g.invH, g.rows);
    const cy2 = cellOf(x[k + 3], g.y0, g.invH, g.rows);
    const span = (cx2 - cx1 + 1) * (cy2 - cy1 + 1);
    let alive = true;
    if (span > BIG_SPAN || keptProperCount <= LINEAR_SCAN) {
      for (let t = 0; t < keptProperCount && alive; t++) if (suppresses(x, areas, keptProper[t], j, thr, f32)) alive = false;
    } else {
      for (let t = 0; t < bigCount && alive; t++) if (suppresses(x, areas, big[t], j, thr, f32)) alive = false;
      scan: for (let cy = cy1; cy <= cy2 && alive; cy++) {
        for (let cx = cx1; cx <= cx2; cx++) {
          for (let node = lists.head[cy * g.cols + cx]; node >= 0; node = lists.next[node]) {
            const i = lists.box[node];
            if (seen[i] === r) continue;
            seen[i] = r;
            if (suppresses(x, areas, i, j, thr, f32)) {
              alive = false;
              break scan;
            }
          }
        }
      }
    }
    if (!alive) continue;
    keep[kept++] = j;
    keptProper[keptProperCount++] = j;
    if (span > BIG_SPAN) big[bigCount++] = j;
    else for (let cy = cy1; cy <= cy2; cy++) for (let cx = cx1; cx <= cx2; cx++) lists.push(cy * g.cols + cx, j);
  }
  return keep.slice(0, kept);
}

/** Greedy NMS over coordinates `x` (`4n` doubles holding values of the boxes' dtype). */
function nmsCore(x: Float64Array, scores: Float32Array | Float64Array, thr: number, f32: boolean): Int32Array {
  const order = nmsSortOrder(scores);
  const areas = nmsAreas(x, scores.length, f32);
  // A negative threshold lets disjoint pairs (IoU 0) suppress, so nothing can be pruned.
  return thr < 0 ? greedyPlain(x, areas, order, thr, f32) : greedyGrid(x, areas, order, thr, f32);
}

function int32Tensor(a: Int32Array): Tensor {
  return new Tensor(a, [a.length], 'int32');
}

/**
 * Non-maximum suppression, `torchvision.ops.nms`: `boxes [N, 4]` (xyxy), `scores [N]` of the
 * same float dtype → int32 indices of the kept boxes by decreasing score. Identical to
 * torchvision's CPU result, ties included: equal scores are visited in index order, NaN
 * scores first; a box is suppressed when its IoU with a kept box is strictly greater than
 * `iouThreshold`. Zero-area and inverted boxes never suppress nor get suppressed (IoU 0 or
 * NaN) unless the threshold is negative, in which case even disjoint boxes suppress.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  const plan = resolveNms(boxes, scores, iouThreshold);
  if (plan.numBoxes === 0) return int32Tensor(new Int32Array(0));
  const x = Float64Array.from(plan.boxes.data);
  return int32Tensor(nmsCore(x, plan.scores.data as Float32Array | Float64Array, plan.iouThreshold, plan.float32));
}

/**
 * The CPU end of a mask-based (GPU) NMS, as in torchvision's CUDA kernel: `order` is the
 * visiting order ({@link nmsSortOrder}), `mask` holds for each sorted position `i` a row of
 * `colBlocks` 32-bit words whose bit `j` says that box `order[i]` suppresses box `order[j]`
 * (only `j > i` is read). Returns the kept original indices, as {@link nms}.
 */
export function nmsFromMask(order: Int32Array, mask: Uint32Array, colBlocks: number): Tensor {
  const n = order.length;
  if (colBlocks * 32 < n || mask.length < n * colBlocks) {
    throw new ShapeError(`nmsFromMask(): a mask of ${n} rows x ${colBlocks} words is needed for ${n} boxes, got ${mask.length} words`);
  }
  const scan = new NmsMaskScan(order, colBlocks);
  scan.scan(mask, n, colBlocks, 0);
  return scan.result();
}

/**
 * The greedy pass of {@link nmsFromMask} fed a band of mask rows at a time. Row `i` is
 * only needed once rows `< i` have been scanned, so a mask computed in chunks of rows
 * never has to be whole in memory; rows of boxes already suppressed are never read, so
 * they need not be computed.
 */
export class NmsMaskScan {
  /** Bit `i` is set once box `order[i]` has been suppressed by a kept box. */
  readonly removed: Uint32Array;
  private readonly keep: Int32Array;
  private kept = 0;
  private row = 0;

  constructor(
    private readonly order: Int32Array,
    private readonly colBlocks: number,
  ) {
    this.removed = new Uint32Array(colBlocks);
    this.keep = new Int32Array(order.length);
  }

  /** The first row not scanned yet whose box is not suppressed (`order.length` when done): where the next band starts. */
  get next(): number {
    return this.row;
  }

  /**
   * Scans rows `[next, next + rows)`: word `w` of row `next + r` is `band[r * stride + w - firstWord]`,
   * for `w` from the row's own word `(next + r) >>> 5`, which must be `>= firstWord`.
   */
  scan(band: Uint32Array, rows: number, stride: number, firstWord: number): void {
    const { removed, colBlocks } = this;
    const end = this.row + rows;
    for (let i = this.row; i < end; i++) {
      if ((removed[i >>> 5] >>> (i & 31)) & 1) continue;
      this.keep[this.kept++] = this.order[i];
      const base = (i - this.row) * stride - firstWord;
      for (let w = i >>> 5; w < colBlocks; w++) removed[w] |= band[base + w];
    }
    this.row = end;
    while (this.row < this.order.length && (removed[this.row >>> 5] >>> (this.row & 31)) & 1) this.row++;
  }

  /** The kept original indices so far, in visiting order. */
  result(): Tensor {
    return int32Tensor(this.keep.slice(0, this.kept));
  }
}

/** Normalised arguments of {@link batchedNms}. */
export interface BatchedNmsPlan extends NmsPlan {
  /** Contiguous int32 `[N]` categories. */
  idxs: Tensor;
  /** torchvision 0.14 on CPU offsets coordinates per class when `boxes.numel() <= 4000`. */
  coordinateTrick: boolean;
}

/** Checks `batchedNms` arguments: those of {@link resolveNms} plus int32 `idxs [N]`. */
export function resolveBatchedNms(boxes: unknown, scores: unknown, idxs: unknown, iouThreshold: unknown): BatchedNmsPlan {
  const plan = resolveNms(boxes, scores, iouThreshold, 'batchedNms');
  return { ...plan, idxs: checkIdxs('batchedNms', idxs, plan.numBoxes), coordinateTrick: plan.numBoxes * 4 <= 4000 };
}

/** Int32 categories `idxs [numBoxes]`, returned contiguous. */
function checkIdxs(op: string, idxs: unknown, numBoxes: number): Tensor {
  expectTensor(op, 'idxs', idxs);
  expectNdim(op, 'idxs', idxs, [1]);
  expectDType(op, 'idxs', idxs, ['int32']);
  if (idxs.shape[0] !== numBoxes) {
    throw new ShapeError(`${op}(): 'idxs' must have one category per box (${numBoxes}), got ${idxs.shape[0]}`);
  }
  return idxs.contiguous();
}

/**
 * Per-category NMS, `torchvision.ops.batched_nms`, reproducing torchvision 0.14 on CPU:
 * with at most 1000 boxes it shifts every box by `idx * (max coordinate + 1)` (in the
 * boxes' precision) and runs one {@link nms}, so with negative coordinates boxes of
 * different categories can overlap and suppress each other, as there; with more boxes it
 * runs NMS per category and orders the kept indices by score with torch's unstable sort
 * (libstdc++ introsort, reproduced so that tied scores come out in the same order).
 * `idxs` is int32 `[N]`. Returns int32 indices by decreasing score.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  const plan = resolveBatchedNms(boxes, scores, idxs, iouThreshold);
  const n = plan.numBoxes;
  if (n === 0) return int32Tensor(new Int32Array(0));
  const b = plan.boxes.data;
  const s = plan.scores.data as Float32Array | Float64Array;
  const cls = plan.idxs.data as Int32Array;
  const f32 = plan.float32;
  const r = f32 ? Math.fround : (v: number) => v;
  if (plan.coordinateTrick) {
    let maxCoord = -Infinity;
    for (let k = 0; k < b.length; k++) {
      const v = b[k];
      if (v !== v) {
        maxCoord = NaN;
        break;
      }
      if (v > maxCoord) maxCoord = v;
    }
    const scale = r(maxCoord + 1);
    const x = new Float64Array(4 * n);
    for (let i = 0; i < n; i++) {
      const off = r(r(cls[i]) * scale);
      for (let c = 0; c < 4; c++) x[4 * i + c] = r(b[4 * i + c] + off);
    }
    return int32Tensor(nmsCore(x, s, plan.iouThreshold, f32));
  }
  const members = groupByCategory(cls);
  const keepMask = new Uint8Array(n);
  for (const m of members) {
    const x = new Float64Array(4 * m.length);
    const sc = f32 ? new Float32Array(m.length) : new Float64Array(m.length);
    for (let t = 0; t < m.length; t++) {
      const i = m[t];
      for (let c = 0; c < 4; c++) x[4 * t + c] = b[4 * i + c];
      sc[t] = s[i];
    }
    for (const t of nmsCore(x, sc, plan.iouThreshold, f32)) keepMask[m[t]] = 1;
  }
  let kept = 0;
  for (let i = 0; i < n; i++) kept += keepMask[i];
  const idx = new Int32Array(kept);
  const val = new Float64Array(kept);
  for (let i = 0, k = 0; i < n; i++) {
    if (keepMask[i]) {
      idx[k] = i;
      val[k++] = s[i];
    }
  }
  torchUnstableSortDesc(val, idx);
  return int32Tensor(idx);
}

/** Member indices (ascending) of each category, categories in first-seen order. */
function groupByCategory(cls: Int32Array): Int32Array[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < cls.length; i++) counts.set(cls[i], (counts.get(cls[i]) ?? 0) + 1);
  const groups = new Map<number, { idx: Int32Array; fill: number }>();
  for (const [c, k] of counts) groups.set(c, { idx: new Int32Array(k), fill: 0 });
  for (let i = 0; i < cls.length; i++) {
    const g = groups.get(cls[i])!;
    g.idx[g.fill++] = i;
  }
  return [...groups.values()].map((g) => g.idx);
}

// ---------------------------------------------------------------------------
// torch.sort(descending=True) on CPU (torch 1.13): std::sort of (value, index) pairs with
// comp(a, b) = (isnan(a) && !isnan(b)) || a > b, libstdc++'s introsort. Ties come out in
// an order fixed by the algorithm, which batched_nms exposes; reproduced step by step.

function before(v: Float64Array, a: number, b: number): boolean {
  const x = v[a];
  const y = v[b];
  return (x !== x && y === y) || x > y;
}

function beforeValue(x: number, v: Float64Array, b: number): boolean {
  const y = v[b];
  return (x !== x && y === y) || x > y;
}

function valueBefore(v: Float64Array, a: number, y: number): boolean {
  const x = v[a];
  return (x !== x && y === y) || x > y;
}

function swapPair(v: Float64Array, idx: Int32Array, a: number, b: number): void {
  const tv = v[a];
  v[a] = v[b];
  v[b] = tv;
  const ti = idx[a];
  idx[a] = idx[b];
  idx[b] = ti;
}

function torchUnstableSortDesc(v: Float64Array, idx: Int32Array): void {
  const n = v.length;
  if (n < 2) return;
  introsortLoop(v, idx, 0, n, 2 * (31 - Math.clz32(n)));
  if (n > 16) {
    insertionSort(v, idx, 0, 16);
    for (let i = 16; i < n; i++) unguardedLinearInsert(v, idx, i);
  } else insertionSort(v, idx, 0, n);
}

function introsortLoop(v: Float64Array, idx: Int32Array, first: number, last: number, depth: number): void {
  while (last - first > 16) {
    if (depth === 0) {
      heapSort(v, idx, first, last);
      return;
    }
    depth--;
    const mid = first + ((last - first) >> 1);
    moveMedianToFirst(v, idx, first, first + 1, mid, last - 1);
    const cut = unguardedPartition(v, idx, first + 1, last, first);
    introsortLoop(v, idx, cut, last, depth);
    last = cut;
  }
}

function moveMedianToFirst(v: Float64Array, idx: Int32Array, result: number, a: number, b: number, c: number): void {
  if (before(v, a, b)) {
    if (before(v, b, c)) swapPair(v, idx, result, b);
    else if (before(v, a, c)) swapPair(v, idx, result, c);
    else swapPair(v, idx, result, a);
  } else if (before(v, a, c)) swapPair(v, idx, result, a);
  else if (before(v, b, c)) swapPair(v, idx, result, c);
  else swapPair(v, idx, result, b);
}

function unguardedPartition(v: Float64Array, idx: Int32Array, first: number, last: number, pivot: number): number {
  for (;;) {
    while (before(v, first, pivot)) first++;
    last--;
    while (before(v, pivot, last)) last--;
    if (!(first < last)) return first;
    swapPair(v, idx, first, last);
    first++;
  }
}

function insertionSort(v: Float64Array, idx: Int32Array, first: number, last: number): void {
  for (let i = first + 1; i < last; i++) {
    if (before(v, i, first)) {
      const tv = v[i];
      const ti = idx[i];
      for (let k = i; k > first; k--) {
        v[k] = v[k - 1];
        idx[k] = idx[k - 1];
      }
      v[first] = tv;
      idx[first] = ti;
    } else unguardedLinearInsert(v, idx, i);
  }
}

function unguardedLinearInsert(v: Float64Array, idx: Int32Array, last: number): void {
  const tv = v[last];
  const ti = idx[last];
  let next = last - 1;
  while (beforeValue(tv, v, next)) {
    v[last] = v[next];
    idx[last] = idx[next];
    last = next--;
  }
  v[last] = tv;
  idx[last] = ti;
}

/** std::__partial_sort(first, last, last): make_heap then sort_heap. */
function heapSort(v: Float64Array, idx: Int32Array, first: number, last: number): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = (len - 2) >> 1; ; parent--) {
    adjustHeap(v, idx, first, parent, len, v[first + parent], idx[first + parent]);
    if (parent === 0) break;
  }
  for (let end = last - 1; end - first > 0; end--) {
    const tv = v[end];
    const ti = idx[end];
    v[end] = v[first];
    idx[end] = idx[first];
    adjustHeap(v, idx, first, 0, end - first, tv, ti);
  }
}

function adjustHeap(v: Float64Array, idx: Int32Array, first: number, hole: number, len: number, value: number, index: number): void {
  const top = hole;
  let child = hole;
  while (child < (len - 1) >> 1) {
    child = 2 * (child + 1);
    if (before(v, first + child, first + child - 1)) child--;
    v[first + hole] = v[first + child];
    idx[first + hole] = idx[first + child];
    hole = child;
  }
  if ((len & 1) === 0 && child === (len - 2) >> 1) {
    child = 2 * (child + 1);
    v[first + hole] = v[first + child - 1];
    idx[first + hole] = idx[first + child - 1];
    hole = child - 1;
  }
  let parent = (hole - 1) >> 1;
  while (hole > top && valueBefore(v, first + parent, value)) {
    v[first + hole] = v[first + parent];
    idx[first + hole] = idx[first + parent];
    hole = parent;
    parent = (hole - 1) >> 1;
  }
  v[first + hole] = value;
  idx[first + hole] = index;
}

// ---------------------------------------------------------------------------
// Soft-NMS

/** How Soft-NMS rescores a box that overlaps a selected one. */
export type SoftNmsMethod = 'linear' | 'gaussian' | 'hard';

export interface SoftNmsOptions {
  /** `'linear'` (default): `s *= 1 - iou` when `iou > iouThreshold`; `'gaussian'`: `s *= exp(-iou² / sigma)`; `'hard'`: drop when `iou > iouThreshold`. */
  method?: SoftNmsMethod;
  /** Default 0.3 (the authors' `Nt`); unused by `'gaussian'`. */
  iouThreshold?: number;
  /** Gaussian width, > 0; default 0.5. */
  sigma?: number;
  /** A rescored box whose score falls below this is removed; default 0.001. */
  scoreThreshold?: number;
  /** `'continuous'` (default): widths `x2 - x1`, like torchvision; `'pixel_plus1'`: `x2 - x1 + 1`, like the authors' code. */
  boxConvention?: 'continuous' | 'pixel_plus1';
}

export interface SoftNmsResult {
  /** int32 indices of the surviving boxes in selection order (decreasing final score). */
  keep: Tensor;
  /** Their final scores, in the dtype of the input scores. */
  scores: Tensor;
}

/** Normalised Soft-NMS arguments. */
export interface SoftNmsPlan {
  numBoxes: number;
  method: SoftNmsMethod;
  iouThreshold: number;
  sigma: number;
  scoreThreshold: number;
  /** 1 under `'pixel_plus1'`, else 0. */
  plus: number;
  /** Coordinates and scores as float64. */
  coords: Float64Array;
  scores: Float64Array;
  scoresDType: DType;
}

const SOFT_METHODS: readonly SoftNmsMethod[] = ['linear', 'gaussian', 'hard'];

/**
 * Checks Soft-NMS arguments (`boxes [N, 4]` float32/float64/int32, `scores [N]` float32/float64,
 * all finite; method, threshold, sigma > 0, convention) and applies the defaults.
 */
export function resolveSoftNms(boxes: unknown, scores: unknown, options: SoftNmsOptions = {}, op = 'softNms'): SoftNmsPlan {
  expectTensor(op, 'boxes', boxes);
  expectTensor(op, 'scores', scores);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) {
    throw new ShapeError(`${op}(): argument 'boxes' must have shape [N, 4], got ${fmtShape(boxes.shape)}`);
  }
  expectDType(op, 'boxes', boxes, ['float32', 'float64', 'int32']);
  expectNdim(op, 'scores', scores, [1]);
  expectDType(op, 'scores', scores, ['float32', 'float64']);
  if (boxes.shape[0] !== scores.shape[0]) {
    throw new ShapeError(`${op}(): 'boxes' and 'scores' must have the same number of elements in dimension 0, got ${boxes.shape[0]} and ${scores.shape[0]}`);
  }
  const method = options.method ?? 'linear';
  if (!SOFT_METHODS.includes(method)) throw new ValueError(`${op}(): argument 'method' must be one of ${SOFT_METHODS.join(', ')}, got ${describe(method)}`);
  const convention = options.boxConvention ?? 'continuous';
  if (convention !== 'continuous' && convention !== 'pixel_plus1') {
    throw new ValueError(`${op}(): argument 'boxConvention' must be 'continuous' or 'pixel_plus1', got ${describe(convention)}`);
  }
  const iouThreshold = expectNumber(op, 'iouThreshold', options.iouThreshold ?? 0.3);
  const sigma = expectNumber(op, 'sigma', options.sigma ?? 0.5);
  if (!(sigma > 0)) throw new ValueError(`${op}(): argument 'sigma' must be > 0, got ${sigma}`);
  const scoreThreshold = expectNumber(op, 'scoreThreshold', options.scoreThreshold ?? 0.001, { finite: false });
  if (Number.isNaN(scoreThreshold)) throw new ValueError(`${op}(): argument 'scoreThreshold' must not be NaN`);
  const coords = Float64Array.from(boxes.contiguous().data);
  const s = Float64Array.from(scores.contiguous().data);
  for (let k = 0; k < coords.length; k++) {
    if (!Number.isFinite(coords[k])) throw new ValueError(`${op}(): 'boxes' must be finite, box ${k >> 2} has ${coords[k]}`);
  }
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i])) throw new ValueError(`${op}(): 'scores' must be finite, score ${i} is ${s[i]}`);
  }
  return {
    numBoxes: s.length,
    method,
    iouThreshold,
    sigma,
    scoreThreshold,
    plus: convention === 'pixel_plus1' ? 1 : 0,
    coords,
    scores: s,
    scoresDType: scores.dtype,
  };
}

/** A binary max-heap of (score, index, version), highest score first, ties to the lowest index. */
class ScoreHeap {
  score: Float64Array;
  index: Int32Array;
  version: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.score = new Float64Array(Math.max(16, capacity));
    this.index = new Int32Array(this.score.length);
    this.version = new Int32Array(this.score.length);
  }

  private above(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.index[a] < this.index[b]);
  }

  private swap(a: number, b: number): void {
    const s = this.score[a];
    this.score[a] = this.score[b];
    this.score[b] = s;
    const i = this.index[a];
    this.index[a] = this.index[b];
    this.index[b] = i;
    const v = this.version[a];
    this.version[a] = this.version[b];
    this.version[b] = v;
  }

  private down(k: number): void {
    for (;;) {
      const l = 2 * k + 1;
      if (l >= this.size) return;
      const c = l + 1 < this.size && this.above(l + 1, l) ? l + 1 : l;
      if (!this.above(c, k)) return;
      this.swap(c, k);
      k = c;
    }
  }

  /** Fills with every (score[i], i, 0) and heapifies in O(n). */
  init(scores: Float64Array): void {
    const n = scores.length;
    this.score.set(scores);
    for (let i = 0; i < n; i++) this.index[i] = i;
    this.size = n;
    for (let k = (n >> 1) - 1; k >= 0; k--) this.down(k);
  }

  push(score: number, index: number, version: number): void {
    if (this.size === this.score.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.score = grow(this.score);
      this.index = grow(this.index);
      this.version = grow(this.version);
    }
    let k = this.size++;
    this.score[k] = score;
    this.index[k] = index;
    this.version[k] = version;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.above(k, p)) return;
      this.swap(k, p);
      k = p;
    }
  }

  /** Removes the top entry (call only when size > 0). */
  pop(): void {
    this.size--;
    if (this.size > 0) {
      this.score[0] = this.score[this.size];
      this.index[0] = this.index[this.size];
      this.version[0] = this.version[this.size];
      this.down(0);
    }
  }
}

/**
 * A binary max-heap of box indices keyed by an external score array (highest first, ties
 * to the lowest index), for the lazy Soft-NMS where a box is in the heap at most once and
 * its score only changes while it is out of the heap.
 */
class IndexHeap {
  readonly items: Int32Array;
  size = 0;

  constructor(private readonly score: Float64Array) {
    this.items = new Int32Array(score.length);
  }

  private above(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && a < b);
  }

  private down(k: number, item: number): void {
    const items = this.items;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= this.size) break;
      const c = l + 1 < this.size && this.above(items[l + 1], items[l]) ? l + 1 : l;
      if (!this.above(items[c], item)) break;
      items[k] = items[c];
      k = c;
    }
    items[k] = item;
  }

  /** All indices, heapified in O(n). */
  fill(): void {
    const n = this.score.length;
    for (let i = 0; i < n; i++) this.items[i] = i;
    this.size = n;
    for (let k = (n >> 1) - 1; k >= 0; k--) this.down(k, this.items[k]);
  }

  top(): number {
    return this.items[0];
  }

  pop(): number {
    const t = this.items[0];
    this.size--;
    if (this.size > 0) this.down(0, this.items[this.size]);
    return t;
  }

  push(item: number): void {
    const items = this.items;
    let k = this.size++;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.above(item, items[p])) break;
      items[k] = items[p];
      k = p;
    }
    items[k] = item;
  }
}

/** Returned by {@link softWeight} for a pair with no positive intersection (left untouched). */
const NO_OVERLAP = -1;
/** Returned by {@link softWeight} when the 'hard' method drops the box. */
const DROP = -2;

/**
 * The factor selected box `t` applies to box `j`'s score, as in cpu_soft_nms; the
 * sentinels say that `j` is not touched or is dropped.
 */
function softWeight(x: Float64Array, areas: Float64Array, t: number, j: number, plan: SoftNmsPlan): number {
  const t4 = 4 * t;
  const j4 = 4 * j;
  const plus = plan.plus;
  const iw = Math.min(x[t4 + 2], x[j4 + 2]) - Math.max(x[t4], x[j4]) + plus;
  if (!(iw > 0)) return NO_OVERLAP;
  const ih = Math.min(x[t4 + 3], x[j4 + 3]) - Math.max(x[t4 + 1], x[j4 + 1]) + plus;
  if (!(ih > 0)) return NO_OVERLAP;
  const inter = iw * ih;
  const ov = inter / (areas[t] + areas[j] - inter);
  if (plan.method === 'gaussian') return Math.exp(-(ov * ov) / plan.sigma);
  if (ov <= plan.iouThreshold) return 1;
  return plan.method === 'linear' ? 1 - ov : DROP;
}

/**
 * Static geometry of a Soft-NMS run: areas, and the cell span of every box that can
 * overlap anything (a box without positive extent overlaps nothing).
 */
class SoftGeometry {
  readonly areas: Float64Array;
  readonly usable: Uint8Array;
  /** [cx1, cx2, cy1, cy2] per box. */
  readonly span: Int32Array;
  readonly grid: Grid | null;

  constructor(x: Float64Array, n: number, plus: number) {
    this.areas = new Float64Array(n);
    this.usable = new Uint8Array(n);
    this.span = new Int32Array(4 * n);
    const list = new Int32Array(n);
    let count = 0;
    for (let i = 0, k = 0; i < n; i++, k += 4) {
      this.areas[i] = (x[k + 2] - x[k] + plus) * (x[k + 3] - x[k + 1] + plus);
      if (x[k + 2] + plus > x[k] && x[k + 3] + plus > x[k + 1]) list[count++] = i;
    }
    this.grid = count > 0 ? buildGrid(x, list, count, plus) : null;
    const g = this.grid;
    if (!g) return;
    for (let t = 0; t < count; t++) {
      const i = list[t];
      const k = 4 * i;
      this.usable[i] = 1;
      this.span[k] = cellOf(x[k], g.x0, g.invW, g.cols);
      this.span[k + 1] = cellOf(x[k + 2] + plus, g.x0, g.invW, g.cols);
      this.span[k + 2] = cellOf(x[k + 1], g.y0, g.invH, g.rows);
      this.span[k + 3] = cellOf(x[k + 3] + plus, g.y0, g.invH, g.rows);
    }
  }

  isBig(i: number): boolean {
    const k = 4 * i;
    return (this.span[k + 1] - this.span[k] + 1) * (this.span[k + 3] - this.span[k + 2] + 1) > BIG_SPAN;
  }
}

/**
 * Soft-NMS for non-negative scores, evaluated lazily (the scheme of TensorFlow's
 * implementation, here with exact Algorithm 1 semantics): a candidate popped from the
 * max-heap is rescored only then, by the boxes selected since its last evaluation, in
 * selection order; it is selected if it still beats the next heap entry, else pushed back.
 * Weights are <= 1, so a heap key is an upper bound of the current score and the winner
 * is the box the eager algorithm picks; applying the same factors in the same order gives
 * the same floats. Selected boxes live in a grid, so a candidate only meets those that
 * can overlap it.
 */
function softNmsLazy(x: Float64Array, s: Float64Array, plan: SoftNmsPlan): { keep: Int32Array; scores: Float64Array } {
  const n = s.length;
  const geo = new SoftGeometry(x, n, plan.plus);
  const g = geo.grid;
  const lists = new CellLists(g ? g.cols * g.rows : 0, n);
  const big: number[] = [];
  const rank = new Int32Array(n);
  const checked = new Int32Array(n);
  const seen = new Int32Array(n).fill(-1);
  // Ranks (selection positions) of the selected boxes that may touch the candidate.
  const found = new Int32Array(n);
  const heap = new IndexHeap(s);
  heap.fill();
  const keep = new Int32Array(n);
  const kept = new Float64Array(n);
  let count = 0;
  let pops = 0;
  while (heap.size > 0) {
    const c = heap.pop();
    pops++;
    if (g && geo.usable[c] && checked[c] < count) {
      // Selected boxes ranked >= checked[c] that may overlap c, applied in selection order.
      let m = 0;
      const k = 4 * c;
      if (geo.isBig(c)) {
        // Every box selected since; those that do not overlap c are skipped by softWeight.
        for (let r = checked[c]; r < count; r++) found[m++] = r;
      } else {
        for (const t of big) if (rank[t] >= checked[c]) found[m++] = rank[t];
        for (let cy = geo.span[k + 2]; cy <= geo.span[k + 3]; cy++) {
          for (let cx = geo.span[k]; cx <= geo.span[k + 1]; cx++) {
            for (let node = lists.head[cy * g.cols + cx]; node >= 0; node = lists.next[node]) {
              const t = lists.box[node];
              // Lists grow at the head, so older (lower-ranked) entries follow.
              if (rank[t] < checked[c]) break;
              if (seen[t] === pops) continue;
              seen[t] = pops;
              found[m++] = rank[t];
            }
          }
        }
      }
      sortRanks(found, m);
      checked[c] = count;
      let removed = false;
      for (let q = 0; q < m; q++) {
        const w = softWeight(x, geo.areas, keep[found[q]], c, plan);
        if (w === NO_OVERLAP) continue;
        if (w === DROP) {
          removed = true;
          break;
        }
        s[c] *= w;
        if (s[c] < plan.scoreThreshold) {
          removed = true;
          break;
        }
      }
      if (removed) continue;
      if (heap.size > 0) {
        const t = heap.top();
        if (s[c] < s[t] || (s[c] === s[t] && t < c)) {
          heap.push(c);
          continue;
        }
      }
    }
    rank[c] = count;
    keep[count] = c;
    kept[count++] = s[c];
    if (!g || !geo.usable[c]) continue;
    if (geo.isBig(c)) big.push(c);
    else {
      const k = 4 * c;
      for (let cy = geo.span[k + 2]; cy <= geo.span[k + 3]; cy++) for (let cx = geo.span[k]; cx <= geo.span[k + 1]; cx++) lists.push(cy * g.cols + cx, c);
    }
  }
  return { keep: keep.slice(0, count), scores: kept.slice(0, count) };
}

/** Sorts `a[0..m)` ascending: a few short runs per candidate, so insertion sort unless long. */
function sortRanks(a: Int32Array, m: number): void {
  if (m > 48) {
    a.subarray(0, m).sort();
    return;
  }
  for (let i = 1; i < m; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

/**
 * Soft-NMS evaluated eagerly, Algorithm 1 as written: each selected box rescores every
 * alive box it overlaps (from a static grid of all boxes whose cell lists drop dead
 * entries as they are walked); the next selection comes from a lazy-deletion max-heap.
 * Used for inputs with negative scores, which the weights move up, not down.
 */
function softNmsEager(x: Float64Array, s: Float64Array, plan: SoftNmsPlan): { keep: Int32Array; scores: Float64Array } {
  const n = s.length;
  const geo = new SoftGeometry(x, n, plan.plus);
  const g = geo.grid;
  const lists = new CellLists(g ? g.cols * g.rows : 0, 2 * n);
  const big: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!g || !geo.usable[i]) continue;
    all.push(i);
    const k = 4 * i;
    if (geo.isBig(i)) big.push(i);
    else for (let cy = geo.span[k + 2]; cy <= geo.span[k + 3]; cy++) for (let cx = geo.span[k]; cx <= geo.span[k + 1]; cx++) lists.push(cy * g.cols + cx, i);
  }
  const dead = new Uint8Array(n);
  const version = new Int32Array(n);
  const seen = new Int32Array(n).fill(-1);
  const heap = new ScoreHeap(2 * n);
  heap.init(s);
  const keep = new Int32Array(n);
  const kept = new Float64Array(n);
  let count = 0;
  const touched: number[] = [];
  while (heap.size > 0) {
    const t = heap.index[0];
    const stale = dead[t] === 1 || heap.version[0] !== version[t];
    heap.pop();
    if (stale) continue;
    dead[t] = 1;
    keep[count] = t;
    kept[count++] = s[t];
    if (!g || !geo.usable[t]) continue;
    touched.length = 0;
    for (const j of big) touched.push(j);
    const k = 4 * t;
    if (geo.isBig(t)) for (const j of all) touched.push(j);
    else {
      for (let cy = geo.span[k + 2]; cy <= geo.span[k + 3]; cy++) {
        for (let cx = geo.span[k]; cx <= geo.span[k + 1]; cx++) {
          const cell = cy * g.cols + cx;
          let prev = -1;
          for (let node = lists.head[cell]; node >= 0; node = lists.next[node]) {
            const j = lists.box[node];
            if (dead[j]) {
              // Unlink: a dead box is never visited again.
              if (prev < 0) lists.head[cell] = lists.next[node];
              else lists.next[prev] = lists.next[node];
              continue;
            }
            prev = node;
            touched.push(j);
          }
        }
      }
    }
    for (const j of touched) {
      if (dead[j] || seen[j] === t) continue;
      seen[j] = t;
      const w = softWeight(x, geo.areas, t, j, plan);
      if (w === NO_OVERLAP) continue;
      if (w === DROP) {
        dead[j] = 1;
        continue;
      }
      s[j] *= w;
      if (s[j] < plan.scoreThreshold) dead[j] = 1;
      else if (w !== 1) heap.push(s[j], j, ++version[j]);
    }
  }
  return { keep: keep.slice(0, count), scores: kept.slice(0, count) };
}

function softNmsCore(x: Float64Array, s: Float64Array, plan: SoftNmsPlan): { keep: Int32Array; scores: Float64Array } {
  for (let i = 0; i < s.length; i++) if (s[i] < 0) return softNmsEager(x, s, plan);
  return softNmsLazy(x, s, plan);
}

function softResult(keep: Int32Array, scores: Float64Array, dtype: DType): SoftNmsResult {
  const out = allocate(dtype, scores.length);
  out.set(scores);
  return { keep: int32Tensor(keep), scores: new Tensor(out, [scores.length], dtype) };
}

/**
 * Soft-NMS (Bodla et al. 2017, arXiv 1704.04503, Algorithm 1, with the semantics of the
 * authors' `cpu_soft_nms`): repeatedly select the box with the highest current score (ties
 * to the lowest index); every remaining box that overlaps it (positive intersection) is
 * rescored (`'linear'`: times `1 - iou` when `iou > iouThreshold`; `'gaussian'`: times
 * `exp(-iou² / sigma)` whatever the threshold; `'hard'`: dropped when `iou > iouThreshold`)
 * and removed if its score is now below `scoreThreshold`. Boxes that never overlap a
 * selected box keep their score, even below the threshold, as in the authors' code.
 * Computed in float64 for any input dtype. `boxes [N, 4]` float32/float64/int32 and
 * `scores [N]` float32/float64, all finite.
 */
export function softNms(boxes: Tensor, scores: Tensor, options: SoftNmsOptions = {}): SoftNmsResult {
  const plan = resolveSoftNms(boxes, scores, options);
  const { keep, scores: out } = softNmsCore(plan.coords, plan.scores, plan);
  return softResult(keep, out, plan.scoresDType);
}

/**
 * {@link softNms} applied to each category of `idxs` (int32 `[N]`) independently; the
 * survivors of all categories are returned by decreasing final score, ties by index.
 */
export function batchedSoftNms(boxes: Tensor, scores: Tensor, idxs: Tensor, options: SoftNmsOptions = {}): SoftNmsResult {
  const plan = resolveSoftNms(boxes, scores, options, 'batchedSoftNms');
  const cls = checkIdxs('batchedSoftNms', idxs, plan.numBoxes).data as Int32Array;
  const allKeep: number[] = [];
  const allScores: number[] = [];
  for (const m of groupByCategory(cls)) {
    const x = new Float64Array(4 * m.length);
    const s = new Float64Array(m.length);
    for (let t = 0; t < m.length; t++) {
      x.set(plan.coords.subarray(4 * m[t], 4 * m[t] + 4), 4 * t);
      s[t] = plan.scores[m[t]];
    }
    const r = softNmsCore(x, s, plan);
    for (let t = 0; t < r.keep.length; t++) {
      allKeep.push(m[r.keep[t]]);
      allScores.push(r.scores[t]);
    }
  }
  const order = allKeep.map((_, k) => k).sort((a, b) => allScores[b] - allScores[a] || allKeep[a] - allKeep[b]);
  return softResult(Int32Array.from(order, (k) => allKeep[k]), Float64Array.from(order, (k) => allScores[k]), plan.scoresDType);
}

/**
 * Region-of-interest pooling: `roi_align`, `roi_pool`, `ps_roi_align`,
 * `ps_roi_pool` and `MultiScaleRoIAlign`, following torchvision 0.14's CPU
 * kernels (torchvision/csrc/ops/cpu/*_kernel.cpp and torchvision/ops/poolers.py).
 *
 * Coordinates, bin sizes and sample positions are computed in the input's
 * precision (float32 arithmetic emulated with `Math.fround`), so sample
 * positions, clamping and pooling windows match torchvision exactly; only the
 * order of the final sums differs (see each op's tolerance).
 */
import {
  allocate,
  describe,
  DTypeError,
  expectFloat,
  expectInt,
  expectNdim,
  expectNumber,
  expectTensor,
  fmtShape,
  IndexError,
  isFloatDType,
  pair,
  ShapeError,
  Tensor,
  ValueError,
  type DType,
} from '../tensor';

/**
 * RoIs as torchvision takes them: a `[K, 5]` tensor of `(batch_index, x1, y1,
 * x2, y2)` rows, or one `[K_i, 4]` tensor of `(x1, y1, x2, y2)` boxes per image
 * (image `i` gets batch index `i`, like `convert_boxes_to_roi_format`).
 */
export type RoiBoxes = Tensor | readonly Tensor[];

/** `output_size`: `k` or `[height, width]`. */
export type OutputSize = number | readonly [number, number];

export interface RoiAlignOptions {
  /** Pooled output size `(ph, pw)`. */
  outputSize: OutputSize;
  /** Factor mapping box coordinates to feature-map coordinates (default 1). */
  spatialScale?: number;
  /** Samples per bin along each axis; `<= 0` means `ceil(roi_size / pooled)` (default -1). */
  samplingRatio?: number;
  /** Shift coordinates by -0.5 pixel and allow rois smaller than one pixel (default false). */
  aligned?: boolean;
}

export interface RoiPoolOptions {
  outputSize: OutputSize;
  spatialScale?: number;
}

export interface PsRoiAlignOptions {
  outputSize: OutputSize;
  spatialScale?: number;
  samplingRatio?: number;
}

export type PsRoiPoolOptions = RoiPoolOptions;

/** What every RoI op's resolver returns: validated rois, sizes and the output shape. */
export interface RoiPlan {
  op: string;
  /** Input `[N, C, H, W]`. */
  batch: number;
  channels: number;
  height: number;
  width: number;
  /** Input (and output) dtype; rois and `spatialScale` are rounded to it. */
  dtype: DType;
  numRois: number;
  /** `[K * 5]` rows `(batch_index, x1, y1, x2, y2)` in the input's precision. */
  rois: Float32Array | Float64Array;
  /** Batch index of each roi (column 0 truncated toward zero, checked against N). */
  batchIndex: Int32Array;
  pooledHeight: number;
  pooledWidth: number;
  /** Spatial scale in the input's precision. */
  spatialScale: number;
  /** Output channels: C, or C / (ph * pw) for the position-sensitive ops. */
  channelsOut: number;
  /** `[K, channelsOut, ph, pw]`. */
  outShape: [number, number, number, number];
}

export interface RoiAlignPlan extends RoiPlan {
  samplingRatio: number;
  aligned: boolean;
}

export interface PsRoiAlignPlan extends RoiPlan {
  samplingRatio: number;
}

export type Rounder = (v: number) => number;
const identity: Rounder = (v) => v;
const FLT_MAX = 3.4028234663852886e38;
/** Largest rounded coordinate the pooling ops accept (they hold coordinates in C `int`). */
const INT_LIMIT = 2 ** 31 - 1;

function rounder(dtype: DType): Rounder {
  return dtype === 'float32' ? Math.fround : identity;
}

/**
 * Turns `boxes` into `[K, 5]` rois in the input's precision and checks batch
 * indices. torchvision requires boxes of the input's dtype; here float32 and
 * float64 boxes are both accepted and rounded to the input's dtype.
 */
export function resolveRois(op: string, boxes: RoiBoxes, batch: number, dtype: DType = 'float32'): { rois: Float32Array | Float64Array; batchIndex: Int32Array } {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  let rois: Float32Array | Float64Array;
  if (boxes instanceof Tensor) {
    if (boxes.ndim !== 2 || boxes.shape[1] !== 5) {
      throw new ShapeError(`${op}(): The boxes tensor shape is not correct as Tensor[K, 5], got ${fmtShape(boxes.shape)}`);
    }
    expectFloat(op, 'boxes', boxes);
    rois = Ctor.from(boxes.contiguous().data);
  } else if (Array.isArray(boxes)) {
    if (boxes.length === 0) throw new ValueError(`${op}(): boxes is an empty list; expected one Tensor[K_i, 4] per image`);
    let total = 0;
    boxes.forEach((b, i) => {
      expectTensor(op, `boxes[${i}]`, b);
      if (b.ndim !== 2 || b.shape[1] !== 4) {
        throw new ShapeError(`${op}(): The shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]], got boxes[${i}] of shape ${fmtShape(b.shape)}`);
      }
      expectFloat(op, `boxes[${i}]`, b);
      total += b.shape[0];
    });
    rois = new Ctor(total * 5);
    let k = 0;
    boxes.forEach((b, i) => {
      const d = b.contiguous().data;
      for (let r = 0; r < b.shape[0]; r++, k++) {
        rois[k * 5] = i;
        for (let j = 0; j < 4; j++) rois[k * 5 + 1 + j] = d[r * 4 + j];
      }
    });
  } else {
    throw new ValueError(`${op}(): boxes is expected to be a Tensor[K, 5] or a list of Tensor[K_i, 4], got ${describe(boxes)}`);
  }
  const numRois = rois.length / 5;
  const batchIndex = new Int32Array(numRois);
  for (let k = 0; k < numRois; k++) {
    for (let j = 0; j < 5; j++) {
      if (!Number.isFinite(rois[k * 5 + j])) throw new ValueError(`${op}(): boxes must be finite, got ${rois[k * 5 + j]} in roi ${k}`);
    }
    // The kernels read the batch index with a C int cast (truncation).
    const b = Math.trunc(rois[k * 5]);
    if (b < 0 || b >= batch) {
      throw new IndexError(`${op}(): roi ${k} has batch index ${rois[k * 5]}, out of range for input with batch size ${batch}`);
    }
    batchIndex[k] = b;
  }
  return { rois, batchIndex };
}

function resolvePlan(op: string, xShape: readonly number[], boxes: RoiBoxes, outputSize: OutputSize, spatialScale: number, dtype: DType, positionSensitive: boolean): RoiPlan {
  if (xShape.length !== 4) throw new ShapeError(`${op}(): Expected 4-D input [N, C, H, W], got ${xShape.length}-D input of size ${fmtShape(xShape)}`);
  if (!isFloatDType(dtype)) throw new DTypeError(`${op}(): argument 'input' must be float32 or float64, got ${dtype}`);
  const [batch, channels, height, width] = xShape;
  if (height === 0 || width === 0) throw new ShapeError(`${op}(): input feature map must be non-empty, got ${fmtShape(xShape)}`);
  const [pooledHeight, pooledWidth] = pair(op, 'output_size', outputSize, { min: 1 });
  const scale = rounder(dtype)(expectNumber(op, 'spatial_scale', spatialScale));
  let channelsOut = channels;
  if (positionSensitive) {
    if (channels % (pooledHeight * pooledWidth) !== 0) {
      throw new ValueError(`${op}(): input channels must be a multiple of pooling height * pooling width, got ${channels} channels for output size [${pooledHeight}, ${pooledWidth}]`);
    }
    channelsOut = channels / (pooledHeight * pooledWidth);
  }
  const { rois, batchIndex } = resolveRois(op, boxes, batch, dtype);
  const numRois = batchIndex.length;
  return {
    op,
    batch,
    channels,
    height,
    width,
    dtype,
    numRois,
    rois,
    batchIndex,
    pooledHeight,
    pooledWidth,
    spatialScale: scale,
    channelsOut,
    outShape: [numRois, channelsOut, pooledHeight, pooledWidth],
  };
}

/** Checks and normalises `roiAlign` arguments (shared with the WebGPU backend). */
export function resolveRoiAlign(xShape: readonly number[], boxes: RoiBoxes, opts: RoiAlignOptions, dtype: DType = 'float32'): RoiAlignPlan {
  const op = 'roi_align';
  const { outputSize, spatialScale = 1, samplingRatio = -1, aligned = false } = opts ?? ({} as RoiAlignOptions);
  if (outputSize === undefined) throw new ValueError(`${op}(): missing required argument 'output_size'`);
  if (typeof aligned !== 'boolean') throw new ValueError(`${op}(): argument 'aligned' must be a boolean, got ${describe(aligned)}`);
  const plan = resolvePlan(op, xShape, boxes, outputSize, spatialScale, dtype, false);
  return { ...plan, samplingRatio: expectInt(op, 'sampling_ratio', samplingRatio), aligned };
}

/** Checks and normalises `roiPool` arguments (shared with the WebGPU backend). */
export function resolveRoiPool(xShape: readonly number[], boxes: RoiBoxes, opts: RoiPoolOptions, dtype: DType = 'float32'): RoiPlan {
  const op = 'roi_pool';
  const { outputSize, spatialScale = 1 } = opts ?? ({} as RoiPoolOptions);
  if (outputSize === undefined) throw new ValueError(`${op}(): missing required argument 'output_size'`);
  return resolvePlan(op, xShape, boxes, outputSize, spatialScale, dtype, false);
}

/** Checks and normalises `psRoiAlign` arguments (shared with the WebGPU backend). */
export function resolvePsRoiAlign(xShape: readonly number[], boxes: RoiBoxes, opts: PsRoiAlignOptions, dtype: DType = 'float32'): PsRoiAlignPlan {
  const op = 'ps_roi_align';
  const { outputSize, spatialScale = 1, samplingRatio = -1 } = opts ?? ({} as PsRoiAlignOptions);
  if (outputSize === undefined) throw new ValueError(`${op}(): missing required argument 'output_size'`);
  const plan = resolvePlan(op, xShape, boxes, outputSize, spatialScale, dtype, true);
  return { ...plan, samplingRatio: expectInt(op, 'sampling_ratio', samplingRatio) };
}

/** Checks and normalises `psRoiPool` arguments (shared with the WebGPU backend). */
export function resolvePsRoiPool(xShape: readonly number[], boxes: RoiBoxes, opts: PsRoiPoolOptions, dtype: DType = 'float32'): RoiPlan {
  const op = 'ps_roi_pool';
  const { outputSize, spatialScale = 1 } = opts ?? ({} as PsRoiPoolOptions);
  if (outputSize === undefined) throw new ValueError(`${op}(): missing required argument 'output_size'`);
  return resolvePlan(op, xShape, boxes, outputSize, spatialScale, dtype, true);
}

// ---------------------------------------------------------------------------
// Bilinear sampling geometry shared by roi_align and ps_roi_align.

/** One roi's sampling geometry along one axis, as torchvision computes it. */
export interface RoiAxis {
  /** First sample's bin origin (roi start, after scale and the aligned shift). */
  start: number;
  /** Bin size along this axis. */
  binSize: number;
  /** Samples per bin along this axis (may be <= 0: no samples). */
  grid: number;
}

/**
 * The align ops' per-roi geometry: start, bin size and samples per bin for y
 * and x, in the input's precision (`aligned` shifts by -0.5; without it the roi
 * is at least 1x1). Exported for the WebGPU backend.
 */
export function roiAlignGeometry(plan: RoiPlan, k: number, samplingRatio: number, aligned: boolean): { y: RoiAxis; x: RoiAxis } {
  const q = rounder(plan.dtype);
  const r = plan.rois;
  const off = aligned ? 0.5 : 0;
  const s = plan.spatialScale;
  const axis = (lo: number, hi: number, pooled: number): RoiAxis => {
    const start = q(q(lo * s) - off);
    let size = q(q(q(hi * s) - off) - start);
    if (!aligned) size = Math.max(size, 1);
    const binSize = q(size / pooled);
    // torchvision computes ceil(roi_size / pooled) in T, which is ceil(binSize).
    const grid = samplingRatio > 0 ? samplingRatio : Math.ceil(binSize);
    if (Math.abs(grid) * pooled > INT_LIMIT) {
      throw new ValueError(`${plan.op}(): roi ${k} needs ${grid} samples per bin and axis, beyond the kernels' int range; pass a smaller positive sampling_ratio`);
    }
    return { start, binSize, grid };
  };
  return { y: axis(r[k * 5 + 2], r[k * 5 + 4], plan.pooledHeight), x: axis(r[k * 5 + 1], r[k * 5 + 3], plan.pooledWidth) };
}

/**
 * The sampling geometry of roi `k` for roi_align, or null when it has no
 * samples (its output is 0); rejects what torchvision rejects. Exported for
 * the WebGPU backend.
 */
export function roiAlignSamples(plan: RoiAlignPlan, k: number): { y: RoiAxis; x: RoiAxis } | null {
  const { y, x } = roiAlignGeometry(plan, k, plan.samplingRatio, plan.aligned);
  if (plan.aligned && y.grid * x.grid < 0 && plan.samplingRatio <= 0) {
    // torchvision sizes its pre_calc vector with this negative product.
    throw new ValueError(`roi_align(): cannot create std::vector larger than max_size() (roi ${k} has ${y.grid} x ${x.grid} samples per bin)`);
  }
  return y.grid <= 0 || x.grid <= 0 ? null : { y, x };
}

/**
 * Sparse per-bin interpolation weights along one axis: bin `p` touches
 * `idx[binStart[p] .. binStart[p+1])` with weights `w[...]` (the sum over its
 * samples of the bilinear weight each gives that row/column). Bilinear
 * weights factor into a y part and an x part, and a sample is dropped when
 * either coordinate is out of range, so a bin's mean is
 * `sum_r sum_c wy[r] * wx[c] * input[r, c] / count`, which costs
 * O(grid * pooled) per axis to build however large the roi. Exported for the
 * WebGPU backend, whose roi_align kernel runs over the same weights.
 */
export class AxisWeights {
  readonly idx: Int32Array;
  readonly w: Float64Array;
  readonly binStart: Int32Array;
  /** Entries reserved per roi slot: merging repeated rows per bin bounds a bin's entries by the axis size. */
  readonly stride: number;
  private readonly seen: Int32Array;

  /** Room for `slots` rois; slot `s` uses `binStart[s * (pooled + 1) .. (s + 1) * (pooled + 1))`. */
  constructor(
    readonly pooled: number,
    readonly size: number,
    slots = 1,
  ) {
    this.stride = pooled * (size + 1);
    this.idx = new Int32Array(slots * this.stride);
    this.w = new Float64Array(slots * this.stride);
    this.binStart = new Int32Array(slots * (pooled + 1));
    this.seen = new Int32Array(size).fill(-1);
  }

  fill(a: RoiAxis, q: Rounder, slot = 0): void {
    const { pooled, size, idx, w, seen, binStart } = this;
    const grid = a.grid;
    const gridT = q(grid);
    const b0 = slot * (pooled + 1);
    let n = slot * this.stride;
    for (let p = 0; p < pooled; p++) {
      binStart[b0 + p] = n;
      const origin = q(a.start + q(p * a.binSize));
      for (let i = 0; i < grid; i++) {
        let v = q(origin + q(q((i + 0.5) * a.binSize) / gridT));
        if (v < -1 || v > size) continue;
        if (v <= 0) v = 0;
        let lo = Math.trunc(v);
        let hi = lo + 1;
        if (lo >= size - 1) {
          lo = hi = size - 1;
          v = lo;
        }
        const l = q(v - lo);
        const h = q(1 - l);
        for (let t = 0; t < 2; t++) {
          const at = t === 0 ? lo : hi;
          const wt = t === 0 ? h : l;
          if (seen[at] < 0) {
            seen[at] = n;
            idx[n] = at;
            w[n++] = wt;
          } else w[seen[at]] += wt;
        }
      }
      for (let e = binStart[b0 + p]; e < n; e++) seen[idx[e]] = -1;
    }
    binStart[b0 + pooled] = n;
  }
}

// ---------------------------------------------------------------------------
// roi_align

/**
 * RoI Align (Mask R-CNN, He et al. 2017) as `torchvision.ops.roi_align` 0.14.
 *
 * @param x `[N, C, H, W]` float32 or float64 feature map.
 * @param boxes `[K, 5]` rois `(batch_index, x1, y1, x2, y2)` or a list of `[K_i, 4]` per-image boxes, in image coordinates.
 * @returns `[K, C, ph, pw]`: each bin is the mean of `grid_h x grid_w` bilinear samples
 *   (`samplingRatio`, or `ceil(roi_size / pooled)` when it is <= 0). A sample with
 *   y < -1 or y > H (x likewise) contributes 0 but still counts; one in [-1, 0] reads
 *   row 0 and one in [H-1, H] reads row H-1. `aligned` shifts coordinates by -0.5
 *   pixel; without it rois are at least 1x1.
 *
 * Sample positions are computed exactly as torchvision does in float32; sums are
 * taken in float64 and rounded once, so float32 results agree with torchvision
 * (which accumulates in float32) to about 1e-6 relative to the sum of |input|
 * over a bin's samples (tests use rtol 1e-5, atol 2e-6 for unit-scale inputs).
 * A roi whose adaptive grid is negative in one axis and positive in the other
 * (aligned, inverted box) raises ValueError, as torchvision does; so does an
 * input or output of 2^31 elements or more (the kernel indexes in int32).
 */
export function roiAlign(x: Tensor, boxes: RoiBoxes, opts: RoiAlignOptions): Tensor {
  expectTensor('roi_align', 'input', x);
  expectNdim('roi_align', 'input', x, [4]);
  const plan = resolveRoiAlign(x.shape, boxes, opts, x.dtype);
  const out = allocate(plan.dtype, plan.outShape[0] * plan.outShape[1] * plan.pooledHeight * plan.pooledWidth);
  roiAlignKernel(plan, x.contiguous().data as Float32Array | Float64Array, out as Float32Array | Float64Array);
  return new Tensor(out, plan.outShape, plan.dtype);
}

/** Rois whose weights are built before their channels are pooled: each block of channel planes is then read once per chunk. */
const ROI_CHUNK = 32;
/** Bound on weight-table entries per axis, which shrinks the chunk for very large maps. */
const TABLE_ENTRIES = 1 << 20;

function roiAlignKernel(plan: RoiAlignPlan, input: Float32Array | Float64Array, out: Float32Array | Float64Array): void {
  if (Math.max(input.length, out.length) > INT_LIMIT) {
    throw new ValueError(`roi_align(): input of ${input.length} and output of ${out.length} elements exceed the kernel's int32 indexing (2^31 - 1)`);
  }
  const { channels: C, height: H, width: W, pooledHeight: PH, pooledWidth: PW, numRois } = plan;
  const q = rounder(plan.dtype);
  const chunk = Math.max(1, Math.min(ROI_CHUNK, Math.floor(TABLE_ENTRIES / Math.max(PH * (H + 1), PW * (W + 1)))));
  const ay = new AxisWeights(PH, H, chunk);
  const ax = new AxisWeights(PW, W, chunk);
  const lines = new Lines(chunk, H, W);
  // Per y entry its row's pixel offset (used when columns go first), and per first-pass
  // entry of the second axis the offset of its line in `tmp` (LANES channels per bin).
  const yOff = new Int32Array(ay.idx.length);
  const yTmpOff = new Int32Array(ay.idx.length);
  const xTmpOff = new Int32Array(ax.idx.length);
  const rowsFirst = new Uint8Array(chunk);
  const roiOf = new Int32Array(chunk);
  const tmp = new Float64Array(Math.max(H * PW, W * PH) * LANES);
  const plane = H * W;
  const perRoi = C * PH * PW;
  for (let k0 = 0; k0 < numRois; k0 += chunk) {
    let slots = 0;
    for (let k = k0; k < Math.min(k0 + chunk, numRois); k++) {
      const samples = roiAlignSamples(plan, k);
      // No samples: the output stays 0.
      if (!samples) continue;
      const { y, x } = samples;
      const s = slots++;
      roiOf[s] = k;
      ay.fill(y, q, s);
      ax.fill(x, q, s);
      const yEnd = ay.binStart[s * (PH + 1) + PH];
      const xEnd = ax.binStart[s * (PW + 1) + PW];
      const nyE = yEnd - s * ay.stride;
      const nxE = xEnd - s * ax.stride;
      // Interpolating along x for every touched row, then combining rows, costs
      // rows * x-entries + y-entries * PW multiply-adds; the other order the transpose.
      const byRows = lines.count(ay, s) * nxE + nyE * PW <= lines.count(ax, s) * nyE + nxE * PH;
      rowsFirst[s] = byRows ? 1 : 0;
      const second = byRows ? ay : ax;
      lines.collect(second, s, byRows ? W : 1, (byRows ? PW : PH) * LANES, byRows ? yTmpOff : xTmpOff);
      // torchvision divides by max(grid_h * grid_w, 1); fold 1/count into the second pass's weights.
      const inv = 1 / q(y.grid * x.grid);
      for (let e = s * second.stride, end = byRows ? yEnd : xEnd; e < end; e++) second.w[e] *= inv;
      if (!byRows) for (let e = s * ay.stride; e < yEnd; e++) yOff[e] = ay.idx[e] * W;
    }
    for (let c = 0; c < C; c += LANES) {
      for (let s = 0; s < slots; s++) {
        const k = roiOf[s];
        const base = (plan.batchIndex[k] * C + c) * plane;
        const o = k * perRoi + c * PH * PW;
        const nc = Math.min(LANES, C - c);
        if (rowsFirst[s]) {
          alignBlock(input, base, nc, plane, lines.off, s * lines.cap, lines.n[s], PW, ax.idx, ax.w, ax.binStart, s * (PW + 1), PH, ay.w, ay.binStart, s * (PH + 1), yTmpOff, tmp, out, o, PW, 1);
        } else {
          alignBlock(input, base, nc, plane, lines.off, s * lines.cap, lines.n[s], PH, yOff, ay.w, ay.binStart, s * (PH + 1), PW, ax.w, ax.binStart, s * (PW + 1), xTmpOff, tmp, out, o, 1, PW);
        }
      }
    }
  }
}

/** Per roi slot, the distinct rows (or columns) an axis table touches, as pixel offsets. */
class Lines {
  readonly off: Int32Array;
  readonly n: Int32Array;
  readonly cap: number;
  private readonly seen: Int32Array;

  constructor(slots: number, H: number, W: number) {
    this.cap = Math.max(H, W);
    this.off = new Int32Array(slots * this.cap);
    this.n = new Int32Array(slots);
    this.seen = new Int32Array(this.cap).fill(-1);
  }

  /** Number of distinct indices in slot `s` of `t`. */
  count(t: AxisWeights, s: number): number {
    const { seen } = this;
    let n = 0;
    const end = t.binStart[s * (t.pooled + 1) + t.pooled];
    for (let e = s * t.stride; e < end; e++) if (seen[t.idx[e]] < 0) seen[t.idx[e]] = n++;
    for (let e = s * t.stride; e < end; e++) seen[t.idx[e]] = -1;
    return n;
  }

  /** Records slot `s`'s distinct lines (offset `index * stride`) and each entry's line offset in `tmp` (`line * lineSize`). */
  collect(t: AxisWeights, s: number, stride: number, lineSize: number, tmpOff: Int32Array): void {
    const { seen, off } = this;
    const at = s * this.cap;
    let n = 0;
    const end = t.binStart[s * (t.pooled + 1) + t.pooled];
    for (let e = s * t.stride; e < end; e++) {
      const i = t.idx[e];
      if (seen[i] < 0) {
        seen[i] = n;
        off[at + n++] = i * stride;
      }
      tmpOff[e] = seen[i] * lineSize;
    }
    for (let e = s * t.stride; e < end; e++) seen[t.idx[e]] = -1;
    this.n[s] = n;
  }
}

/** Channels processed together by {@link alignBlock}: they share every index and weight load. */
const LANES = 8;

/**
 * One roi's bins for `nc <= LANES` channels starting at plane `base` (output at
 * `o`). The first pass interpolates each touched line (row or column, pixel
 * offsets `lines`) at every bin of the other axis (`PB` bins, entries at pixel
 * offsets `bOff`) into `tmp`, the channels interleaved; the second pass combines
 * lines per output bin with weights `aW`. Bin `(a, b)` is output `a * osA + b * osB`.
 * Lanes past `nc` repeat the last channel (its value is written again).
 * Index sums are truncated with `| 0` (in range: the caller checks the sizes), which
 * drops V8's overflow check from each of the roughly 11 instructions a lane-tap costs.
 */
function alignBlock(
  input: Float32Array | Float64Array,
  base: number,
  nc: number,
  plane: number,
  lines: Int32Array,
  line0: number,
  nLines: number,
  PB: number,
  bOff: Int32Array,
  bW: Float64Array,
  bStart: Int32Array,
  bs: number,
  PA: number,
  aW: Float64Array,
  aStart: Int32Array,
  as: number,
  tmpOff: Int32Array,
  tmp: Float64Array,
  out: Float32Array | Float64Array,
  o: number,
  osA: number,
  osB: number,
): void {
  const bins = PA * PB;
  const l0 = 0;
  const l1 = Math.min(1, nc - 1);
  const l2 = Math.min(2, nc - 1);
  const l3 = Math.min(3, nc - 1);
  const l4 = Math.min(4, nc - 1);
  const l5 = Math.min(5, nc - 1);
  const l6 = Math.min(6, nc - 1);
  const l7 = Math.min(7, nc - 1);
  const b0 = base + l0 * plane;
  const b1 = base + l1 * plane;
  const b2 = base + l2 * plane;
  const b3 = base + l3 * plane;
  const b4 = base + l4 * plane;
  const b5 = base + l5 * plane;
  const b6 = base + l6 * plane;
  const b7 = base + l7 * plane;
  for (let i = 0, t = 0; i < nLines; i++) {
    const r = lines[line0 + i];
    const r0 = b0 + r;
    const r1 = b1 + r;
    const r2 = b2 + r;
    const r3 = b3 + r;
    const r4 = b4 + r;
    const r5 = b5 + r;
    const r6 = b6 + r;
    const r7 = b7 + r;
    for (let pb = 0; pb < PB; pb++, t += LANES) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let e = bStart[bs + pb], end = bStart[bs + pb + 1]; e < end; e++) {
        const w = bW[e];
        const p = bOff[e];
        s0 += w * input[(r0 + p) | 0];
        s1 += w * input[(r1 + p) | 0];
        s2 += w * input[(r2 + p) | 0];
        s3 += w * input[(r3 + p) | 0];
        s4 += w * input[(r4 + p) | 0];
        s5 += w * input[(r5 + p) | 0];
        s6 += w * input[(r6 + p) | 0];
        s7 += w * input[(r7 + p) | 0];
      }
      tmp[(t + 0) | 0] = s0;
      tmp[(t + 1) | 0] = s1;
      tmp[(t + 2) | 0] = s2;
      tmp[(t + 3) | 0] = s3;
      tmp[(t + 4) | 0] = s4;
      tmp[(t + 5) | 0] = s5;
      tmp[(t + 6) | 0] = s6;
      tmp[(t + 7) | 0] = s7;
    }
  }
  const o0 = o + l0 * bins;
  const o1 = o + l1 * bins;
  const o2 = o + l2 * bins;
  const o3 = o + l3 * bins;
  const o4 = o + l4 * bins;
  const o5 = o + l5 * bins;
  const o6 = o + l6 * bins;
  const o7 = o + l7 * bins;
  for (let pa = 0; pa < PA; pa++) {
    const e0 = aStart[as + pa];
    const e1 = aStart[as + pa + 1];
    for (let pb = 0; pb < PB; pb++) {
      const u0 = pb * LANES;
      const bin = pa * osA + pb * osB;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let e = e0; e < e1; e++) {
        const w = aW[e];
        const u = tmpOff[e] + u0;
        s0 += w * tmp[(u + 0) | 0];
        s1 += w * tmp[(u + 1) | 0];
        s2 += w * tmp[(u + 2) | 0];
        s3 += w * tmp[(u + 3) | 0];
        s4 += w * tmp[(u + 4) | 0];
        s5 += w * tmp[(u + 5) | 0];
        s6 += w * tmp[(u + 6) | 0];
        s7 += w * tmp[(u + 7) | 0];
      }
      out[(o0 + bin) | 0] = s0;
      out[(o1 + bin) | 0] = s1;
      out[(o2 + bin) | 0] = s2;
      out[(o3 + bin) | 0] = s3;
      out[(o4 + bin) | 0] = s4;
      out[(o5 + bin) | 0] = s5;
      out[(o6 + bin) | 0] = s6;
      out[(o7 + bin) | 0] = s7;
    }
  }
}

// ---------------------------------------------------------------------------
// roi_pool

/** C `round`: half away from zero (JS `Math.round` rounds -1.5 to -1). */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Pooling windows of one roi for roi_pool / ps_roi_pool: bin `(ph, pw)` covers rows
 * `[hs, he)` and columns `[ws, we)` (written to `win` as 4 ints per bin).
 * roi_pool uses an inclusive end (`+1`) and clips to `[0, H]`; ps_roi_pool has no
 * `+1` and clips to `[0, H-1]` (torchvision 0.14 CPU), so it never pools the last
 * row or column. Exported for the WebGPU backend.
 */
export function roiPoolWindows(plan: RoiPlan, k: number, positionSensitive: boolean, win: Int32Array): void {
  const q = rounder(plan.dtype);
  const r = plan.rois;
  const s = plan.spatialScale;
  const coord = (v: number): number => {
    const c = roundHalfAway(q(v * s));
    if (Math.abs(c) > INT_LIMIT / 2) throw new ValueError(`${plan.op}(): roi ${k} coordinate ${v} * spatial_scale is out of the int range`);
    return c;
  };
  const x1 = coord(r[k * 5 + 1]);
  const y1 = coord(r[k * 5 + 2]);
  const x2 = coord(r[k * 5 + 3]);
  const y2 = coord(r[k * 5 + 4]);
  const extra = positionSensitive ? 0 : 1;
  const limH = positionSensitive ? plan.height - 1 : plan.height;
  const limW = positionSensitive ? plan.width - 1 : plan.width;
  const binH = q(q(Math.max(y2 - y1 + extra, 1)) / plan.pooledHeight);
  const binW = q(q(Math.max(x2 - x1 + extra, 1)) / plan.pooledWidth);
  const clip = (v: number, lim: number): number => Math.min(Math.max(v, 0), lim);
  let i = 0;
  for (let ph = 0; ph < plan.pooledHeight; ph++) {
    const hs = clip(Math.floor(q(ph * binH)) + y1, limH);
    const he = clip(Math.ceil(q((ph + 1) * binH)) + y1, limH);
    for (let pw = 0; pw < plan.pooledWidth; pw++) {
      win[i++] = hs;
      win[i++] = he;
      win[i++] = clip(Math.floor(q(pw * binW)) + x1, limW);
      win[i++] = clip(Math.ceil(q((pw + 1) * binW)) + x1, limW);
    }
  }
}

/**
 * RoI max pooling (Fast R-CNN) as `torchvision.ops.roi_pool` 0.14.
 *
 * @param x `[N, C, H, W]` float32 or float64.
 * @param boxes `[K, 5]` rois or a list of `[K_i, 4]` per-image boxes.
 * @returns `[K, C, ph, pw]`. Coordinates are `round(coord * spatialScale)` half away
 *   from zero, the roi spans `end - start + 1` pixels (at least 1), bin i covers
 *   `[floor(i * bin), ceil((i + 1) * bin))` offset by the roi start and clipped to the
 *   map; an empty bin gives 0. The max starts from -FLT_MAX and NaN never wins
 *   (torchvision's `>` comparison). Exact (no arithmetic on values).
 */
export function roiPool(x: Tensor, boxes: RoiBoxes, opts: RoiPoolOptions): Tensor {
  expectTensor('roi_pool', 'input', x);
  expectNdim('roi_pool', 'input', x, [4]);
  const plan = resolveRoiPool(x.shape, boxes, opts, x.dtype);
  const { channels: C, height: H, width: W, pooledHeight: PH, pooledWidth: PW, numRois } = plan;
  const input = x.contiguous().data as Float32Array | Float64Array;
  const out = allocate(plan.dtype, numRois * C * PH * PW) as Float32Array | Float64Array;
  const win = new Int32Array(PH * PW * 4);
  const plane = H * W;
  for (let k = 0; k < numRois; k++) {
    roiPoolWindows(plan, k, false, win);
    maxPoolChannels(input, plan.batchIndex[k] * C * plane, C, plane, W, PH * PW, win, out, k * C * PH * PW);
  }
  return new Tensor(out, plan.outShape, plan.dtype);
}

/** One roi's windows for every channel, four channels per pass sharing the window loops. */
function maxPoolChannels(input: Float32Array | Float64Array, base: number, C: number, plane: number, W: number, bins: number, win: Int32Array, out: Float32Array | Float64Array, o: number): void {
  for (let c = 0; c < C; c += 4) {
    const c1 = Math.min(c + 1, C - 1);
    const c2 = Math.min(c + 2, C - 1);
    const c3 = Math.min(c + 3, C - 1);
    const d1 = (c1 - c) * plane;
    const d2 = (c2 - c) * plane;
    const d3 = (c3 - c) * plane;
    const b0 = base + c * plane;
    for (let b = 0; b < bins; b++) {
      const hs = win[4 * b];
      const he = win[4 * b + 1];
      const ws = win[4 * b + 2];
      const we = win[4 * b + 3];
      const init = he <= hs || we <= ws ? 0 : -FLT_MAX;
      let m0 = init;
      let m1 = init;
      let m2 = init;
      let m3 = init;
      for (let h = hs; h < he; h++) {
        for (let i = b0 + h * W + ws, end = b0 + h * W + we; i < end; i++) {
          // `>` as torchvision: NaN never replaces the running max.
          if (input[i] > m0) m0 = input[i];
          if (input[i + d1] > m1) m1 = input[i + d1];
          if (input[i + d2] > m2) m2 = input[i + d2];
          if (input[i + d3] > m3) m3 = input[i + d3];
        }
      }
      out[o + c * bins + b] = m0;
      out[o + c1 * bins + b] = m1;
      out[o + c2 * bins + b] = m2;
      out[o + c3 * bins + b] = m3;
    }
  }
}

// ---------------------------------------------------------------------------
// Position-sensitive variants (R-FCN, Dai et al. 2016)

/**
 * Position-sensitive RoI Align as `torchvision.ops.ps_roi_align` 0.14.
 *
 * @param x `[N, C, H, W]` with C divisible by `ph * pw`.
 * @returns `[K, C / (ph * pw), ph, pw]`; bin `(i, j)` of output channel `c` averages
 *   bilinear samples of input channel `(c * ph + i) * pw + j`. Coordinates are always
 *   shifted by -0.5 and rois have no minimum size, so a zero-size roi with
 *   `samplingRatio <= 0` has no samples and gives 0 / 0 = NaN (and an inverted one
 *   0 / negative count = -0), exactly as torchvision. Tolerance as {@link roiAlign}.
 */
export function psRoiAlign(x: Tensor, boxes: RoiBoxes, opts: PsRoiAlignOptions): Tensor {
  expectTensor('ps_roi_align', 'input', x);
  expectNdim('ps_roi_align', 'input', x, [4]);
  const plan = resolvePsRoiAlign(x.shape, boxes, opts, x.dtype);
  const { channels: C, channelsOut: CO, height: H, width: W, pooledHeight: PH, pooledWidth: PW, numRois } = plan;
  const input = x.contiguous().data;
  const out = allocate(plan.dtype, numRois * CO * PH * PW);
  const q = rounder(plan.dtype);
  const ay = new AxisWeights(PH, H);
  const ax = new AxisWeights(PW, W);
  const plane = H * W;
  let o = 0;
  for (let k = 0; k < numRois; k++) {
    const { y, x: gx } = roiAlignGeometry(plan, k, plan.samplingRatio, true);
    const count = q(y.grid * gx.grid);
    const roiBase = plan.batchIndex[k] * C * plane;
    if (y.grid <= 0 || gx.grid <= 0) {
      out.fill(0 / count, o, o + CO * PH * PW);
      o += CO * PH * PW;
      continue;
    }
    ay.fill(y, q);
    ax.fill(gx, q);
    for (let c = 0; c < CO; c++) {
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          const base = roiBase + ((c * PH + ph) * PW + pw) * plane;
          let s = 0;
          for (let ey = ay.binStart[ph]; ey < ay.binStart[ph + 1]; ey++) {
            const rb = base + ay.idx[ey] * W;
            let r = 0;
            for (let ex = ax.binStart[pw]; ex < ax.binStart[pw + 1]; ex++) r += ax.w[ex] * input[rb + ax.idx[ex]];
            s += ay.w[ey] * r;
          }
          out[o++] = s / count;
        }
      }
    }
  }
  return new Tensor(out, plan.outShape, plan.dtype);
}

/**
 * Position-sensitive RoI average pooling as `torchvision.ops.ps_roi_pool` 0.14 (CPU).
 *
 * @param x `[N, C, H, W]` with C divisible by `ph * pw`.
 * @returns `[K, C / (ph * pw), ph, pw]`; bin `(i, j)` of output channel `c` is the mean of
 *   input channel `(c * ph + i) * pw + j` over its window. Coordinates round like
 *   {@link roiPool} but the roi spans `end - start` pixels (at least 1) and windows are
 *   clipped to `[0, H-1]` x `[0, W-1]` as torchvision 0.14's CPU kernel does, so the last
 *   row and column of the map are never pooled; an empty window gives 0.
 *   Sums are taken in float64 (torchvision: float32), rtol 1e-6.
 */
export function psRoiPool(x: Tensor, boxes: RoiBoxes, opts: PsRoiPoolOptions): Tensor {
  expectTensor('ps_roi_pool', 'input', x);
  expectNdim('ps_roi_pool', 'input', x, [4]);
  const plan = resolvePsRoiPool(x.shape, boxes, opts, x.dtype);
  const { channels: C, channelsOut: CO, height: H, width: W, pooledHeight: PH, pooledWidth: PW, numRois } = plan;
  const input = x.contiguous().data;
  const out = allocate(plan.dtype, numRois * CO * PH * PW);
  const win = new Int32Array(PH * PW * 4);
  const plane = H * W;
  let o = 0;
  for (let k = 0; k < numRois; k++) {
    roiPoolWindows(plan, k, true, win);
    const roiBase = plan.batchIndex[k] * C * plane;
    for (let c = 0; c < CO; c++) {
      for (let b = 0; b < PH * PW; b++) {
        const hs = win[4 * b];
        const he = win[4 * b + 1];
        const ws = win[4 * b + 2];
        const we = win[4 * b + 3];
        if (he <= hs || we <= ws) {
          out[o++] = 0;
          continue;
        }
        const base = roiBase + (c * PH * PW + b) * plane;
        let s = 0;
        for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) s += input[base + h * W + w];
        out[o++] = s / ((he - hs) * (we - ws));
      }
    }
  }
  return new Tensor(out, plan.outShape, plan.dtype);
}

// ---------------------------------------------------------------------------
// MultiScaleRoIAlign (Feature Pyramid Networks, Lin et al. 2017)

/** torch.round: half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-roi sqrt(area) in the boxes' precision, as `torch.sqrt(box_area(boxes))`. */
function roiScales(boxLists: readonly Tensor[], op: string): Float64Array {
  let total = 0;
  for (const b of boxLists) total += b.shape[0];
  const s = new Float64Array(total);
  let k = 0;
  boxLists.forEach((b, i) => {
    expectTensor(op, `boxes[${i}]`, b);
    if (b.ndim !== 2 || b.shape[1] !== 4) throw new ShapeError(`${op}(): boxes[${i}] must have shape [K, 4], got ${fmtShape(b.shape)}`);
    expectFloat(op, `boxes[${i}]`, b);
    const q = rounder(b.dtype);
    const d = b.contiguous().data;
    for (let r = 0; r < b.shape[0]; r++) s[k++] = q(Math.sqrt(q(q(d[4 * r + 2] - d[4 * r]) * q(d[4 * r + 3] - d[4 * r + 1]))));
  });
  return s;
}

/**
 * FPN's level assignment as torchvision's `LevelMapper` (poolers.py):
 * `k = floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps)` clamped to
 * `[kMin, kMax]`, computed in the boxes' precision (float32 for float32 boxes).
 */
export class LevelMapper {
  constructor(
    readonly kMin: number,
    readonly kMax: number,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
    readonly eps = 1e-6,
  ) {
    expectInt('LevelMapper', 'k_min', kMin);
    expectInt('LevelMapper', 'k_max', kMax, { min: kMin });
    expectNumber('LevelMapper', 'canonical_scale', canonicalScale);
    expectNumber('LevelMapper', 'canonical_level', canonicalLevel);
  }

  /**
   * Level index `k - kMin` of every box (boxes of all images concatenated), as int32.
   * A box with negative area has a NaN level, which torchvision casts to an
   * undefined int64 that matches no level: it is -1 here.
   */
  map(boxLists: readonly Tensor[]): Tensor {
    const f32 = boxLists.every((b) => b instanceof Tensor && b.dtype === 'float32');
    const q = f32 ? Math.fround : identity;
    const s = roiScales(boxLists, 'LevelMapper');
    const out = new Int32Array(s.length);
    const eps = q(this.eps);
    for (let k = 0; k < s.length; k++) {
      const lvl = Math.floor(q(q(this.canonicalLevel + q(Math.log2(q(s[k] / this.canonicalScale)))) + eps));
      out[k] = Number.isNaN(lvl) ? -1 : Math.min(Math.max(lvl, this.kMin), this.kMax) - this.kMin;
    }
    return new Tensor(out, [s.length], 'int32');
  }
}

export interface MultiScaleRoiAlignOptions {
  /** Feature maps to pool from (required when `features` is a record). They are used in the record's order, not this list's. */
  featmapNames?: readonly string[];
  outputSize: OutputSize;
  samplingRatio: number;
  canonicalScale?: number;
  canonicalLevel?: number;
}

export interface MultiScaleRoiAlignPlan {
  /** Indices (into the given features) of the maps used, in order. */
  featureIndex: number[];
  /** Spatial scale of each used map: `2 ** round(log2(H_feat / max image height))`. */
  scales: number[];
  kMin: number;
  kMax: number;
  /** Level (index into `featureIndex`) of each roi; -1 pools nothing (output zeros). */
  levels: Int32Array;
  /** All rois `[K * 5]` (image index, x1, y1, x2, y2) in the boxes' precision. */
  rois: Float32Array | Float64Array;
  numRois: number;
  pooledHeight: number;
  pooledWidth: number;
  samplingRatio: number;
  outShape: [number, number, number, number];
}

/**
 * Which feature maps `MultiScaleRoIAlign` uses: all of an array, or the record's
 * entries whose key is in `featmapNames`, in the record's key order (like
 * torchvision's `_filter_input`). Generic so the WebGPU backend can use it.
 */
export function selectFeatures<T>(features: Record<string, T> | readonly T[], featmapNames?: readonly string[]): { names: string[]; maps: T[] } {
  if (Array.isArray(features)) {
    const names = features.map((_, i) => String(i));
    const keep = featmapNames ? names.filter((n) => featmapNames.includes(n)) : names;
    return { names: keep, maps: keep.map((n) => features[Number(n)]) };
  }
  if (!featmapNames) throw new ValueError(`multi_scale_roi_align(): featmapNames is required when features is a record`);
  const entries = Object.entries(features as Record<string, T>).filter(([n]) => featmapNames.includes(n));
  return { names: entries.map(([n]) => n), maps: entries.map(([, t]) => t) };
}

/** `_infer_scale`: the power of two nearest (in float32 log2) to feature height / image height. */
function inferScale(featHeight: number, imageHeight: number): number {
  const q = Math.fround;
  return 2 ** roundHalfEven(q(Math.log2(q(featHeight / imageHeight))));
}

/**
 * Checks and plans `multiScaleRoiAlign` from the shapes of the selected maps
 * (see {@link selectFeatures}); shared with the WebGPU backend.
 */
export function resolveMultiScaleRoiAlign(
  featureShapes: readonly (readonly number[])[],
  boxes: readonly Tensor[],
  imageSizes: readonly (readonly [number, number])[],
  opts: MultiScaleRoiAlignOptions,
  dtype: DType = 'float32',
): MultiScaleRoiAlignPlan {
  const op = 'multi_scale_roi_align';
  const { outputSize, samplingRatio, canonicalScale = 224, canonicalLevel = 4 } = opts ?? ({} as MultiScaleRoiAlignOptions);
  if (outputSize === undefined) throw new ValueError(`${op}(): missing required argument 'output_size'`);
  const sr = expectInt(op, 'sampling_ratio', samplingRatio);
  const [pooledHeight, pooledWidth] = pair(op, 'output_size', outputSize, { min: 1 });
  if (featureShapes.length === 0) throw new ValueError(`${op}(): no feature map selected (check featmapNames)`);
  featureShapes.forEach((s, i) => {
    if (s.length !== 4) throw new ShapeError(`${op}(): feature map ${i} must be 4-D [N, C, H, W], got ${fmtShape(s)}`);
    if (s[1] !== featureShapes[0][1]) throw new ShapeError(`${op}(): feature maps must have the same number of channels, got ${fmtShape(featureShapes[0])} and ${fmtShape(s)}`);
  });
  if (!Array.isArray(boxes)) throw new ValueError(`${op}(): boxes must be a list of Tensor[K_i, 4], one per image, got ${describe(boxes)}`);
  if (!Array.isArray(imageSizes) || imageSizes.length === 0) throw new ValueError(`${op}(): images list should not be empty`);
  let maxH = 0;
  for (const [i, hw] of imageSizes.entries()) {
    const h = expectInt(op, `image_shapes[${i}][0]`, hw?.[0], { min: 1 });
    expectInt(op, `image_shapes[${i}][1]`, hw?.[1], { min: 1 });
    maxH = Math.max(maxH, h);
  }
  const scales = featureShapes.map((s) => inferScale(s[2], maxH));
  const kMin = Math.trunc(-Math.log2(scales[0]));
  const kMax = Math.trunc(-Math.log2(scales[scales.length - 1]));
  const { rois } = resolveRois(op, boxes, Math.min(...featureShapes.map((s) => s[0])), boxes.every((b) => b?.dtype === 'float64') ? 'float64' : dtype);
  const numRois = rois.length / 5;
  // With one level torchvision never calls the mapper (every roi is pooled).
  const levels = featureShapes.length === 1 ? new Int32Array(numRois) : (new LevelMapper(kMin, kMax, canonicalScale, canonicalLevel).map(boxes).data as Int32Array);
  return {
    featureIndex: featureShapes.map((_, i) => i),
    scales,
    kMin,
    kMax,
    levels,
    rois,
    numRois,
    pooledHeight,
    pooledWidth,
    samplingRatio: sr,
    outShape: [numRois, featureShapes[0][1], pooledHeight, pooledWidth],
  };
}

/**
 * `torchvision.ops.MultiScaleRoIAlign` 0.14 as a function: each roi is pooled
 * (roi_align, aligned=false) from the FPN level its size maps to.
 *
 * @param features Feature maps `[N, C, H_l, W_l]`, a record (used in key order,
 *   filtered by `featmapNames`) or an array.
 * @param boxes One `[K_i, 4]` tensor of xyxy image-space boxes per image.
 * @param imageSizes `[h, w]` of each image; scales are inferred from the largest height.
 * @returns `[sum K_i, C, ph, pw]`; rois whose level is undefined (negative area) are zeros.
 *   Tolerance as {@link roiAlign}. Unlike the torchvision module, scales are inferred on
 *   every call rather than cached from the first one.
 */
export function multiScaleRoiAlign(
  features: Record<string, Tensor> | readonly Tensor[],
  boxes: readonly Tensor[],
  imageSizes: readonly (readonly [number, number])[],
  opts: MultiScaleRoiAlignOptions,
): Tensor {
  const op = 'multi_scale_roi_align';
  const { maps } = selectFeatures(features, opts?.featmapNames);
  maps.forEach((m, i) => {
    expectTensor(op, `features[${i}]`, m);
    expectFloat(op, `features[${i}]`, m);
  });
  const plan = resolveMultiScaleRoiAlign(
    maps.map((m) => m.shape),
    boxes,
    imageSizes,
    opts,
    maps[0]?.dtype,
  );
  const [K, C, PH, PW] = plan.outShape;
  const dtype = maps[0].dtype;
  const out = allocate(dtype, K * C * PH * PW);
  const per = C * PH * PW;
  const RoiCtor = plan.rois instanceof Float64Array ? Float64Array : Float32Array;
  maps.forEach((map, level) => {
    const idx: number[] = [];
    for (let k = 0; k < K; k++) if (plan.levels[k] === level) idx.push(k);
    if (idx.length === 0) return;
    const sub = new RoiCtor(idx.length * 5);
    idx.forEach((k, j) => sub.set(plan.rois.subarray(k * 5, k * 5 + 5), j * 5));
    const pooled = roiAlign(map, new Tensor(sub, [idx.length, 5], RoiCtor === Float64Array ? 'float64' : 'float32'), {
      outputSize: [PH, PW],
      spatialScale: plan.scales[level],
      samplingRatio: plan.samplingRatio,
    }).data;
    idx.forEach((k, j) => out.set(pooled.subarray(j * per, (j + 1) * per), k * per));
  });
  return new Tensor(out, plan.outShape, dtype);
}

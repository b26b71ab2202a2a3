/**
 * 2-D pooling with PyTorch 1.13 semantics: max / average / adaptive pooling
 * and max unpooling over `N x C x H x W` (or unbatched `C x H x W`) tensors.
 * Each op's argument normalisation, checks and output shape live in one
 * exported `resolve*` function shared with the WebGPU backend.
 */
import { allocate, type TypedArray } from '../tensor/dtype';
import { fmtShape, IndexError, ShapeError, ValueError } from '../tensor/errors';
import { describe, expectDType, expectFloat, expectInt, expectTensor, pair } from '../tensor/check';
import { Tensor } from '../tensor/tensor';

/** An integer or an `[h, w]` pair, like torch's `_pair` arguments. */
export type Size2 = number | readonly [number, number] | readonly number[];

/** Normalised geometry of a sliding-window pooling over a 4-D view of the input. */
/**
 * `n * c` input planes `[inH, inW]` mapped to as many output planes `[outH, outW]`:
 * the geometry the pooling and interpolation plans share (and the WebGPU kernels chunk by).
 */
export interface PlaneGeometry {
  n: number;
  c: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  /** Output shape in the caller's rank. */
  outShape: number[];
}

export interface Pool2dPlan extends PlaneGeometry {
  /** Whether the caller's tensor had a batch dimension (4-D). */
  batched: boolean;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  /** Dilation (1 for average pooling). */
  dH: number;
  dW: number;
  ceilMode: boolean;
}

export interface MaxPool2dOptions {
  kernelSize: Size2;
  /** Defaults to `kernelSize` (also when `null` or `[]`, like torch). */
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
  returnIndices?: boolean;
}

export interface MaxPool2dPlan extends Pool2dPlan {
  returnIndices: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Size2;
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  /** Count padding positions in the divisor (default true). */
  countIncludePad?: boolean;
  /** Replaces the divisor; any non-zero integer. */
  divisorOverride?: number | null;
}

export interface AvgPool2dPlan extends Pool2dPlan {
  countIncludePad: boolean;
  divisorOverride: number | null;
}

/**
 * Output length of a pooling window sweep, torch's `pooling_output_shape`:
 * `floor((in + 2p - d(k-1) - 1 [+ s-1 if ceil]) / s) + 1`, and in ceil mode a
 * last window that would start inside the right padding is dropped.
 */
export function poolOutputSize(inSize: number, k: number, pad: number, stride: number, dilation: number, ceilMode: boolean): number {
  const num = inSize + 2 * pad - dilation * (k - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(num / stride) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + pad) out--;
  return out;
}

function isEmptyList(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0;
}

/**
 * Shape checks shared by the pooling ops: 3-D or 4-D input whose dimensions
 * after the first `mayBeEmpty[ndim]` are non-zero (torch differs per op:
 * the sliding pools and adaptive max allow an empty batch, adaptive max also an
 * empty leading dim of a 3-D input, adaptive average empty channels too).
 */
function pool4d(
  op: string,
  xShape: readonly number[],
  mayBeEmpty: { 3: number; 4: number } = { 3: 0, 4: 1 },
): { batched: boolean; n: number; c: number; h: number; w: number } {
  if (xShape.length !== 3 && xShape.length !== 4) {
    throw new ShapeError(`${op}(): Expected 3D (unbatched) or 4D (batched) tensor for argument 'input', but got ${xShape.length}-D input of size ${fmtShape(xShape)}`);
  }
  const batched = xShape.length === 4;
  if (xShape.slice(mayBeEmpty[xShape.length as 3 | 4]).some((d) => d === 0)) {
    throw new ShapeError(`${op}(): Expected input to have non-zero size for non-batch dimensions, but got ${fmtShape(xShape)}`);
  }
  const [n, c, h, w] = batched ? xShape : [1, ...xShape];
  return { batched, n, c, h, w };
}

function slidingPlan(
  op: string,
  xShape: readonly number[],
  opts: { kernelSize: Size2; stride?: Size2 | null; padding?: Size2; dilation?: Size2; ceilMode?: boolean },
): Pool2dPlan {
  if (opts === null || typeof opts !== 'object') throw new ValueError(`${op}(): options object with 'kernelSize' is required, got ${describe(opts)}`);
  if (opts.kernelSize === undefined) throw new ValueError(`${op}(): missing required argument 'kernelSize'`);
  const [kH, kW] = pair(op, 'kernelSize', opts.kernelSize);
  const [sH, sW] = opts.stride == null || isEmptyList(opts.stride) ? [kH, kW] : pair(op, 'stride', opts.stride);
  const [pH, pW] = pair(op, 'padding', opts.padding ?? 0);
  const [dH, dW] = pair(op, 'dilation', opts.dilation ?? 1);
  const ceilMode = opts.ceilMode ?? false;
  if (kH <= 0 || kW <= 0) throw new ValueError(`${op}(): kernel size should be greater than zero, but got kH: ${kH} kW: ${kW}`);
  if (sH <= 0 || sW <= 0) throw new ValueError(`${op}(): stride should be greater than zero, but got dH: ${sH} dW: ${sW}`);
  if (dH <= 0 || dW <= 0) throw new ValueError(`${op}(): dilation should be greater than zero, but got dilationH: ${dH} dilationW: ${dW}`);
  if (pH < 0 || pW < 0) throw new ValueError(`${op}(): pad must be non-negative, but got padding ${fmtShape([pH, pW])}`);
  if (pH > kH >> 1 || pW > kW >> 1) {
    throw new ValueError(`${op}(): pad should be at most half of kernel size, but got padding ${fmtShape([pH, pW])} and kernelSize ${fmtShape([kH, kW])}`);
  }
  const { batched, n, c, h, w } = pool4d(op, xShape);
  const outH = poolOutputSize(h, kH, pH, sH, dH, ceilMode);
  const outW = poolOutputSize(w, kW, pW, sW, dW, ceilMode);
  if (outH < 1 || outW < 1) {
    throw new ShapeError(`${op}(): Given input size: (${c}x${h}x${w}). Calculated output size: (${c}x${outH}x${outW}). Output size is too small`);
  }
  const outShape = batched ? [n, c, outH, outW] : [c, outH, outW];
  return { batched, n, c, inH: h, inW: w, kH, kW, sH, sW, pH, pW, dH, dW, ceilMode, outH, outW, outShape };
}

/**
 * Checks and normalises `maxPool2d` arguments for an input of shape `xShape`
 * (`[N, C, H, W]` or `[C, H, W]`): torch's `pool2d_shape_check` (positive
 * kernel/stride/dilation, `0 <= pad <= kernel // 2`, output at least 1x1).
 */
export function resolveMaxPool2d(xShape: readonly number[], opts: MaxPool2dOptions): MaxPool2dPlan {
  const plan = slidingPlan('max_pool2d', xShape, opts);
  return { ...plan, returnIndices: opts.returnIndices ?? false };
}

/** Checks and normalises `avgPool2d` arguments (see {@link resolveMaxPool2d}); `divisorOverride` 0 is an error. */
export function resolveAvgPool2d(xShape: readonly number[], opts: AvgPool2dOptions): AvgPool2dPlan {
  const plan = slidingPlan('avg_pool2d', xShape, { ...opts, dilation: 1 });
  const d = opts.divisorOverride ?? null;
  if (d !== null) {
    expectInt('avg_pool2d', 'divisorOverride', d);
    if (d === 0) throw new ValueError('avg_pool2d(): divisor must be not zero');
  }
  return { ...plan, countIncludePad: opts.countIncludePad ?? true, divisorOverride: d };
}

function floatData(op: string, x: Tensor): TypedArray {
  expectTensor(op, 'input', x);
  expectFloat(op, 'input', x);
  return x.contiguous().data;
}

/**
 * Window bounds along one axis, as torch's CPU kernel computes them: start
 * `o*s - p` moved forward by whole dilation steps until inside the input,
 * end `min(start + d(k-1) + 1, in)`. A window that has no in-bounds tap keeps
 * its adjusted start (torch then reports `h0*W + w0` of the adjusted starts as the index).
 */
function axisWindows(out: number, inSize: number, k: number, s: number, p: number, d: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let o = 0; o < out; o++) {
    let a = o * s - p;
    hi[o] = Math.min(a + (k - 1) * d + 1, inSize);
    while (a < 0) a += d;
    lo[o] = a;
  }
  return { lo, hi };
}

/**
 * Max over one window, torch's loop: `v > m || v !== v`, so the first maximum
 * wins ties and a NaN always wins (the last NaN is reported). A window with
 * no in-bounds tap gives `-inf` and its adjusted start as the index.
 */
function windowMax(x: TypedArray, out: TypedArray, idx: Int32Array | null, o: number, base: number, W: number, h0: number, h1: number, dH: number, w0: number, w1: number, dW: number): void {
  let mi = h0 * W + w0;
  let m = -Infinity;
  for (let ih = h0; ih < h1; ih += dH) {
    const rowOff = ih * W;
    for (let iw = w0; iw < w1; iw += dW) {
      const v = x[base + rowOff + iw];
      if (v > m || v !== v) {
        m = v;
        mi = rowOff + iw;
      }
    }
  }
  out[o] = m;
  if (idx) idx[o] = mi;
}

/**
 * Max pooling over contiguous planes; `idx` (may be null) receives flat
 * `h*W + w` offsets. All reductions go through {@link firstMax}, which is
 * branch-free: on random data the mispredicted branches of a compare-and-swap
 * loop cost more than all the arithmetic. 3x3 windows (dilation 1) over three
 * whole rows and columns take {@link rowOf3x3}; every other row is reduced per
 * input column over its window rows ({@link columnWinners}), then per window
 * over its columns ({@link windowWinners}), so a column shared by overlapping
 * windows is read once. NaN is not ordered by `>`, so windows whose inputs
 * hold a NaN (their sum is NaN; inf - inf also lands there, harmlessly) are
 * redone with torch's loop ({@link windowMax}), as are the clipped border
 * windows of the 3x3 path and rows of windows entirely in the padding.
 */
function maxPoolKernel(x: TypedArray, out: TypedArray, idx: Int32Array | null, plan: Pool2dPlan): void {
  const { n, c, inH: H, inW: W, outH, outW, kH, kW, sH, sW, pH, pW, dH, dW } = plan;
  const rows = axisWindows(outH, H, kH, sH, pH, dH);
  const cols = axisWindows(outW, W, kW, sW, pW, dW);
  const three = kH === 3 && kW === 3 && dH === 1 && dW === 1;
  // Output columns [c0, c1) have windows of three whole columns (only border windows are clipped).
  let c0 = 0;
  while (c0 < outW && cols.hi[c0] - cols.lo[c0] < 3) c0++;
  let c1 = outW;
  while (c1 > c0 && cols.hi[c1 - 1] - cols.lo[c1 - 1] < 3) c1--;
  const colW = new Int32Array(W);
  const plane = H * W;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * plane;
    for (let oh = 0, o = pl * outH * outW; oh < outH; oh++, o += outW) {
      const h0 = rows.lo[oh];
      const h1 = rows.hi[oh];
      // Windows [lo, hi) are written by the fast paths; the rest by windowMax.
      let lo = 0;
      let hi = 0;
      if (three && h1 - h0 === 3) {
        const sum = rowOf3x3(x, base, W, h0, cols.lo, c0, c1, out, idx, o);
        if (sum === sum) (lo = c0), (hi = c1);
      } else if (h0 < h1) {
        const sum = columnWinners(x, base, W, h0, h1, dH, colW);
        if (sum === sum) {
          windowWinners(x, base, colW, cols.lo, cols.hi, dW, h0 * W, out, idx, o);
          hi = outW;
        }
      }
      for (let ow = 0; ow < lo; ow++) windowMax(x, out, idx, o + ow, base, W, h0, h1, dH, cols.lo[ow], cols.hi[ow], dW);
      for (let ow = hi; ow < outW; ow++) windowMax(x, out, idx, o + ow, base, W, h0, h1, dH, cols.lo[ow], cols.hi[ow], dW);
    }
  }
}

/**
 * `b` if `x[b] > x[a]`, or if they are equal and `b < a`; else `a`. Flat
 * order is row-major order, so folding any set of window positions with it,
 * in any grouping, gives torch's first maximum (for NaN-free data). The
 * comparisons become a 0 / -1 mask that selects the index: no branch.
 */
function firstMax(x: TypedArray, a: number, b: number): number {
  const v = x[b];
  const m = x[a];
  return a ^ ((a ^ b) & -(+(v > m) | (+(v === m) & +(b < a))));
}

/** Flat index of the first maximum of `x[p]`, `x[p + W]`, `x[p + 2W]`. */
function column3(x: TypedArray, p: number, W: number): number {
  return firstMax(x, firstMax(x, p, p + W), p + 2 * W);
}

/**
 * Windows `c0 .. c1-1` of an output row (at `o`) of 3x3 pooling whose three
 * input rows start at row `h0` and whose windows start at columns `lo[ow]`:
 * the first maximum of three column winners. A column shared with the
 * previous window (stride 2) is taken over. Returns the sum of the inputs read
 * (NaN when one is NaN).
 */
function rowOf3x3(x: TypedArray, base: number, W: number, h0: number, lo: Int32Array, c0: number, c1: number, out: TypedArray, idx: Int32Array | null, o: number): number {
  const first = base + h0 * W;
  let sum = 0;
  let shared = -1;
  let sharedWinner = 0;
  for (let ow = c0; ow < c1; ow++) {
    const p = first + lo[ow];
    let a = sharedWinner;
    if (p !== shared) {
      a = column3(x, p, W);
      sum += x[p] + x[p + W] + x[p + 2 * W];
    }
    const b = column3(x, p + 1, W);
    const e = column3(x, p + 2, W);
    sum += x[p + 1] + x[p + 1 + W] + x[p + 1 + 2 * W] + x[p + 2] + x[p + 2 + W] + x[p + 2 + 2 * W];
    shared = p + 2;
    sharedWinner = e;
    const best = firstMax(x, firstMax(x, a, b), e);
    out[o + ow] = x[best];
    if (idx) idx[o + ow] = best - base;
  }
  return sum;
}

/**
 * For every column `w` of the plane at `base`, the flat index into `x` of the
 * first maximum over rows `h0, h0 + dH, ... < h1` (`h0 < h1`), in `colW[w]`.
 * Returns the sum of the values read (NaN when one is NaN).
 */
function columnWinners(x: TypedArray, base: number, W: number, h0: number, h1: number, dH: number, colW: Int32Array): number {
  const step = dH * W;
  const end = base + h1 * W;
  let sum = 0;
  for (let w = 0, first = base + h0 * W; w < W; w++) {
    let best = first + w;
    for (let p = best; p < end; p += step) {
      sum += x[p];
      best = firstMax(x, best, p);
    }
    colW[w] = best;
  }
  return sum;
}

/**
 * Output row at `o` from the column winners: window `ow` spans columns
 * `lo[ow], lo[ow] + dW, ... < hi[ow]`. A window with no column (all padding)
 * gives `-inf` at `rowStart + lo[ow]`, like torch.
 */
function windowWinners(x: TypedArray, base: number, colW: Int32Array, lo: Int32Array, hi: Int32Array, dW: number, rowStart: number, out: TypedArray, idx: Int32Array | null, o: number): void {
  for (let ow = 0; ow < lo.length; ow++) {
    const w0 = lo[ow];
    const w1 = hi[ow];
    if (w0 >= w1) {
      out[o + ow] = -Infinity;
      if (idx) idx[o + ow] = rowStart + w0;
      continue;
    }
    let best = colW[w0];
    for (let w = w0 + dW; w < w1; w += dW) best = firstMax(x, best, colW[w]);
    out[o + ow] = x[best];
    if (idx) idx[o + ow] = best - base;
  }
}

/**
 * `torch.nn.functional.max_pool2d`. Input `[N, C, H, W]` or `[C, H, W]`
 * (float32/float64); output `[N, C, Ho, Wo]` with
 * `Ho = floor((H + 2p - d(k-1) - 1) / s) + 1` (ceil in `ceilMode`, dropping a
 * last window that starts in the right padding). Padding is `-inf`, ties keep
 * the first maximum in row-major window order, NaN propagates. With
 * `returnIndices`, also int32 indices: flat `h*W + w` offsets into the
 * unpadded input plane (as torch's, for {@link maxUnpool2d}). Exact (no rounding).
 */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices: true }): { output: Tensor; indices: Tensor };
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | { output: Tensor; indices: Tensor };
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | { output: Tensor; indices: Tensor } {
  const data = floatData('max_pool2d', x);
  const plan = resolveMaxPool2d(x.shape, opts);
  const size = plan.n * plan.c * plan.outH * plan.outW;
  const out = allocate(x.dtype, size);
  const idx = plan.returnIndices ? new Int32Array(size) : null;
  maxPoolKernel(data, out, idx, plan);
  const output = new Tensor(out, plan.outShape, x.dtype);
  return idx ? { output, indices: new Tensor(idx, plan.outShape, 'int32') } : output;
}

/**
 * `torch.nn.functional.avg_pool2d`. Shapes as {@link maxPool2d} (no dilation).
 * Divisor: `divisorOverride` if given; else with `countIncludePad` the window
 * clipped to the padded input (`(min(h0+k, H+p) - h0) * ...`: padding counts,
 * ceil-mode overhang does not); else only in-bounds pixels. Sums accumulate in
 * the input dtype in row-major window order like torch's CPU kernel, so
 * float32 results are bit-identical to torch 1.13.
 */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const data = floatData('avg_pool2d', x);
  const plan = resolveAvgPool2d(x.shape, opts);
  const { n, c, inH: H, inW: W, outH, outW, kH, kW, sH, sW, pH, pW, countIncludePad, divisorOverride } = plan;
  const out = allocate(x.dtype, n * c * outH * outW);
  // One-element accumulator of the input dtype: each `+=` rounds like torch's scalar_t sum.
  const acc = allocate(x.dtype, 1);
  const plane = H * W;
  let o = 0;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * plane;
    for (let oh = 0; oh < outH; oh++) {
      let h0 = oh * sH - pH;
      let h1 = Math.min(h0 + kH, H + pH);
      const padH = h1 - h0;
      h0 = Math.max(h0, 0);
      h1 = Math.min(h1, H);
      for (let ow = 0; ow < outW; ow++, o++) {
        let w0 = ow * sW - pW;
        let w1 = Math.min(w0 + kW, W + pW);
        const padW = w1 - w0;
        w0 = Math.max(w0, 0);
        w1 = Math.min(w1, W);
        if (h0 >= h1 || w0 >= w1) {
          out[o] = 0;
          continue;
        }
        const divisor = divisorOverride ?? (countIncludePad ? padH * padW : (h1 - h0) * (w1 - w0));
        acc[0] = 0;
        for (let ih = h0; ih < h1; ih++) {
          const r = base + ih * W;
          for (let iw = w0; iw < w1; iw++) acc[0] += data[r + iw];
        }
        out[o] = acc[0] / divisor;
      }
    }
  }
  return new Tensor(out, plan.outShape, x.dtype);
}

/** Output size argument of the adaptive pools: an integer, or `[h, w]` where `null` keeps that input size. */
export type AdaptiveSize = number | readonly [number | null, number | null] | readonly (number | null)[];

export interface AdaptivePool2dPlan extends PlaneGeometry {
  batched: boolean;
}

/**
 * Checks and normalises an adaptive pooling call. Bin `i` of `out` over an
 * axis of length `in` spans `[floor(i*in/out), ceil((i+1)*in/out))` (see
 * {@link adaptiveBin}); bins overlap when `out` does not divide `in`, and
 * `out > in` is allowed. An output size of 0 gives an empty output like torch.
 */
export function resolveAdaptivePool2d(op: 'adaptive_avg_pool2d' | 'adaptive_max_pool2d', xShape: readonly number[], outputSize: AdaptiveSize): AdaptivePool2dPlan {
  const { batched, n, c, h, w } = pool4d(op, xShape, op === 'adaptive_avg_pool2d' ? { 3: 1, 4: 2 } : { 3: 1, 4: 1 });
  const list = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(list) || list.length !== 2) throw new ValueError(`${op}(): output_size must be 2 elements, got ${describe(outputSize)}`);
  const [outH, outW] = list.map((v, i) => (v === null ? (i === 0 ? h : w) : expectInt(op, 'outputSize', v, { min: 0 })));
  const outShape = batched ? [n, c, outH, outW] : [c, outH, outW];
  return { batched, n, c, inH: h, inW: w, outH, outW, outShape };
}

/**
 * Bin `i` of `out` over `inSize` as torch computes it, in float32
 * (`floor(float(i*in) / out)`, `ceil(float((i+1)*in) / out)`).
 */
export function adaptiveBin(i: number, out: number, inSize: number): [number, number] {
  const start = Math.floor(Math.fround(Math.fround(i * inSize) / out));
  const end = Math.ceil(Math.fround(Math.fround((i + 1) * inSize) / out));
  return [start, end];
}

function adaptiveBins(out: number, inSize: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  for (let i = 0; i < out; i++) [lo[i], hi[i]] = adaptiveBin(i, out, inSize);
  return { lo, hi };
}

/**
 * `torch.nn.functional.adaptive_avg_pool2d`. Input `[N, C, H, W]` or
 * `[C, H, W]`, output `[N, C, outH, outW]`. Each bin's sum accumulates in the
 * input dtype in row-major order and is divided by the bin height, then
 * width, as torch 1.13's CPU kernel does: bit-identical float32 results.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const data = floatData('adaptive_avg_pool2d', x);
  const plan = resolveAdaptivePool2d('adaptive_avg_pool2d', x.shape, outputSize);
  const { n, c, inH: H, inW: W, outH, outW } = plan;
  const rows = adaptiveBins(outH, H);
  const cols = adaptiveBins(outW, W);
  const out = allocate(x.dtype, n * c * outH * outW);
  if (outH === 1 && outW === 1) {
    // torch turns a 1x1 adaptive average into mean(), a blocked float reduction: summing
    // in float64 stays within its rounding (a few float32 ulps) without mimicking its blocking.
    const plane = H * W;
    for (let pl = 0; pl < n * c; pl++) {
      let s = 0;
      for (let i = pl * plane, e = i + plane; i < e; i++) s += data[i];
      out[pl] = s / plane;
    }
    return new Tensor(out, plan.outShape, x.dtype);
  }
  const acc = allocate(x.dtype, 1);
  let o = 0;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = rows.lo[oh];
      const h1 = rows.hi[oh];
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = cols.lo[ow];
        const w1 = cols.hi[ow];
        acc[0] = 0;
        for (let ih = h0; ih < h1; ih++) {
          const r = base + ih * W;
          for (let iw = w0; iw < w1; iw++) acc[0] += data[r + iw];
        }
        acc[0] /= h1 - h0;
        out[o] = acc[0] / (w1 - w0);
      }
    }
  }
  return new Tensor(out, plan.outShape, x.dtype);
}

export interface AdaptiveMaxPool2dOptions {
  returnIndices?: boolean;
}

/**
 * `torch.nn.functional.adaptive_max_pool2d` over the bins of
 * {@link adaptiveAvgPool2d}; max rules and index convention as
 * {@link maxPool2d}. Exact.
 */
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts: { returnIndices: true }): { output: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts?: AdaptiveMaxPool2dOptions): Tensor | { output: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: AdaptiveSize, opts: AdaptiveMaxPool2dOptions = {}): Tensor | { output: Tensor; indices: Tensor } {
  const data = floatData('adaptive_max_pool2d', x);
  const plan = resolveAdaptivePool2d('adaptive_max_pool2d', x.shape, outputSize);
  const { n, c, inH: H, inW: W, outH, outW } = plan;
  const rows = adaptiveBins(outH, H);
  const cols = adaptiveBins(outW, W);
  const size = n * c * outH * outW;
  const out = allocate(x.dtype, size);
  const idx = new Int32Array(size);
  let o = 0;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * H * W;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, o++) {
        let mi = rows.lo[oh] * W + cols.lo[ow];
        let m = -Infinity;
        for (let ih = rows.lo[oh]; ih < rows.hi[oh]; ih++) {
          for (let iw = cols.lo[ow]; iw < cols.hi[ow]; iw++) {
            const v = data[base + ih * W + iw];
            if (v > m || v !== v) {
              m = v;
              mi = ih * W + iw;
            }
          }
        }
        out[o] = m;
        idx[o] = mi;
      }
    }
  }
  const output = new Tensor(out, plan.outShape, x.dtype);
  return opts.returnIndices ? { output, indices: new Tensor(idx, plan.outShape, 'int32') } : output;
}

export interface MaxUnpool2dOptions {
  kernelSize: Size2;
  /** Defaults to `kernelSize`. */
  stride?: Size2 | null;
  padding?: Size2;
  /** `[H, W]` or `[N, C, H, W]` (only the last two are used, like torch). */
  outputSize?: readonly number[] | null;
}

export interface MaxUnpool2dPlan extends PlaneGeometry {
  batched: boolean;
}

/**
 * Checks `maxUnpool2d` arguments: `indices` must have the input's shape; the
 * default output size per axis is `(in - 1) * stride + kernel - 2 * pad`, and
 * an explicit `outputSize` must lie strictly between `default - stride` and
 * `default + stride` (torch's `_unpool_output_size`). Index values are checked
 * by the kernel.
 */
export function resolveMaxUnpool2d(xShape: readonly number[], indicesShape: readonly number[], opts: MaxUnpool2dOptions): MaxUnpool2dPlan {
  const op = 'max_unpool2d';
  if (opts === null || typeof opts !== 'object' || opts.kernelSize === undefined) throw new ValueError(`${op}(): missing required argument 'kernelSize'`);
  const k = pair(op, 'kernelSize', opts.kernelSize, { min: 1 });
  const s = opts.stride == null || isEmptyList(opts.stride) ? k : pair(op, 'stride', opts.stride, { min: 1 });
  const p = pair(op, 'padding', opts.padding ?? 0, { min: 0 });
  const { batched, n, c, h, w } = pool4d(op, xShape);
  if (indicesShape.length !== xShape.length || indicesShape.some((d, i) => d !== xShape[i])) {
    throw new ShapeError(`${op}(): Expected shape of indices to be same as that of the input tensor (${fmtShape(xShape)}) but got indices tensor with shape: ${fmtShape(indicesShape)}`);
  }
  const inSize = [h, w];
  const def = [0, 1].map((d) => (inSize[d] - 1) * s[d] + k[d] - 2 * p[d]);
  let size = def;
  if (opts.outputSize != null) {
    let req = [...opts.outputSize];
    if (req.length === 4) req = req.slice(2);
    if (req.length !== 2) throw new ValueError(`${op}(): output_size should be a sequence containing 2 or 4 elements, but it has a length of '${opts.outputSize.length}'`);
    req.forEach((v) => expectInt(op, 'outputSize', v));
    for (let d = 0; d < 2; d++) {
      const lo = def[d] - s[d];
      const hi = def[d] + s[d];
      if (!(lo < req[d] && req[d] < hi)) throw new ValueError(`${op}(): invalid output_size ${fmtShape(req)} (dim ${d} must be between ${lo} and ${hi})`);
    }
    size = req;
  }
  const [outH, outW] = size;
  if (outH < 0 || outW < 0) throw new ValueError(`${op}(): output size ${fmtShape(size)} is negative (kernelSize ${fmtShape(k)}, stride ${fmtShape(s)}, padding ${fmtShape(p)})`);
  const outShape = batched ? [n, c, outH, outW] : [c, outH, outW];
  return { batched, n, c, inH: h, inW: w, outH, outW, outShape };
}

/**
 * `torch.nn.functional.max_unpool2d`: zeros of shape `[N, C, Ho, Wo]` with
 * `input` scattered to `indices`, read as flat offsets into the OUTPUT plane
 * (so after a ceil-mode pool with the default size, positions shift exactly
 * as in torch). A later duplicate index overwrites an earlier one. An index
 * outside `[0, Ho*Wo)` is an IndexError (unless the output is empty, where
 * torch checks nothing). `indices` must be int32.
 */
export function maxUnpool2d(x: Tensor, indices: Tensor, opts: MaxUnpool2dOptions): Tensor {
  const op = 'max_unpool2d';
  const data = floatData(op, x);
  expectTensor(op, 'indices', indices);
  expectDType(op, 'indices', indices, ['int32']);
  const plan = resolveMaxUnpool2d(x.shape, indices.shape, opts);
  const { n, c, inH, inW, outH, outW } = plan;
  const outPlane = outH * outW;
  const out = allocate(x.dtype, n * c * outPlane);
  if (out.length === 0) return new Tensor(out, plan.outShape, x.dtype);
  const idx = indices.contiguous().data;
  const inPlane = inH * inW;
  for (let pl = 0; pl < n * c; pl++) {
    const ib = pl * inPlane;
    const ob = pl * outPlane;
    for (let i = 0; i < inPlane; i++) {
      const t = idx[ib + i];
      if (t < 0 || t >= outPlane) {
        throw new IndexError(`${op}(): Found an invalid max index: ${t} (output volumes are of size ${outH}x${outW})`);
      }
      out[ob + t] = data[ib + i];
    }
  }
  return new Tensor(out, plan.outShape, x.dtype);
}

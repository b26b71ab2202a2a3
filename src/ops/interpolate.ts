/**
 * `torch.nn.functional.interpolate` (PyTorch 1.13, `antialias=False`) for
 * `N x C x H x W` inputs (`bilinear`, `bicubic`, `nearest`, `nearest-exact`,
 * `area`) and `N x C x L` inputs (`linear`, `nearest`, `nearest-exact`, `area`).
 * Every output position reads a fixed set of source taps per axis; the taps
 * and weights are computed once per axis by {@link interpolationTaps}, which
 * the WebGPU backend shares.
 */
import { allocate, type DType, type TypedArray } from '../tensor/dtype';
import { fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { describe, expectFloat, expectTensor } from '../tensor/check';
import { Tensor } from '../tensor/tensor';
import { adaptiveAvgPool2d, type PlaneGeometry } from './pool';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'area';

const MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'area'];

export interface InterpolateOptions {
  /** Output spatial size: an integer for every axis or one per axis. Exactly one of `size` / `scaleFactor`. */
  size?: number | readonly number[] | null;
  /** Multiplier per axis (or one for all); output size `floor(in * scaleFactor)`. */
  scaleFactor?: number | readonly number[] | null;
  /** Default `'nearest'`. */
  mode?: InterpolateMode;
  /** Only for `linear`/`bilinear`/`bicubic` (default false); an error for the other modes. */
  alignCorners?: boolean | null;
  /**
   * With `scaleFactor`: true makes the kernel use `in/out` as the step (as if
   * `size` had been given); unset/false keeps `1/scaleFactor`.
   */
  recomputeScaleFactor?: boolean | null;
}

/** Normalised interpolation call over a 4-D view `[N, C, inH, inW]` (a 3-D input has `inH = outH = 1`). */
export interface InterpolatePlan extends PlaneGeometry {
  mode: InterpolateMode;
  alignCorners: boolean;
  /** 2 for `[N, C, H, W]` inputs, 1 for `[N, C, L]` (interpolated along L only). */
  spatialDims: 1 | 2;
  /**
   * Whether torch 1.13 runs its channels-last nearest kernel: a contiguous NCHW
   * input is also channels-last contiguous when C == 1, and that kernel copies
   * when `out == in` and halves when `out == 2*in`, whatever the scale factor.
   */
  nearestSizeShortcuts: boolean;
  /** The `scale_factor` torch hands its kernel per axis (null: it uses `in/out`). */
  scaleH: number | null;
  scaleW: number | null;
}

function perAxis(op: string, name: string, v: number | readonly number[], dims: number, spatial: readonly number[]): number[] {
  if (typeof v === 'number') return Array<number>(dims).fill(v);
  if (!Array.isArray(v) || v.length !== dims) {
    throw new ValueError(`${op}(): Input and output must have the same number of spatial dimensions, but got input with spatial dimensions of ${fmtShape(spatial)} and ${name} of ${describe(v)}`);
  }
  return [...v];
}

/**
 * Checks and normalises an `interpolate` call for an input of shape `xShape`,
 * following torch's Python front end: exactly one of `size`/`scaleFactor`;
 * `alignCorners` only for the linear family; 3-D inputs are `[N, C, L]`
 * (1-D interpolation, as in torch, not unbatched images); the output size
 * from a scale factor is `trunc(in * scaleFactor)` and must be positive
 * (`area` allows 0, like adaptive average pooling).
 */
export function resolveInterpolate(xShape: readonly number[], opts: InterpolateOptions): InterpolatePlan {
  const op = 'interpolate';
  if (opts === null || typeof opts !== 'object') throw new ValueError(`${op}(): options object expected, got ${describe(opts)}`);
  const mode = opts.mode ?? 'nearest';
  if (!MODES.includes(mode)) throw new ValueError(`${op}(): mode must be one of ${MODES.join(', ')}, got ${describe(mode)}`);
  const linearFamily = mode === 'linear' || mode === 'bilinear' || mode === 'bicubic';
  if (!linearFamily && opts.alignCorners != null) {
    throw new ValueError(`${op}(): align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic`);
  }
  const alignCorners = opts.alignCorners ?? false;
  const nd = xShape.length;
  if (nd !== 3 && nd !== 4) {
    throw new ShapeError(`${op}(): Expected 3-D [N, C, L] or 4-D [N, C, H, W] input, but got ${nd}-D input of size ${fmtShape(xShape)}`);
  }
  const dims = nd - 2;
  const spatial = xShape.slice(2);
  const [n, c] = xShape;

  // Argument errors first, in the order of torch's Python front end (all ValueError there).
  const hasSize = opts.size != null;
  const hasScale = opts.scaleFactor != null;
  if (hasSize && hasScale) throw new ValueError(`${op}(): only one of size or scale_factor should be defined`);
  if (!hasSize && !hasScale) throw new ValueError(`${op}(): either size or scale_factor should be defined`);
  const requested = perAxis(op, hasSize ? 'output size' : 'scale_factor', hasSize ? opts.size! : opts.scaleFactor!, dims, spatial);
  if (hasSize && opts.recomputeScaleFactor) throw new ValueError(`${op}(): recompute_scale_factor is not meaningful with an explicit size.`);

  const needs = mode === 'linear' ? 3 : mode === 'bilinear' || mode === 'bicubic' ? 4 : nd;
  if (nd !== needs) throw new ShapeError(`${op}(): Got ${nd}D input, but ${mode} mode needs ${needs}D input (3-D is [N, C, L], 4-D is [N, C, H, W])`);
  if (c === 0 || spatial.some((d) => d === 0)) throw new ShapeError(`${op}(): Non-empty input expected (only the batch may be 0), but got a tensor with sizes ${fmtShape(xShape)}`);

  let outSize: number[];
  let scales: (number | null)[];
  if (hasSize) {
    outSize = requested;
    for (const v of outSize) {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValueError(`${op}(): argument 'size' must hold integers, got ${describe(opts.size)}`);
    }
    scales = outSize.map(() => null);
  } else {
    outSize = requested.map((s, i) => {
      if (typeof s !== 'number' || !Number.isFinite(s)) throw new ValueError(`${op}(): argument 'scaleFactor' must hold finite numbers, got ${describe(opts.scaleFactor)}`);
      return Math.trunc(spatial[i] * s);
    });
    // torch's 'area' mode always recomputes (it is adaptive average pooling of the output size).
    scales = opts.recomputeScaleFactor || mode === 'area' ? requested.map(() => null) : requested;
  }
  // 'area' is adaptive average pooling, which accepts an empty output.
  if (outSize.some((d) => d < 0 || (d === 0 && mode !== 'area'))) {
    throw new ValueError(`${op}(): Input and output sizes should be greater than 0, but got input ${fmtShape(spatial)} output ${fmtShape(outSize)}`);
  }
  const two = dims === 2;
  return {
    mode,
    alignCorners,
    spatialDims: two ? 2 : 1,
    n,
    c,
    inH: two ? spatial[0] : 1,
    inW: spatial[dims - 1],
    outH: two ? outSize[0] : 1,
    outW: outSize[dims - 1],
    nearestSizeShortcuts: two && mode === 'nearest' && c === 1,
    scaleH: two ? scales[0] : null,
    scaleW: scales[dims - 1],
    outShape: [n, c, ...outSize],
  };
}

/** Source taps of one axis: output `o` reads `index[t*out + o]` with weight `weight[t*out + o]`, t < taps. */
export interface AxisTaps {
  taps: 1 | 2 | 4;
  index: Int32Array;
  weight: Float64Array;
}

const identity = (v: number): number => v;

/**
 * Source indices and weights along one axis, reproducing torch 1.13's CPU
 * `compute_indices_weights_*` and `nearest_idx`:
 * - step: `alignCorners` → `(in-1)/(out-1)` (0 if out == 1); else
 *   `1/scale` when a scale factor was given, else `in/out`.
 * - nearest: `min(floor(f32(dst * f32 step)), in-1)` in float32 even for
 *   float64 inputs (so 6 → 74 maps dst 37 to 2); nearest-exact uses
 *   `dst + 0.5`. With `nearestSizeShortcuts` (torch's channels-last 2-D
 *   kernel, see {@link InterpolatePlan}) it copies when `in == out` and halves
 *   when `out == 2*in`, whatever the scale factor; its other kernels do not.
 * - linear: `in == out` copies; `src = step*(dst+0.5) - 0.5` clamped at 0
 *   (or `step*dst`), two taps with weights `1-λ, λ`.
 * - cubic: `src` unclamped, four taps `floor(src)-1 .. +2` clamped to
 *   `[0, in-1]`, Keys' kernel with A = -0.75.
 * For linear/cubic the step is rounded to float32 when `dtype` is float32,
 * the source coordinate is one fused multiply-add in double (also for
 * float32), and λ and the cubic weights are rounded to float32 step by step.
 * The linear weights then equal torch's bit for bit; the cubic ones within a
 * few ulps.
 */
export function interpolationTaps(
  mode: InterpolateMode,
  inSize: number,
  outSize: number,
  scale: number | null,
  alignCorners: boolean,
  dtype: DType,
  nearestSizeShortcuts = false,
): AxisTaps {
  const r = dtype === 'float32' ? Math.fround : identity;
  if (mode === 'nearest' || mode === 'nearest-exact') {
    const index = new Int32Array(outSize);
    const step = Math.fround(scale !== null && scale > 0 ? 1 / scale : inSize / outSize);
    const half = mode === 'nearest-exact' ? 0.5 : 0;
    const special = mode === 'nearest' && nearestSizeShortcuts;
    for (let o = 0; o < outSize; o++) {
      if (special && outSize === inSize) index[o] = o;
      else if (special && outSize === 2 * inSize) index[o] = o >> 1;
      else index[o] = Math.min(Math.floor(Math.fround((o + half) * step)), inSize - 1);
    }
    return { taps: 1, index, weight: new Float64Array(outSize).fill(1) };
  }
  const step = alignCorners
    ? outSize > 1
      ? r((inSize - 1) / (outSize - 1))
      : 0
    : r(scale !== null && scale > 0 ? 1 / scale : inSize / outSize);
  // torch 1.13's build contracts `step * (dst + 0.5) - 0.5` into one fused multiply-add in double,
  // and keeps the coordinate in double even for float32 (checked weight for weight).
  const source = (o: number): number => (alignCorners ? step * o : fusedMultiplyAdd(step, o + 0.5, -0.5));
  if (mode === 'linear' || mode === 'bilinear') {
    const index = new Int32Array(2 * outSize);
    const weight = new Float64Array(2 * outSize);
    for (let o = 0; o < outSize; o++) {
      let i0 = o;
      let lambda = 0;
      if (outSize !== inSize) {
        const src = Math.max(source(o), 0);
        i0 = Math.min(Math.floor(src), inSize - 1);
        lambda = Math.min(Math.max(r(src - i0), 0), 1);
      }
      index[o] = i0;
      index[outSize + o] = outSize === inSize ? o : i0 + (i0 < inSize - 1 ? 1 : 0);
      weight[o] = r(1 - lambda);
      weight[outSize + o] = lambda;
    }
    return { taps: 2, index, weight };
  }
  if (mode !== 'bicubic') throw new ValueError(`interpolationTaps(): mode '${mode}' has no per-axis taps`);
  const index = new Int32Array(4 * outSize);
  const weight = new Float64Array(4 * outSize);
  const A = -0.75;
  // Keys' cubic convolution, |x| <= 1 and 1 < |x| < 2, evaluated step by step in the opmath type.
  const near = (x: number) => r(r(r(r(r(r(A + 2) * x) - r(A + 3)) * x) * x) + 1);
  const far = (x: number) => r(r(r(r(r(r(A * x) - r(5 * A)) * x) + r(8 * A)) * x) - r(4 * A));
  for (let o = 0; o < outSize; o++) {
    const src = source(o);
    const i = Math.floor(src);
    const t = r(src - i);
    const w = [far(r(t + 1)), near(t), near(r(1 - t)), far(r(r(1 - t) + 1))];
    for (let k = 0; k < 4; k++) {
      index[k * outSize + o] = Math.min(Math.max(i - 1 + k, 0), inSize - 1);
      weight[k * outSize + o] = w[k];
    }
  }
  return { taps: 4, index, weight };
}

/**
 * `a * b + c` with a single rounding (what C's fma gives): the product split
 * exactly (Dekker) and the sum with its error term (Knuth's TwoSum).
 */
function fusedMultiplyAdd(a: number, b: number, c: number): number {
  const p = a * b;
  const SPLIT = 134217729; // 2^27 + 1
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const e = ah * bh - p + ah * bl + al * bh + al * bl;
  const sum = p + c;
  const z = sum - p;
  const err = p - (sum - z) + (c - z);
  return sum + (err + e);
}

/** Output rows that use only one tap (nearest): copy a source row per output row. */
function nearestKernel(x: TypedArray, out: TypedArray, plan: InterpolatePlan, th: AxisTaps, tw: AxisTaps): void {
  const { n, c, inH, inW, outH, outW } = plan;
  const cols = tw.index;
  let o = 0;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * inH * inW;
    for (let oh = 0; oh < outH; oh++, o += outW) {
      if (oh > 0 && th.index[oh] === th.index[oh - 1]) {
        out.copyWithin(o, o - outW, o);
        continue;
      }
      const row = base + th.index[oh] * inW;
      for (let ow = 0; ow < outW; ow++) out[o + ow] = x[row + cols[ow]];
    }
  }
}

/**
 * Separable weighted sum in torch's order: for each needed input row, the
 * horizontal taps into a float64 row buffer (unrounded; one element type
 * whatever the input's, so the blend loops stay monomorphic), then each output
 * row as the weighted sum of its vertical taps' buffer rows. Upsampling maps
 * runs of output rows to the same source rows; such rows are blended several
 * at a time (8 for two taps, 4 for four), loading each buffer element once
 * per group instead of once per row.
 */
function separableKernel(x: TypedArray, out: TypedArray, plan: InterpolatePlan, th: AxisTaps, tw: AxisTaps): void {
  const { n, c, inH, inW, outH, outW } = plan;
  const needed = new Uint8Array(inH);
  for (let k = 0; k < th.index.length; k++) needed[th.index[k]] = 1;
  const buf = new Float64Array(inH * outW);
  // Rows whose values are finite and below a quarter of the largest double: lerp8 cannot overflow on them.
  const tame = new Uint8Array(inH);
  const runs = tapRuns(tw, outW);
  const group = th.taps === 2 ? 8 : 4;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * inH * inW;
    for (let ih = 0; ih < inH; ih++) {
      if (!needed[ih]) continue;
      const sumAbs = horizontal(x, base + ih * inW, buf, ih * outW, runs);
      tame[ih] = 4 * sumAbs < Infinity ? 1 : 0;
    }
    let o = pl * outH * outW;
    for (let oh = 0; oh < outH; ) {
      // Taps are monotonic in oh, so equal taps at both ends of a group mean equal taps throughout.
      const rows = oh + group - 1 < outH && sameTaps(th, outH, oh, oh + group - 1) ? group : 1;
      if (th.taps === 4) blend4(buf, out, o, outW, th, outH, oh, rows);
      else if (rows === 8 && tame[th.index[oh]] && tame[th.index[outH + oh]]) lerp8(buf, out, o, outW, th, outH, oh);
      else for (let k = 0; k < rows; k++) blend2(buf, out, o + k * outW, outW, th, outH, oh + k);
      oh += rows;
      o += rows * outW;
    }
  }
}

/**
 * The horizontal taps interleaved per output (`index[o*T + k]`) and grouped into runs of
 * consecutive outputs that read the same source columns (upsampling by f gives runs of ~f),
 * so each run loads its source values once.
 */
interface TapRuns {
  taps: number;
  index: Int32Array;
  weight: Float64Array;
  start: Int32Array;
  end: Int32Array;
}

function tapRuns(t: AxisTaps, out: number): TapRuns {
  const T = t.taps;
  const index = new Int32Array(out * T);
  const weight = new Float64Array(out * T);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < T; k++) {
      index[o * T + k] = t.index[k * out + o];
      weight[o * T + k] = t.weight[k * out + o];
    }
  }
  const start: number[] = [];
  const end: number[] = [];
  for (let o = 0; o < out; ) {
    let e = o + 1;
    while (e < out && sameTaps(t, out, o, e)) e++;
    start.push(o);
    end.push(e);
    o = e;
  }
  return { taps: T, index, weight, start: Int32Array.from(start), end: Int32Array.from(end) };
}

/** One input row (at `src`) resampled along W into `buf` at `dst`; returns the sum of the outputs' magnitudes (NaN if one is NaN). */
function horizontal(x: TypedArray, src: number, buf: Float64Array, dst: number, runs: TapRuns): number {
  const { index: ix, weight: w, start, end } = runs;
  let sum = 0;
  if (runs.taps === 2) {
    for (let r = 0; r < start.length; r++) {
      const t0 = start[r] * 2;
      const p0 = x[src + ix[t0]];
      const p1 = x[src + ix[t0 + 1]];
      for (let ow = start[r], t = t0, e = end[r]; ow < e; ow++, t += 2) sum += Math.abs((buf[dst + ow] = p0 * w[t] + p1 * w[t + 1]));
    }
    return sum;
  }
  for (let r = 0; r < start.length; r++) {
    const t0 = start[r] * 4;
    const p0 = x[src + ix[t0]];
    const p1 = x[src + ix[t0 + 1]];
    const p2 = x[src + ix[t0 + 2]];
    const p3 = x[src + ix[t0 + 3]];
    for (let ow = start[r], t = t0, e = end[r]; ow < e; ow++, t += 4) sum += Math.abs((buf[dst + ow] = p0 * w[t] + p1 * w[t + 1] + p2 * w[t + 2] + p3 * w[t + 3]));
  }
  return sum;
}

function sameTaps(t: AxisTaps, out: number, a: number, b: number): boolean {
  for (let k = 0; k < t.taps; k++) if (t.index[k * out + a] !== t.index[k * out + b]) return false;
  return true;
}

/** Output row `oh` (at `o`) from its two buffer rows, with torch's weights: `w0*a + w1*b`. */
function blend2(buf: Float64Array, out: TypedArray, o: number, W: number, th: AxisTaps, outH: number, oh: number): void {
  const r0 = th.index[oh] * W;
  const r1 = th.index[outH + oh] * W;
  const a = th.weight[oh];
  const b = th.weight[outH + oh];
  for (let ow = 0; ow < W; ow++) out[o + ow] = buf[r0 + ow] * a + buf[r1 + ow] * b;
}

/**
 * Output rows `oh .. oh+7` (at `o`, same two source rows) as `a + λ(b - a)`:
 * one multiply per output instead of two, and `b - a` once per column. Only
 * for finite buffer rows well inside the double range: with inf, torch's
 * `w0*a + w1*b` gives inf or NaN (0 * inf) where this would not, and `b - a`
 * must not overflow. Results differ from torch's by less than an ulp of the
 * inputs, as `λ` and torch's `w0 = f32(1 - λ)` differ by less.
 */
function lerp8(buf: Float64Array, out: TypedArray, o: number, W: number, th: AxisTaps, outH: number, oh: number): void {
  const r0 = th.index[oh] * W;
  const r1 = th.index[outH + oh] * W;
  const w = th.weight;
  const v = oh + outH;
  const l0 = w[v], l1 = w[v + 1], l2 = w[v + 2], l3 = w[v + 3], l4 = w[v + 4], l5 = w[v + 5], l6 = w[v + 6], l7 = w[v + 7];
  for (let ow = 0; ow < W; ow++) {
    const a = buf[r0 + ow];
    const d = buf[r1 + ow] - a;
    let k = o + ow;
    out[k] = a + d * l0;
    out[(k += W)] = a + d * l1;
    out[(k += W)] = a + d * l2;
    out[(k += W)] = a + d * l3;
    out[(k += W)] = a + d * l4;
    out[(k += W)] = a + d * l5;
    out[(k += W)] = a + d * l6;
    out[k + W] = a + d * l7;
  }
}

/** Output rows `oh .. oh+rows-1` (rows 1 or 4, same source rows) from four buffer rows (bicubic). */
function blend4(buf: Float64Array, out: TypedArray, o: number, W: number, th: AxisTaps, outH: number, oh: number, rows: number): void {
  const r0 = th.index[oh] * W;
  const r1 = th.index[outH + oh] * W;
  const r2 = th.index[2 * outH + oh] * W;
  const r3 = th.index[3 * outH + oh] * W;
  const w = th.weight;
  const [a0, b0, c0, d0] = [w[oh], w[outH + oh], w[2 * outH + oh], w[3 * outH + oh]];
  if (rows === 1) {
    for (let ow = 0; ow < W; ow++) out[o + ow] = buf[r0 + ow] * a0 + buf[r1 + ow] * b0 + buf[r2 + ow] * c0 + buf[r3 + ow] * d0;
    return;
  }
  const [a1, b1, c1, d1] = [w[oh + 1], w[outH + oh + 1], w[2 * outH + oh + 1], w[3 * outH + oh + 1]];
  const [a2, b2, c2, d2] = [w[oh + 2], w[outH + oh + 2], w[2 * outH + oh + 2], w[3 * outH + oh + 2]];
  const [a3, b3, c3, d3] = [w[oh + 3], w[outH + oh + 3], w[2 * outH + oh + 3], w[3 * outH + oh + 3]];
  const o1 = o + W;
  const o2 = o1 + W;
  const o3 = o2 + W;
  for (let ow = 0; ow < W; ow++) {
    const p = buf[r0 + ow];
    const q = buf[r1 + ow];
    const r = buf[r2 + ow];
    const s = buf[r3 + ow];
    out[o + ow] = p * a0 + q * b0 + r * c0 + s * d0;
    out[o1 + ow] = p * a1 + q * b1 + r * c1 + s * d1;
    out[o2 + ow] = p * a2 + q * b2 + r * c2 + s * d2;
    out[o3 + ow] = p * a3 + q * b3 + r * c3 + s * d3;
  }
}

/**
 * `torch.nn.functional.interpolate(input, size, scale_factor, mode,
 * align_corners, recompute_scale_factor)` with torch 1.13's CPU semantics.
 * Input `[N, C, H, W]` (or `[N, C, L]` for 1-D modes), float32/float64;
 * output `[N, C, outH, outW]` of the same dtype. See {@link interpolationTaps}
 * for the coordinate mapping. Tolerance vs torch, with eps the dtype's
 * machine epsilon: nearest/nearest-exact/area exact (1x1 area within 8 eps·max|x|,
 * torch uses mean()); linear/bilinear share torch's weights bit for bit and
 * differ only in the rounding of the sums (within 4 eps·max|x|); bicubic within
 * 32 eps·max|x| (torch's own cubic weights differ by a few ulps).
 */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  expectTensor('interpolate', 'input', x);
  expectFloat('interpolate', 'input', x);
  const plan = resolveInterpolate(x.shape, opts);
  if (plan.mode === 'area') {
    const x4 = plan.spatialDims === 2 ? x : x.unsqueeze(2);
    return adaptiveAvgPool2d(x4, [plan.outH, plan.outW]).reshape(plan.outShape);
  }
  const data = x.contiguous().data;
  const th = interpolationTaps(plan.mode, plan.inH, plan.outH, plan.scaleH, plan.alignCorners, x.dtype, plan.nearestSizeShortcuts);
  const tw = interpolationTaps(plan.mode, plan.inW, plan.outW, plan.scaleW, plan.alignCorners, x.dtype, plan.nearestSizeShortcuts);
  const out = allocate(x.dtype, plan.n * plan.c * plan.outH * plan.outW);
  if (th.taps === 1) nearestKernel(data, out, plan, th, tw);
  else separableKernel(data, out, plan, th, tw);
  return new Tensor(out, plan.outShape, x.dtype);
}

import { allocate, dtypeOfArray as dtypeOf, type TypedArray } from '../tensor/dtype';
import { describe, expectInt, expectTensor } from '../tensor/check';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { shapeSize, Tensor } from '../tensor/tensor';
import { gemmBlock, MR, NR, packA, roundUp } from './gemm';

/** An integer, or one per spatial dimension `[h, w]` (a one-element list is broadcast, like torch). */
export type IntOrPair = number | readonly number[];

/** `conv2d` padding: symmetric amounts, or torch's `'same'` / `'valid'` strings. */
export type Conv2dPadding = IntOrPair | 'same' | 'valid';

/** Hyper-parameters of {@link conv2d}, shared with the WebGPU backend through {@link resolveConv2d}. */
export interface Conv2dParams {
  stride?: IntOrPair;
  padding?: Conv2dPadding;
  dilation?: IntOrPair;
  groups?: number;
}

export interface Conv2dOptions extends Conv2dParams {
  /** `[C_out]`, added to every output position. */
  bias?: Tensor | null;
}

/** Geometry shared by {@link Conv2dPlan} and {@link ConvTranspose2dPlan} (all counts for the 4-D, batched view). */
export interface ConvGeometry {
  /** Whether the input was 4-D; a 3-D input is treated as a batch of one. */
  batched: boolean;
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  groups: number;
  /** Input channels per group. */
  cInG: number;
  /** Output channels per group. */
  cOutG: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
  /** The result's shape in the caller's rank (3-D for a 3-D input). */
  outShape: number[];
}

/** Normalised convolution geometry; `cInG` is `weight.shape[1]`. */
export interface Conv2dPlan extends ConvGeometry {
  /** Padding per side; only `'same'` with an even dilated kernel makes bottom/right differ from top/left. */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Channels of the result: `cOut`, or 0 when the weight is empty (`cInG == 0`), as torch 1.13 returns. */
  outC: number;
}

/** Hyper-parameters of {@link convTranspose2d}, shared through {@link resolveConvTranspose2d}. */
export interface ConvTranspose2dParams {
  stride?: IntOrPair;
  padding?: IntOrPair;
  outputPadding?: IntOrPair;
  groups?: number;
  dilation?: IntOrPair;
  /**
   * Requested output size, as `nn.ConvTranspose2d(...)(x, output_size=...)`:
   * `[H, W]`, or with the leading dims (`[N, C, H, W]`, `[C, H, W]` unbatched)
   * whose values are ignored. Overrides `outputPadding`.
   */
  outputSize?: readonly number[];
}

export interface ConvTranspose2dOptions extends ConvTranspose2dParams {
  /** `[C_out]`. */
  bias?: Tensor | null;
}

/** Normalised transposed-convolution geometry; `cOutG` is `weight.shape[1]`. */
export interface ConvTranspose2dPlan extends ConvGeometry {
  padH: number;
  padW: number;
  /** Effective output padding (derived from `outputSize` when given). */
  outputPaddingH: number;
  outputPaddingW: number;
}

/** torch's `_pair` for convolution arguments: an int or a list of 1 or 2 ints, each `>= min`. */
export function convPair(op: string, name: string, v: unknown, min: number): [number, number] {
  const arr = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 1 ? [v[0], v[0]] : v;
  if (!Array.isArray(arr) || arr.length !== 2) {
    throw new ValueError(`${op}(): expected ${name} to be a single integer value or a list of 2 values to match the convolution dimensions, but got ${name}=${describe(v)}`);
  }
  return [expectInt(op, name, arr[0], { min }), expectInt(op, name, arr[1], { min })];
}

function expectRank(op: string, name: string, shape: readonly number[], allowed: number[], what: string): void {
  if (!allowed.includes(shape.length)) {
    throw new ShapeError(`${op}(): Expected ${what} for argument '${name}', but got ${shape.length}-D input of size: ${fmtShape(shape)}`);
  }
}

/** A non-empty kernel, and `weight.shape[0]` (C_out, or C_in when transposed) divisible by `groups`. */
function checkWeight(op: string, wShape: readonly number[], groups: number): void {
  const [w0, , kh, kw] = wShape;
  if (kh < 1 || kw < 1) {
    throw new ShapeError(`${op}(): kernel size should be greater than zero, but got weight of size ${fmtShape(wShape)}`);
  }
  if (w0 < groups || w0 % groups !== 0) {
    throw new ShapeError(`${op}(): Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmtShape(wShape)}`);
  }
}

function checkBias(op: string, biasShape: readonly number[] | null | undefined, channels: number, wShape: readonly number[]): void {
  if (biasShape && (biasShape.length !== 1 || biasShape[0] !== channels)) {
    throw new ShapeError(`${op}(): Given weight of size ${fmtShape(wShape)}, expected bias to be 1-dimensional with ${channels} elements, but got bias of size ${fmtShape(biasShape)} instead`);
  }
}

/**
 * Validates `conv2d` arguments exactly as torch 1.13 does and computes the
 * output geometry. `xShape` is `[N, C, H, W]` or `[C, H, W]`, `wShape`
 * `[C_out, C_in / groups, kH, kW]`. Throws ShapeError / ValueError where torch
 * raises. `'same'` pads `dilation * (k - 1)` in total, the odd one at the
 * bottom/right, and is an error with stride > 1.
 */
export function resolveConv2d(
  xShape: readonly number[],
  wShape: readonly number[],
  params: Conv2dParams & { biasShape?: readonly number[] | null } = {},
): Conv2dPlan {
  const op = 'conv2d';
  expectRank(op, 'input', xShape, [3, 4], '3D (unbatched) or 4D (batched) input');
  expectRank(op, 'weight', wShape, [4], '4D weight [C_out, C_in / groups, kH, kW]');
  const batched = xShape.length === 4;
  const [n, cIn, h, w] = batched ? xShape : [1, ...xShape];
  const [strideH, strideW] = convPair(op, 'stride', params.stride ?? 1, 1);
  const [dilationH, dilationW] = convPair(op, 'dilation', params.dilation ?? 1, 1);
  const groups = expectInt(op, 'groups', params.groups ?? 1, { min: 1 });
  const [cOut, cInG, kh, kw] = wShape;
  const padding = params.padding ?? 0;
  let pads: [number, number, number, number];
  if (typeof padding === 'string') {
    if (padding === 'valid') pads = [0, 0, 0, 0];
    else if (padding === 'same') {
      if (strideH !== 1 || strideW !== 1) throw new ValueError(`${op}(): padding='same' is not supported for strided convolutions`);
      const th = dilationH * Math.max(kh - 1, 0);
      const tw = dilationW * Math.max(kw - 1, 0);
      pads = [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
    } else throw new ValueError(`${op}(): Invalid padding string: '${padding}' (expected 'same' or 'valid')`);
  } else {
    const [ph, pw] = convPair(op, 'padding', padding, 0);
    pads = [ph, ph, pw, pw];
  }
  checkWeight(op, wShape, groups);
  if (cIn !== cInG * groups) {
    throw new ShapeError(`${op}(): Given groups=${groups}, weight of size ${fmtShape(wShape)}, expected input${fmtShape(xShape)} to have ${cInG * groups} channels, but got ${cIn} channels instead`);
  }
  checkBias(op, params.biasShape, cOut, wShape);
  const [padTop, padBottom, padLeft, padRight] = pads;
  const extH = dilationH * (kh - 1) + 1;
  const extW = dilationW * (kw - 1) + 1;
  if (h + padTop + padBottom < extH || w + padLeft + padRight < extW) {
    throw new ShapeError(
      `${op}(): Calculated padded input size per channel: (${h + padTop + padBottom} x ${w + padLeft + padRight}). Kernel size: (${extH} x ${extW}). Kernel size can't be greater than actual input size`,
    );
  }
  if (n > 0 && cIn > 0 && (h === 0 || w === 0)) {
    throw new ShapeError(`${op}(): Only zero batch or zero channel inputs are supported, but got input shape: ${fmtShape(xShape)}`);
  }
  const outH = Math.floor((h + padTop + padBottom - extH) / strideH) + 1;
  const outW = Math.floor((w + padLeft + padRight - extW) / strideW) + 1;
  const outC = cInG === 0 ? 0 : cOut;
  return {
    batched, n, cIn, h, w, cOut, kh, kw, groups, cInG, cOutG: cOut / groups,
    strideH, strideW, dilationH, dilationW, padTop, padBottom, padLeft, padRight,
    outH, outW, outC,
    outShape: batched ? [n, outC, outH, outW] : [outC, outH, outW],
  };
}

/**
 * Validates `conv_transpose2d` arguments as torch 1.13 does (including
 * `nn.ConvTranspose2d`'s `output_size` handling) and computes the output
 * geometry: `(H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1`.
 */
export function resolveConvTranspose2d(
  xShape: readonly number[],
  wShape: readonly number[],
  params: ConvTranspose2dParams & { biasShape?: readonly number[] | null } = {},
): ConvTranspose2dPlan {
  const op = 'convTranspose2d';
  expectRank(op, 'input', xShape, [3, 4], '3D (unbatched) or 4D (batched) input');
  expectRank(op, 'weight', wShape, [4], '4D weight [C_in, C_out / groups, kH, kW]');
  const batched = xShape.length === 4;
  const [n, cIn, h, w] = batched ? xShape : [1, ...xShape];
  if (typeof params.padding === 'string') {
    throw new ValueError(`${op}(): argument 'padding' must be an integer or a pair of integers, got '${params.padding}'`);
  }
  const [strideH, strideW] = convPair(op, 'stride', params.stride ?? 1, 1);
  const [padH, padW] = convPair(op, 'padding', params.padding ?? 0, 0);
  const [dilationH, dilationW] = convPair(op, 'dilation', params.dilation ?? 1, 1);
  let [outputPaddingH, outputPaddingW] = convPair(op, 'outputPadding', params.outputPadding ?? 0, 0);
  const groups = expectInt(op, 'groups', params.groups ?? 1, { min: 1 });
  const [wIn, cOutG, kh, kw] = wShape;
  checkWeight(op, wShape, groups);
  if (cIn !== wIn) {
    throw new ShapeError(`${op}(): Given transposed=1, weight of size ${fmtShape(wShape)}, expected input${fmtShape(xShape)} to have ${wIn} channels, but got ${cIn} channels instead`);
  }
  if (cOutG < 1) throw new ShapeError(`${op}(): non-empty weight expected, but got weight of size ${fmtShape(wShape)}`);
  const cOut = cOutG * groups;
  checkBias(op, params.biasShape, cOut, wShape);
  const minH = (h - 1) * strideH - 2 * padH + dilationH * (kh - 1) + 1;
  const minW = (w - 1) * strideW - 2 * padW + dilationW * (kw - 1) + 1;
  if (params.outputSize !== undefined) {
    const size = params.outputSize;
    const lead = batched ? 2 : 1;
    if (!Array.isArray(size) || (size.length !== 2 && size.length !== 2 + lead)) {
      throw new ValueError(`${op}(): for ${xShape.length}D input, outputSize must have 2 or ${2 + lead} elements (got ${describe(size)})`);
    }
    const [oh, ow] = size.slice(size.length - 2);
    expectInt(op, 'outputSize', oh);
    expectInt(op, 'outputSize', ow);
    if (oh < minH || oh > minH + strideH - 1 || ow < minW || ow > minW + strideW - 1) {
      throw new ValueError(
        `${op}(): requested an output size of ${fmtShape([oh, ow])}, but valid sizes range from ${fmtShape([minH, minW])} to ${fmtShape([minH + strideH - 1, minW + strideW - 1])} (for an input of ${fmtShape([h, w])})`,
      );
    }
    outputPaddingH = oh - minH;
    outputPaddingW = ow - minW;
  } else if ((outputPaddingH >= strideH && outputPaddingH >= dilationH) || (outputPaddingW >= strideW && outputPaddingW >= dilationW)) {
    throw new ValueError(
      `${op}(): output padding must be smaller than either stride or dilation, but got outputPadding ${fmtShape([outputPaddingH, outputPaddingW])}, stride ${fmtShape([strideH, strideW])}, dilation ${fmtShape([dilationH, dilationW])}`,
    );
  }
  if (n > 0 && (h === 0 || w === 0)) {
    throw new ShapeError(`${op}(): Only zero batch or zero channel inputs are supported, but got input shape: ${fmtShape(xShape)}`);
  }
  const outH = minH + outputPaddingH;
  const outW = minW + outputPaddingW;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(`${op}(): Given input size per channel: (${h} x ${w}). Calculated output size per channel: (${outH} x ${outW}). Output size is too small`);
  }
  return {
    batched, n, cIn, h, w, cOut, kh, kw, groups, cInG: cIn / groups, cOutG,
    strideH, strideW, padH, padW, dilationH, dilationW, outputPaddingH, outputPaddingW,
    outH, outW,
    outShape: batched ? [n, cOut, outH, outW] : [cOut, outH, outW],
  };
}

/** Input, weight and bias must share one float dtype (torch: "expected scalar type Double but found Float"). */
export function checkConvTensors(op: string, x: unknown, weight: unknown, bias: unknown): void {
  expectTensor(op, 'input', x);
  expectTensor(op, 'weight', weight);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') {
    throw new DTypeError(`${op}(): argument 'input' must be float32 or float64, got ${x.dtype}`);
  }
  if (weight.dtype !== x.dtype) throw new DTypeError(`${op}(): expected weight of dtype ${x.dtype} (the input's), got ${weight.dtype}`);
  if (bias !== null && bias !== undefined) {
    expectTensor(op, 'bias', bias);
    if (bias.dtype !== x.dtype) throw new DTypeError(`${op}(): expected bias of dtype ${x.dtype} (the input's), got ${bias.dtype}`);
  }
}

/** Reduction depth per GEMM block: a packed 8 x KC A panel and a KC-row B panel stay in L1. */
const KC = 256;
/** Widest B / C tile (output positions); together with KC it bounds the per-tile temporaries. */
const NC_MAX = 384;
/** float64 elements allowed for the B and C tiles together (2^19 doubles = 4 MB). */
const TILE_BUDGET = 1 << 19;

function tileWidth(kc: number, mPad: number): number {
  const fit = Math.floor(TILE_BUDGET / (kc + mPad) / NR) * NR;
  return Math.max(NR, Math.min(NC_MAX, fit));
}

/**
 * 2-D cross-correlation over `[N, C_in, H, W]` (or unbatched `[C_in, H, W]`)
 * with weight `[C_out, C_in / groups, kH, kW]`, as `torch.nn.functional.conv2d`.
 *
 * Output `[N, C_out, H_out, W_out]` with `H_out = floor((H + padTop + padBottom
 * - dilation*(kH-1) - 1) / stride) + 1`. float32 in, float32 out (float64
 * likewise); accumulation is in float64, so results are within
 * `~1e-6 * sum|x||w|` of torch's float32 (whose summation order differs).
 *
 * Kernels: depthwise-style convs (`C_in / groups == 1`) run a direct loop; 3x3
 * and 2x2 stride-1 convs with >= 8 channels per group run Winograd F(4x4, 3x3) /
 * F(3x3, 2x2); all others a packed im2col tile times the weight through an 8 x 6
 * register-blocked GEMM (1 x 1 stride-1 unpadded convs copy input rows instead of
 * gathering). Temporaries stay within 4 MB per tile plus a float64 copy of the
 * (transformed) weight, see docs/ops-conv.md.
 */
export function conv2d(x: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor {
  const bias = options.bias ?? null;
  checkConvTensors('conv2d', x, weight, bias);
  const plan = resolveConv2d(x.shape, weight.shape, { ...options, biasShape: bias?.shape ?? null });
  const out = allocate(x.dtype, shapeSize(plan.outShape));
  if (out.length > 0) {
    const xd = x.contiguous().data;
    const wd = weight.contiguous().data;
    const bd = bias ? bias.contiguous().data : null;
    conv2dKernel(plan, xd, wd, bd, out);
  }
  return new Tensor(out, plan.outShape, x.dtype);
}

function conv2dKernel(p: Conv2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  if (p.cInG === 1) return conv2dDirect(p, x, w, bias, y);
  const scheme = winogradScheme(p);
  // Winograd mixes a whole tile, so a NaN or infinity would leak into neighbouring outputs.
  if (scheme && allFinite(x) && allFinite(w)) conv2dWinograd(p, scheme, x, w, bias, y);
  else conv2dGemm(p, x, w, bias, y);
}

function allFinite(a: TypedArray): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false;
  return true;
}

/** One input channel per group (depthwise, or any conv over a single-channel input): axpy rows, no gather. */
function conv2dDirect(p: Conv2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { h, w: width, kh, kw, outH, outW, strideH, strideW, dilationH, dilationW, padTop, padLeft, cOutG } = p;
  const plane = h * width;
  const outPlane = outH * outW;
  const row = new Float64Array(outW);
  // Valid output-column range per kernel column: iw = ow*strideW - padLeft + kj*dilationW in [0, W).
  const lo = new Int32Array(kw);
  const hi = new Int32Array(kw);
  for (let kj = 0; kj < kw; kj++) {
    const off = kj * dilationW - padLeft;
    lo[kj] = Math.min(outW, Math.max(0, Math.ceil(-off / strideW)));
    hi[kj] = Math.max(lo[kj], Math.min(outW, Math.floor((width - 1 - off) / strideW) + 1));
  }
  // Columns where every tap is in range: 3x3 rows with all three input rows valid use a 9-tap loop there.
  let inLo = 0;
  let inHi = outW;
  for (let kj = 0; kj < kw; kj++) {
    inLo = Math.max(inLo, lo[kj]);
    inHi = Math.min(inHi, hi[kj]);
  }
  const taps3 = kh === 3 && kw === 3 && inLo < inHi;
  for (let b = 0; b < p.n; b++) {
    for (let o = 0; o < p.cOut; o++) {
      const xBase = (b * p.cIn + Math.floor(o / cOutG)) * plane;
      const wBase = o * kh * kw;
      const yBase = (b * p.cOut + o) * outPlane;
      const bv = bias ? bias[o] : 0;
      for (let oh = 0; oh < outH; oh++) {
        const ih0 = oh * strideH - padTop;
        if (taps3 && ih0 >= 0 && ih0 + 2 * dilationH < h) {
          direct3x3Row(p, x, xBase + ih0 * width, w, wBase, bv, y, yBase + oh * outW, inLo, inHi);
          continue;
        }
        row.fill(bv);
        for (let ki = 0; ki < kh; ki++) {
          const ih = oh * strideH - padTop + ki * dilationH;
          if (ih < 0 || ih >= h) continue;
          const xRow = xBase + ih * width - padLeft;
          for (let kj = 0; kj < kw; kj++) {
            const wv = w[wBase + ki * kw + kj];
            const end = hi[kj];
            for (let ow = lo[kj], s = xRow + ow * strideW + kj * dilationW; ow < end; ow++, s += strideW) row[ow] += wv * x[s];
          }
        }
        const yRow = yBase + oh * outW;
        for (let ow = 0; ow < outW; ow++) y[yRow + ow] = row[ow];
      }
    }
  }
}

/**
 * One output row of a single-channel 3x3 conv whose three input rows (from `x0`) are
 * in range: a 9-tap sum with the weights in locals over the columns [inLo, inHi) where
 * every tap is in range, per-tap bounds tests only for the few border columns.
 */
function direct3x3Row(p: Conv2dPlan, x: TypedArray, x0: number, w: TypedArray, wb: number, bv: number, y: TypedArray, y0: number, inLo: number, inHi: number): void {
  const { w: width, outW, strideW: sw, dilationH: dh, dilationW: dw, padLeft } = p;
  const w00 = w[wb], w01 = w[wb + 1], w02 = w[wb + 2];
  const w10 = w[wb + 3], w11 = w[wb + 4], w12 = w[wb + 5];
  const w20 = w[wb + 6], w21 = w[wb + 7], w22 = w[wb + 8];
  const x1 = x0 + dh * width;
  const x2 = x1 + dh * width;
  const dw2 = 2 * dw;
  for (let ow = inLo, s = ow * sw - padLeft; ow < inHi; ow++, s += sw) {
    y[y0 + ow] =
      bv +
      (w00 * x[x0 + s] + w01 * x[x0 + s + dw] + w02 * x[x0 + s + dw2]) +
      (w10 * x[x1 + s] + w11 * x[x1 + s + dw] + w12 * x[x1 + s + dw2]) +
      (w20 * x[x2 + s] + w21 * x[x2 + s + dw] + w22 * x[x2 + s + dw2]);
  }
  for (let ow = 0; ow < outW; ow++) {
    if (ow === inLo) ow = inHi;
    if (ow >= outW) break;
    let acc = bv;
    for (let kj = 0; kj < 3; kj++) {
      const iw = ow * sw - padLeft + kj * dw;
      if (iw >= 0 && iw < width) acc += w[wb + kj] * x[x0 + iw] + w[wb + 3 + kj] * x[x1 + iw] + w[wb + 6 + kj] * x[x2 + iw];
    }
    y[y0 + ow] = acc;
  }
}

function conv2dGemm(p: Conv2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { cInG, cOutG: m, kh, kw, groups, outH, outW } = p;
  const k = cInG * kh * kw;
  const positions = outH * outW;
  const mPanels = Math.ceil(m / MR);
  const kc0 = Math.min(KC, k);
  const nc = tileWidth(kc0, mPanels * MR);
  const bBuf = new Float64Array(kc0 * nc);
  const cBuf = new Float64Array(mPanels * MR * nc);
  const packed = Array.from({ length: groups }, (_, g) => packA(w, g * m * k, k, 1, m, k));
  const pointwise = kh === 1 && kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padTop === 0 && p.padLeft === 0 && outH === p.h && outW === p.w;
  const plane = p.h * p.w;
  for (let b = 0; b < p.n; b++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (b * p.cIn + g * cInG) * plane;
      for (let p0 = 0; p0 < positions; p0 += nc) {
        const p1 = Math.min(positions, p0 + nc);
        const ncPad = roundUp(p1 - p0, NR);
        cBuf.fill(0);
        for (let k0 = 0; k0 < k; k0 += KC) {
          const kc = Math.min(KC, k - k0);
          if (pointwise) {
            for (let kk = 0; kk < kc; kk++) {
              const src = xOff + (k0 + kk) * plane;
              bBuf.set(x.subarray(src + p0, src + p1), kk * nc);
            }
          } else im2colTile(p, x, xOff, k0, kc, p0, p1, bBuf, nc);
          gemmBlock(packed[g], k, k0, kc, mPanels, bBuf, nc, ncPad, cBuf, nc);
        }
        for (let o = 0; o < m; o++) {
          const c = g * m + o;
          const yRow = (b * p.cOut + c) * positions + p0;
          const bv = bias ? bias[c] : 0;
          for (let j = 0, e = p1 - p0, s = o * nc; j < e; j++) y[yRow + j] = cBuf[s + j] + bv;
        }
      }
    }
  }
}

/**
 * A Winograd minimal-filtering scheme F(m x m, r x r) (Lavin & Gray 2016): outputs
 * per tile side m, filter side r, tile side alpha = m + r - 1, the filter matrix G
 * (alpha x r, row-major, applied once per filter) and hand-expanded data transforms
 * `input` (V = B^T d B) and `output` (Y = A^T M A) on row-major tiles.
 */
interface WinogradScheme {
  m: number;
  r: number;
  alpha: number;
  g: number[];
  input(d: Float64Array, tmp: Float64Array, v: Float64Array): void;
  output(mt: Float64Array, tmp: Float64Array, y: Float64Array): void;
}

/** F(4x4, 3x3) with interpolation points 0, +-1, +-2, inf. */
const F4x3: WinogradScheme = {
  m: 4,
  r: 3,
  alpha: 6,
  g: [1 / 4, 0, 0, -1 / 6, -1 / 6, -1 / 6, -1 / 6, 1 / 6, -1 / 6, 1 / 24, 1 / 12, 1 / 6, 1 / 24, -1 / 12, 1 / 6, 0, 0, 1],
  input(d, t, v) {
    // B^T rows: [4 0 -5 0 1 0] [0 -4 -4 1 1 0] [0 4 -4 -1 1 0] [0 -2 -1 2 1 0] [0 2 -1 -2 1 0] [0 4 0 -5 0 1]
    for (let j = 0; j < 6; j++) {
      const d0 = d[j], d1 = d[6 + j], d2 = d[12 + j], d3 = d[18 + j], d4 = d[24 + j], d5 = d[30 + j];
      t[j] = 4 * d0 - 5 * d2 + d4;
      t[6 + j] = -4 * (d1 + d2) + d3 + d4;
      t[12 + j] = 4 * (d1 - d2) - d3 + d4;
      t[18 + j] = 2 * (d3 - d1) - d2 + d4;
      t[24 + j] = 2 * (d1 - d3) - d2 + d4;
      t[30 + j] = 4 * d1 - 5 * d3 + d5;
    }
    for (let r = 0; r < 36; r += 6) {
      const d0 = t[r], d1 = t[r + 1], d2 = t[r + 2], d3 = t[r + 3], d4 = t[r + 4], d5 = t[r + 5];
      v[r] = 4 * d0 - 5 * d2 + d4;
      v[r + 1] = -4 * (d1 + d2) + d3 + d4;
      v[r + 2] = 4 * (d1 - d2) - d3 + d4;
      v[r + 3] = 2 * (d3 - d1) - d2 + d4;
      v[r + 4] = 2 * (d1 - d3) - d2 + d4;
      v[r + 5] = 4 * d1 - 5 * d3 + d5;
    }
  },
  output(mt, t, y) {
    // A^T rows: [1 1 1 1 1 0] [0 1 -1 2 -2 0] [0 1 1 4 4 0] [0 1 -1 8 -8 1]
    for (let j = 0; j < 6; j++) {
      const m0 = mt[j], m1 = mt[6 + j], m2 = mt[12 + j], m3 = mt[18 + j], m4 = mt[24 + j], m5 = mt[30 + j];
      t[j] = m0 + m1 + m2 + m3 + m4;
      t[6 + j] = m1 - m2 + 2 * (m3 - m4);
      t[12 + j] = m1 + m2 + 4 * (m3 + m4);
      t[18 + j] = m1 - m2 + 8 * (m3 - m4) + m5;
    }
    for (let i = 0; i < 4; i++) {
      const r = i * 6;
      const m0 = t[r], m1 = t[r + 1], m2 = t[r + 2], m3 = t[r + 3], m4 = t[r + 4], m5 = t[r + 5];
      y[i * 4] = m0 + m1 + m2 + m3 + m4;
      y[i * 4 + 1] = m1 - m2 + 2 * (m3 - m4);
      y[i * 4 + 2] = m1 + m2 + 4 * (m3 + m4);
      y[i * 4 + 3] = m1 - m2 + 8 * (m3 - m4) + m5;
    }
  },
};

/**
 * F(3x3, 2x2): the F(2x2, 3x3) triple with the roles of A and G swapped (the
 * correlation's trilinear form is symmetric in output and filter index), points 0, +-1, inf.
 */
const F3x2: WinogradScheme = {
  m: 3,
  r: 2,
  alpha: 4,
  g: [1, 0, 1, 1, 1, -1, 0, -1],
  input(d, t, v) {
    // B^T rows: [1 0 -1 0] [0 1 1 0] [0 -1 1 0] [0 1 0 -1]
    for (let j = 0; j < 4; j++) {
      const d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
      t[j] = d0 - d2;
      t[4 + j] = d1 + d2;
      t[8 + j] = d2 - d1;
      t[12 + j] = d1 - d3;
    }
    for (let r = 0; r < 16; r += 4) {
      const d0 = t[r], d1 = t[r + 1], d2 = t[r + 2], d3 = t[r + 3];
      v[r] = d0 - d2;
      v[r + 1] = d1 + d2;
      v[r + 2] = d2 - d1;
      v[r + 3] = d1 - d3;
    }
  },
  output(mt, t, y) {
    // A^T rows: [1 .5 .5 0] [0 .5 -.5 0] [0 .5 .5 1]
    for (let j = 0; j < 4; j++) {
      const m0 = mt[j], m1 = mt[4 + j], m2 = mt[8 + j], m3 = mt[12 + j];
      t[j] = m0 + 0.5 * (m1 + m2);
      t[4 + j] = 0.5 * (m1 - m2);
      t[8 + j] = 0.5 * (m1 + m2) + m3;
    }
    for (let i = 0; i < 3; i++) {
      const m0 = t[i * 4], m1 = t[i * 4 + 1], m2 = t[i * 4 + 2], m3 = t[i * 4 + 3];
      y[i * 3] = m0 + 0.5 * (m1 + m2);
      y[i * 3 + 1] = 0.5 * (m1 - m2);
      y[i * 3 + 2] = 0.5 * (m1 + m2) + m3;
    }
  },
};

function winogradScheme(p: Conv2dPlan): WinogradScheme | null {
  if (p.strideH !== 1 || p.strideW !== 1 || p.kh !== p.kw || p.cInG < 8 || p.cOutG < 8) return null;
  const scheme = p.kh === 3 ? F4x3 : p.kh === 2 ? F3x2 : null;
  return scheme && winogradTileBlock(p, scheme) >= 4 * NR ? scheme : null;
}

/** Tiles per block: the transformed input (V) and product (M) blocks together stay within TILE_BUDGET. */
function winogradTileBlock(p: Conv2dPlan, s: WinogradScheme): number {
  return Math.floor(TILE_BUDGET / (s.alpha * s.alpha * (p.cInG + roundUp(p.cOutG, MR))) / NR) * NR;
}

/**
 * Winograd convolution for r x r stride-1 kernels: U = G g G^T per filter, V = B^T d B
 * per alpha x alpha input tile and channel, M_xi = U_xi · V_xi for each of the alpha^2
 * tile entries (packed GEMMs over channels), Y = A^T M A per m x m output tile. F(4x4,
 * 3x3) needs 4x fewer multiplies than a direct 3x3 conv, F(3x3, 2x2) 2.25x. A dilated
 * conv is dilation^2 independent convs over interleaved phases (outputs oh = a + d*t
 * read rows a - pad + d*(t + ki)), so tiles step by the dilation inside their phase.
 * Every transform runs in float64, far inside the float32 error bound of a direct sum.
 */
function conv2dWinograd(p: Conv2dPlan, s: WinogradScheme, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { cInG: c, cOutG: m, groups, h, w: width, outH, outW, dilationH: dh, dilationW: dw, padTop, padLeft } = p;
  const { m: tm, alpha } = s;
  const a2 = alpha * alpha;
  const mPanels = Math.ceil(m / MR);
  const tb = winogradTileBlock(p, s);
  // Tile origins (first output row / column); a tile covers outputs origin + dilation * (0..m-1).
  const origins: number[] = [];
  for (let a = 0; a < Math.min(dh, outH); a++) {
    for (let b = 0; b < Math.min(dw, outW); b++) {
      const rows = Math.ceil((outH - a) / dh);
      const cols = Math.ceil((outW - b) / dw);
      for (let th = 0; th < rows; th += tm) for (let tw = 0; tw < cols; tw += tm) origins.push(a + th * dh, b + tw * dw);
    }
  }
  const tiles = origins.length / 2;
  // Outputs whose window lies wholly in the padding are exactly the bias (the transforms would leave ~1e-17 residue).
  const liveRow = liveOutputs(outH, h, padTop, dh, s.r);
  const liveCol = liveOutputs(outW, width, padLeft, dw, s.r);
  const packed = Array.from({ length: groups }, (_, g) => winogradFilters(s, w, g, m, c));
  const v = new Float64Array(a2 * c * tb);
  const mm = new Float64Array(a2 * mPanels * MR * tb);
  const d = new Float64Array(a2);
  const tmp = new Float64Array(a2);
  const tile = new Float64Array(a2);
  const mStride = mPanels * MR * tb;
  const plane = h * width;
  const outPlane = outH * outW;
  for (let n = 0; n < p.n; n++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (n * p.cIn + g * c) * plane;
      for (let t0 = 0; t0 < tiles; t0 += tb) {
        const nt = Math.min(tb, tiles - t0);
        const ntPad = roundUp(nt, NR);
        for (let ci = 0; ci < c; ci++) {
          const src = xOff + ci * plane;
          for (let j = 0; j < nt; j++) {
            const ih0 = origins[2 * (t0 + j)] - padTop;
            const iw0 = origins[2 * (t0 + j) + 1] - padLeft;
            if (ih0 >= 0 && ih0 + (alpha - 1) * dh < h && iw0 >= 0 && iw0 + (alpha - 1) * dw < width) {
              for (let r = 0, e = 0; r < alpha; r++) {
                for (let q = 0, i = src + (ih0 + r * dh) * width + iw0; q < alpha; q++, i += dw) d[e++] = x[i];
              }
            } else {
              for (let r = 0; r < alpha; r++) {
                const ih = ih0 + r * dh;
                const inRow = ih >= 0 && ih < h;
                for (let q = 0; q < alpha; q++) {
                  const iw = iw0 + q * dw;
                  d[r * alpha + q] = inRow && iw >= 0 && iw < width ? x[src + ih * width + iw] : 0;
                }
              }
            }
            s.input(d, tmp, tile);
            for (let xi = 0, o = ci * tb + j; xi < a2; xi++, o += c * tb) v[o] = tile[xi];
          }
        }
        mm.fill(0);
        for (let xi = 0; xi < a2; xi++) {
          for (let k0 = 0; k0 < c; k0 += KC) {
            gemmBlock(packed[g][xi], c, k0, Math.min(KC, c - k0), mPanels, v.subarray((xi * c + k0) * tb), tb, ntPad, mm.subarray(xi * mStride), tb);
          }
        }
        for (let o = 0; o < m; o++) {
          const yBase = (n * p.cOut + g * m + o) * outPlane;
          const bv = bias ? bias[g * m + o] : 0;
          for (let j = 0; j < nt; j++) {
            for (let xi = 0, q = o * tb + j; xi < a2; xi++, q += mStride) d[xi] = mm[q];
            s.output(d, tmp, tile);
            const oh0 = origins[2 * (t0 + j)];
            const ow0 = origins[2 * (t0 + j) + 1];
            const ohEnd = oh0 + (tm - 1) * dh;
            const owEnd = ow0 + (tm - 1) * dw;
            if (ohEnd < outH && owEnd < outW && liveRow[oh0] & liveRow[ohEnd] & liveCol[ow0] & liveCol[owEnd]) {
              // whole tile in range and live (within one phase the live outputs form an interval)
              for (let r = 0, e = 0; r < tm; r++) {
                for (let q = 0, i = yBase + (oh0 + r * dh) * outW + ow0; q < tm; q++, i += dw) y[i] = tile[e++] + bv;
              }
              continue;
            }
            for (let r = 0; r < tm; r++) {
              const oh = oh0 + r * dh;
              if (oh >= outH) break;
              for (let q = 0; q < tm; q++) {
                const ow = ow0 + q * dw;
                if (ow >= outW) break;
                y[yBase + oh * outW + ow] = liveRow[oh] & liveCol[ow] ? tile[r * tm + q] + bv : bv;
              }
            }
          }
        }
      }
    }
  }
}

/** 1 where output index o of an r-tap stride-1 window (o - pad + k*dilation, k < r) touches [0, size). */
function liveOutputs(outSize: number, size: number, pad: number, dilation: number, taps: number): Uint8Array {
  const live = new Uint8Array(outSize);
  for (let o = 0; o < outSize; o++) {
    for (let k = 0; k < taps; k++) {
      const i = o - pad + k * dilation;
      if (i >= 0 && i < size) live[o] = 1;
    }
  }
  return live;
}

/** U_xi = (G g G^T)[xi] for every filter of group g, each xi packed as a GEMM A operand [m x c]. */
function winogradFilters(s: WinogradScheme, w: TypedArray, g: number, m: number, c: number): Float64Array[] {
  const { r, alpha } = s;
  const a2 = alpha * alpha;
  const u = new Float64Array(a2 * m * c);
  const f = new Float64Array(r * r);
  const tmp = new Float64Array(alpha * r);
  const tile = new Float64Array(a2);
  for (let o = 0; o < m; o++) {
    for (let ci = 0; ci < c; ci++) {
      const base = ((g * m + o) * c + ci) * r * r;
      for (let q = 0; q < r * r; q++) f[q] = w[base + q];
      // tmp = G f (alpha x r), tile = tmp G^T (alpha x alpha)
      for (let i = 0; i < alpha; i++) {
        for (let j = 0; j < r; j++) {
          let acc = 0;
          for (let q = 0; q < r; q++) acc += s.g[i * r + q] * f[q * r + j];
          tmp[i * r + j] = acc;
        }
      }
      for (let i = 0; i < alpha; i++) {
        for (let j = 0; j < alpha; j++) {
          let acc = 0;
          for (let q = 0; q < r; q++) acc += tmp[i * r + q] * s.g[j * r + q];
          tile[i * alpha + j] = acc;
        }
      }
      for (let xi = 0; xi < a2; xi++) u[(xi * m + o) * c + ci] = tile[xi];
    }
  }
  return Array.from({ length: a2 }, (_, xi) => packA(u, xi * m * c, c, 1, m, c));
}

/**
 * Fills rows `0..kc` of `buf` (row stride `ldb`) with im2col rows `k0..k0+kc`
 * for output positions `p0..p1` (row-major over the output plane). Each kernel
 * tap gathers whole output-row segments, so bounds are tested per row, not per
 * element.
 */
function im2colTile(p: Conv2dPlan, x: TypedArray, xOff: number, k0: number, kc: number, p0: number, p1: number, buf: Float64Array, ldb: number): void {
  const { h, w, kh, kw, outW, strideH, strideW } = p;
  const khw = kh * kw;
  for (let kk = 0; kk < kc; kk++) {
    const kIdx = k0 + kk;
    const c = Math.floor(kIdx / khw);
    const r = kIdx - c * khw;
    const ki = Math.floor(r / kw);
    const kj = r - ki * kw;
    const src = xOff + c * h * w;
    const offH = ki * p.dilationH - p.padTop;
    const offW = kj * p.dilationW - p.padLeft;
    const lo = Math.min(outW, Math.max(0, Math.ceil(-offW / strideW)));
    const hi = Math.max(lo, Math.min(outW, Math.floor((w - 1 - offW) / strideW) + 1));
    let d = kk * ldb;
    let oh = Math.floor(p0 / outW);
    let ow = p0 - oh * outW;
    for (let pos = p0; pos < p1; oh++, ow = 0) {
      const end = Math.min(outW, ow + (p1 - pos));
      const ih = oh * strideH + offH;
      if (ih < 0 || ih >= h) {
        for (let t = ow; t < end; t++) buf[d++] = 0;
      } else {
        const a = Math.min(Math.max(ow, lo), end);
        const z = Math.max(a, Math.min(end, hi));
        let t = ow;
        for (; t < a; t++) buf[d++] = 0;
        for (let s = src + ih * w + t * strideW + offW; t < z; t++, s += strideW) buf[d++] = x[s];
        for (; t < end; t++) buf[d++] = 0;
      }
      pos += end - ow;
    }
  }
}

/**
 * Transposed 2-D convolution (the adjoint of {@link conv2d}), as
 * `torch.nn.functional.conv_transpose2d` plus `nn.ConvTranspose2d`'s
 * `output_size`. Input `[N, C_in, H, W]` (or unbatched), weight
 * `[C_in, C_out / groups, kH, kW]`, output `[N, C_out, H_out, W_out]` with
 * `H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1`.
 *
 * Undilated kernels run as stride_h * stride_w sub-pixel phase convolutions through
 * conv2d's kernels; dilated ones as one GEMM `W_g^T · X_g` per tile of input positions
 * and a col2im scatter into a float64 accumulator. float32 results are within
 * `~1e-6 * sum|x||w|` of torch.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  const bias = options.bias ?? null;
  checkConvTensors('convTranspose2d', x, weight, bias);
  const plan = resolveConvTranspose2d(x.shape, weight.shape, { ...options, biasShape: bias?.shape ?? null });
  const out = allocate(x.dtype, shapeSize(plan.outShape));
  if (out.length > 0) {
    const args = [plan, x.contiguous().data, weight.contiguous().data, bias ? bias.contiguous().data : null, out] as const;
    if (plan.dilationH === 1 && plan.dilationW === 1) convTranspose2dPolyphase(...args);
    else convTranspose2dGemm(...args);
  }
  return new Tensor(out, plan.outShape, x.dtype);
}

/** The kernel taps and input offset of one output phase `a` (outputs a, a + stride, ...) along one dim. */
function phaseTaps(a: number, stride: number, pad: number, k: number, out: number): { first: number; taps: number; pad: number; count: number } {
  const first = (a + pad) % stride;
  const taps = first < k ? Math.ceil((k - first) / stride) : 0;
  // output a + stride*t reads input t + (a + pad - first)/stride - j through tap first + stride*j
  return { first, taps, pad: taps - 1 - (a + pad - first) / stride, count: Math.ceil((out - a) / stride) };
}

/**
 * Undilated transposed conv as stride_h * stride_w ordinary convs (sub-pixel
 * decomposition): the outputs of phase (a, b) are a stride-1 correlation of the input
 * with the flipped taps a + pad = first (mod stride) of the kernel. Each phase runs
 * through conv2d's kernels (Winograd F(3x3, 2x2) for the 2x2 phases of a 4x4 stride-2
 * kernel) and is interleaved into the output; no col2im scatter.
 */
function convTranspose2dPolyphase(p: ConvTranspose2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { n, cIn, cOut, cInG, cOutG, groups, kh, kw, outH, outW, strideH, strideW } = p;
  for (let a = 0; a < Math.min(strideH, outH); a++) {
    const ph = phaseTaps(a, strideH, p.padH, kh, outH);
    for (let b = 0; b < Math.min(strideW, outW); b++) {
      const pw = phaseTaps(b, strideW, p.padW, kw, outW);
      const rows = ph.count;
      const cols = pw.count;
      const phase = allocate(dtypeOf(y), n * cOut * rows * cols);
      if (ph.taps === 0 || pw.taps === 0) {
        for (let i = 0; i < n * cOut; i++) phase.fill(bias ? bias[i % cOut] : 0, i * rows * cols, (i + 1) * rows * cols);
      } else {
        const sub = allocate(dtypeOf(w), cOut * cInG * ph.taps * pw.taps);
        for (let g = 0; g < groups; g++) {
          for (let o = 0; o < cOutG; o++) {
            for (let ci = 0; ci < cInG; ci++) {
              const dst = ((g * cOutG + o) * cInG + ci) * ph.taps * pw.taps;
              const src = ((g * cInG + ci) * cOutG + o) * kh * kw;
              for (let jh = 0; jh < ph.taps; jh++) {
                const ki = ph.first + strideH * (ph.taps - 1 - jh);
                for (let jw = 0; jw < pw.taps; jw++) sub[dst + jh * pw.taps + jw] = w[src + ki * kw + pw.first + strideW * (pw.taps - 1 - jw)];
              }
            }
          }
        }
        const plan: Conv2dPlan = {
          batched: true, n, cIn, h: p.h, w: p.w, cOut, kh: ph.taps, kw: pw.taps, groups, cInG, cOutG,
          strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
          padTop: ph.pad, padBottom: rows - 1 - p.h - ph.pad + ph.taps, padLeft: pw.pad, padRight: cols - 1 - p.w - pw.pad + pw.taps,
          outH: rows, outW: cols, outC: cOut, outShape: [n, cOut, rows, cols],
        };
        conv2dKernel(plan, x, sub, bias, phase);
      }
      for (let i = 0; i < n * cOut; i++) {
        for (let t = 0; t < rows; t++) {
          const dst = (i * outH + a + strideH * t) * outW + b;
          const src = (i * rows + t) * cols;
          for (let u = 0; u < cols; u++) y[dst + strideW * u] = phase[src + u];
        }
      }
    }
  }
}

function convTranspose2dGemm(p: ConvTranspose2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { cInG: k, cOutG, kh, kw, groups, h, w: width, outH, outW, strideH, strideW } = p;
  const m = cOutG * kh * kw;
  const khw = kh * kw;
  const positions = h * width;
  const outPlane = outH * outW;
  const mPanels = Math.ceil(m / MR);
  const kc0 = Math.min(KC, k);
  const nc = tileWidth(kc0, mPanels * MR);
  const bBuf = new Float64Array(kc0 * nc);
  const cBuf = new Float64Array(mPanels * MR * nc);
  const acc = new Float64Array(cOutG * outPlane);
  // A = W_g^T: row (oc, ki, kj), column ci of group g reads weight[g*cInG + ci, oc, ki, kj].
  const packed = Array.from({ length: groups }, (_, g) => packA(w, g * k * m, 1, m, m, k));
  // Valid input-column range per kernel column: ow = iw*strideW - padW + kj*dilationW in [0, W_out).
  const lo = new Int32Array(kw);
  const hi = new Int32Array(kw);
  for (let kj = 0; kj < kw; kj++) {
    const off = kj * p.dilationW - p.padW;
    lo[kj] = Math.min(width, Math.max(0, Math.ceil(-off / strideW)));
    hi[kj] = Math.max(lo[kj], Math.min(width, Math.floor((outW - 1 - off) / strideW) + 1));
  }
  for (let b = 0; b < p.n; b++) {
    for (let g = 0; g < groups; g++) {
      for (let oc = 0; oc < cOutG; oc++) acc.fill(bias ? bias[g * cOutG + oc] : 0, oc * outPlane, (oc + 1) * outPlane);
      const xOff = (b * p.cIn + g * k) * positions;
      for (let p0 = 0; p0 < positions; p0 += nc) {
        const p1 = Math.min(positions, p0 + nc);
        cBuf.fill(0);
        for (let k0 = 0; k0 < k; k0 += KC) {
          const kc = Math.min(KC, k - k0);
          for (let kk = 0; kk < kc; kk++) {
            const src = xOff + (k0 + kk) * positions;
            bBuf.set(x.subarray(src + p0, src + p1), kk * nc);
          }
          gemmBlock(packed[g], k, k0, kc, mPanels, bBuf, nc, roundUp(p1 - p0, NR), cBuf, nc);
        }
        for (let r = 0; r < m; r++) {
          const oc = Math.floor(r / khw);
          const ki = Math.floor((r - oc * khw) / kw);
          const kj = r - oc * khw - ki * kw;
          const offH = ki * p.dilationH - p.padH;
          const offW = kj * p.dilationW - p.padW;
          const accBase = oc * outPlane + offW;
          let ih = Math.floor(p0 / width);
          let iw = p0 - ih * width;
          for (let pos = p0; pos < p1; ih++, iw = 0) {
            const end = Math.min(width, iw + (p1 - pos));
            const oh = ih * strideH + offH;
            if (oh >= 0 && oh < outH) {
              const a = Math.max(iw, lo[kj]);
              const z = Math.min(end, hi[kj]);
              const dst = accBase + oh * outW;
              for (let t = a, s = r * nc + (pos - p0) + (a - iw); t < z; t++, s++) acc[dst + t * strideW] += cBuf[s];
            }
            pos += end - iw;
          }
        }
      }
      y.set(acc, (b * p.cOut + g * cOutG) * outPlane);
    }
  }
}

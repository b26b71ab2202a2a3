import { allocate, type TypedArray } from '../tensor/dtype';
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

/** Normalised convolution geometry (all counts for the 4-D, batched view). */
export interface Conv2dPlan {
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
  /** Input channels per group (`weight.shape[1]`). */
  cInG: number;
  /** Output channels per group. */
  cOutG: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  /** Padding per side; only `'same'` with an even dilated kernel makes bottom/right differ from top/left. */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  outH: number;
  outW: number;
  /** Channels of the result: `cOut`, or 0 when the weight is empty (`cInG == 0`), as torch 1.13 returns. */
  outC: number;
  /** The result's shape in the caller's rank (3-D for a 3-D input). */
  outShape: number[];
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

export interface ConvTranspose2dPlan {
  batched: boolean;
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  groups: number;
  cInG: number;
  cOutG: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  /** Effective output padding (derived from `outputSize` when given). */
  outputPaddingH: number;
  outputPaddingW: number;
  outH: number;
  outW: number;
  outShape: number[];
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
  if (kh < 1 || kw < 1) {
    throw new ShapeError(`${op}(): kernel size should be greater than zero, but got weight of size ${fmtShape(wShape)}`);
  }
  if (cOut < groups || cOut % groups !== 0) {
    throw new ShapeError(`${op}(): Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmtShape(wShape)}`);
  }
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
  if (kh < 1 || kw < 1) {
    throw new ShapeError(`${op}(): kernel size should be greater than zero, but got weight of size ${fmtShape(wShape)}`);
  }
  if (wIn < groups || wIn % groups !== 0) {
    throw new ShapeError(`${op}(): Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmtShape(wShape)}`);
  }
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
 * Kernels: depthwise-style convs (`C_in / groups == 1`) run a direct loop;
 * all others a packed im2col tile (at most 4 MB of temporaries per tile, see
 * docs/ops-conv.md) times the weight through an 8 x 6 register-blocked GEMM;
 * 1 x 1 stride-1 unpadded convs copy input rows instead of gathering.
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
    if (plan.cInG === 1) conv2dDirect(plan, xd, wd, bd, out);
    else if (useWinograd(plan)) conv2dWinograd(plan, xd, wd, bd, out);
    else conv2dGemm(plan, xd, wd, bd, out);
  }
  return new Tensor(out, plan.outShape, x.dtype);
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
  for (let b = 0; b < p.n; b++) {
    for (let o = 0; o < p.cOut; o++) {
      const xBase = (b * p.cIn + Math.floor(o / cOutG)) * plane;
      const wBase = o * kh * kw;
      const yBase = (b * p.cOut + o) * outPlane;
      const bv = bias ? bias[o] : 0;
      for (let oh = 0; oh < outH; oh++) {
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
  const pointwise = kh === 1 && kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padTop === 0 && p.padLeft === 0;
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

/** Winograd tiles (of any dilation phase) per block: V and M blocks together stay within TILE_BUDGET. */
function winogradTileBlock(p: Conv2dPlan): number {
  return Math.floor(TILE_BUDGET / (36 * (p.cInG + roundUp(p.cOutG, MR))) / NR) * NR;
}

/**
 * 3 x 3 stride-1 convs with enough channels use Winograd F(4x4, 3x3): 36 GEMMs over
 * 6 x 6 input tiles need 4x fewer multiplies than im2col. All transforms run in
 * float64, so the result stays far inside the float32 error bound of a direct sum.
 */
function useWinograd(p: Conv2dPlan): boolean {
  return p.kh === 3 && p.kw === 3 && p.strideH === 1 && p.strideW === 1 && p.cInG >= 8 && p.cOutG >= 8 && winogradTileBlock(p) >= 4 * NR;
}

/**
 * Winograd F(4x4, 3x3) (Lavin & Gray 2016): U = G g G^T per filter, V = B^T d B per
 * 6 x 6 input tile and channel, M_xi = U_xi · V_xi for each of the 36 tile entries
 * (packed GEMMs over channels), Y = A^T M A per 4 x 4 output tile. A dilated conv is
 * dilation^2 independent 3 x 3 convs over interleaved phases (outputs oh = a + d*t read
 * rows a - pad + d*(t + ki)), so tiles step by the dilation inside their phase.
 */
function conv2dWinograd(p: Conv2dPlan, x: TypedArray, w: TypedArray, bias: TypedArray | null, y: TypedArray): void {
  const { cInG: c, cOutG: m, groups, h, w: width, outH, outW, dilationH: dh, dilationW: dw, padTop, padLeft } = p;
  const mPanels = Math.ceil(m / MR);
  const tb = winogradTileBlock(p);
  // Tile origins (first output row / column); the tile covers outputs origin + dilation * (0..3).
  const origins: number[] = [];
  for (let a = 0; a < Math.min(dh, outH); a++) {
    for (let b = 0; b < Math.min(dw, outW); b++) {
      const rows = Math.ceil((outH - a) / dh);
      const cols = Math.ceil((outW - b) / dw);
      for (let th = 0; th < rows; th += 4) for (let tw = 0; tw < cols; tw += 4) origins.push(a + th * dh, b + tw * dw);
    }
  }
  const tiles = origins.length / 2;
  // Outputs whose window lies wholly in the padding are exactly the bias (the transforms would leave ~1e-17 residue).
  const liveRow = liveOutputs(outH, h, padTop, dh);
  const liveCol = liveOutputs(outW, width, padLeft, dw);
  const packed = Array.from({ length: groups }, (_, g) => winogradFilters(w, g, m, c));
  const v = new Float64Array(36 * c * tb);
  const mm = new Float64Array(36 * mPanels * MR * tb);
  const d = new Float64Array(36);
  const t = new Float64Array(40);
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
            for (let r = 0; r < 6; r++) {
              const ih = ih0 + r * dh;
              const inRow = ih >= 0 && ih < h;
              for (let s = 0; s < 6; s++) {
                const iw = iw0 + s * dw;
                d[r * 6 + s] = inRow && iw >= 0 && iw < width ? x[src + ih * width + iw] : 0;
              }
            }
            inputTransform(d, t, v, ci * tb + j, c * tb);
          }
        }
        mm.fill(0);
        for (let xi = 0; xi < 36; xi++) {
          for (let k0 = 0; k0 < c; k0 += KC) {
            gemmBlock(packed[g][xi], c, k0, Math.min(KC, c - k0), mPanels, v.subarray(xi * c * tb + k0 * tb), tb, ntPad, mm.subarray(xi * mPanels * MR * tb), tb);
          }
        }
        for (let o = 0; o < m; o++) {
          const yBase = (n * p.cOut + g * m + o) * outPlane;
          const bv = bias ? bias[g * m + o] : 0;
          for (let j = 0; j < nt; j++) {
            outputTransform(mm, o * tb + j, mPanels * MR * tb, t);
            const oh0 = origins[2 * (t0 + j)];
            const ow0 = origins[2 * (t0 + j) + 1];
            for (let r = 0; r < 4; r++) {
              const oh = oh0 + r * dh;
              if (oh >= outH) break;
              for (let s = 0; s < 4; s++) {
                const ow = ow0 + s * dw;
                if (ow >= outW) break;
                y[yBase + oh * outW + ow] = liveRow[oh] & liveCol[ow] ? t[r * 4 + s] + bv : bv;
              }
            }
          }
        }
      }
    }
  }
}

/** 1 where output index o of a 3-tap stride-1 window (o - pad + k*dilation, k < 3) touches [0, size). */
function liveOutputs(outSize: number, size: number, pad: number, dilation: number): Uint8Array {
  const live = new Uint8Array(outSize);
  for (let o = 0; o < outSize; o++) {
    for (let k = 0; k < 3; k++) {
      const i = o - pad + k * dilation;
      if (i >= 0 && i < size) live[o] = 1;
    }
  }
  return live;
}

/** U_xi = (G g G^T)[xi] for every filter of group g, each xi packed as a GEMM A operand [m x c]. */
function winogradFilters(w: TypedArray, g: number, m: number, c: number): Float64Array[] {
  const u = new Float64Array(36 * m * c);
  const r = new Float64Array(18);
  for (let o = 0; o < m; o++) {
    for (let ci = 0; ci < c; ci++) {
      const base = ((g * m + o) * c + ci) * 9;
      // r = G g (6 x 3), then U = r G^T (6 x 6)
      for (let j = 0; j < 3; j++) {
        const g0 = w[base + j];
        const g1 = w[base + 3 + j];
        const g2 = w[base + 6 + j];
        r[j] = g0 / 4;
        r[3 + j] = -(g0 + g1 + g2) / 6;
        r[6 + j] = -(g0 - g1 + g2) / 6;
        r[9 + j] = g0 / 24 + g1 / 12 + g2 / 6;
        r[12 + j] = g0 / 24 - g1 / 12 + g2 / 6;
        r[15 + j] = g2;
      }
      for (let i = 0; i < 6; i++) {
        const g0 = r[i * 3];
        const g1 = r[i * 3 + 1];
        const g2 = r[i * 3 + 2];
        const row = [g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2];
        for (let s = 0; s < 6; s++) u[((i * 6 + s) * m + o) * c + ci] = row[s];
      }
    }
  }
  return Array.from({ length: 36 }, (_, xi) => packA(u, xi * m * c, c, 1, m, c));
}

/** V = B^T d B for a 6 x 6 tile `d`; entry xi goes to `v[xi * stride + off]`. `t` is scratch. */
function inputTransform(d: Float64Array, t: Float64Array, v: Float64Array, off: number, stride: number): void {
  for (let j = 0; j < 6; j++) {
    const d0 = d[j], d1 = d[6 + j], d2 = d[12 + j], d3 = d[18 + j], d4 = d[24 + j], d5 = d[30 + j];
    t[j] = 4 * d0 - 5 * d2 + d4;
    t[6 + j] = -4 * (d1 + d2) + d3 + d4;
    t[12 + j] = 4 * (d1 - d2) - d3 + d4;
    t[18 + j] = 2 * (d3 - d1) - d2 + d4;
    t[24 + j] = 2 * (d1 - d3) - d2 + d4;
    t[30 + j] = 4 * d1 - 5 * d3 + d5;
  }
  for (let i = 0; i < 6; i++) {
    const r = i * 6;
    const d0 = t[r], d1 = t[r + 1], d2 = t[r + 2], d3 = t[r + 3], d4 = t[r + 4], d5 = t[r + 5];
    let o = off + r * stride;
    v[o] = 4 * d0 - 5 * d2 + d4;
    v[(o += stride)] = -4 * (d1 + d2) + d3 + d4;
    v[(o += stride)] = 4 * (d1 - d2) - d3 + d4;
    v[(o += stride)] = 2 * (d3 - d1) - d2 + d4;
    v[(o += stride)] = 2 * (d1 - d3) - d2 + d4;
    v[o + stride] = 4 * d1 - 5 * d3 + d5;
  }
}

/** Y = A^T M A (4 x 4 into `y`) for the tile whose entry xi sits at `mm[xi * stride + off]`. */
function outputTransform(mm: Float64Array, off: number, stride: number, y: Float64Array): void {
  // s = A^T M (4 x 6), kept in y[16..39]
  for (let j = 0; j < 6; j++) {
    const m0 = mm[off + j * stride], m1 = mm[off + (6 + j) * stride], m2 = mm[off + (12 + j) * stride];
    const m3 = mm[off + (18 + j) * stride], m4 = mm[off + (24 + j) * stride], m5 = mm[off + (30 + j) * stride];
    y[16 + j] = m0 + m1 + m2 + m3 + m4;
    y[22 + j] = m1 - m2 + 2 * (m3 - m4);
    y[28 + j] = m1 + m2 + 4 * (m3 + m4);
    y[34 + j] = m1 - m2 + 8 * (m3 - m4) + m5;
  }
  for (let i = 0; i < 4; i++) {
    const r = 16 + i * 6;
    const m0 = y[r], m1 = y[r + 1], m2 = y[r + 2], m3 = y[r + 3], m4 = y[r + 4], m5 = y[r + 5];
    y[i * 4] = m0 + m1 + m2 + m3 + m4;
    y[i * 4 + 1] = m1 - m2 + 2 * (m3 - m4);
    y[i * 4 + 2] = m1 + m2 + 4 * (m3 + m4);
    y[i * 4 + 3] = m1 - m2 + 8 * (m3 - m4) + m5;
  }
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
 * Computed as one GEMM `W_g^T · X_g` per group (columns are input positions,
 * tiled like conv2d) followed by a col2im scatter into a float64 accumulator of
 * one output sample-group; float32 results are within `~1e-6 * sum|x||w|` of torch.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  const bias = options.bias ?? null;
  checkConvTensors('convTranspose2d', x, weight, bias);
  const plan = resolveConvTranspose2d(x.shape, weight.shape, { ...options, biasShape: bias?.shape ?? null });
  const out = allocate(x.dtype, shapeSize(plan.outShape));
  if (out.length > 0) convTranspose2dGemm(plan, x.contiguous().data, weight.contiguous().data, bias ? bias.contiguous().data : null, out);
  return new Tensor(out, plan.outShape, x.dtype);
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

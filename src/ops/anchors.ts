/**
 * Anchor generation and box coding of torchvision 0.14's detection models:
 * `torchvision.models.detection.anchor_utils.AnchorGenerator` and
 * `torchvision.models.detection._utils.BoxCoder`.
 */
import { describe, expectDType, expectInt, expectNumber, expectTensor } from '../tensor/check';
import { allocate, type DType } from '../tensor/dtype';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';
import { arithmeticRounding, checkBoxes } from './boxes';

/** torch.round: halves go to the even neighbour (nearbyint). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function numberList(op: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0) throw new ValueError(`${op}(): argument '${name}' must be a non-empty array of numbers, got ${describe(v)}`);
  return v.map((x, i) => expectNumber(op, `${name}[${i}]`, x));
}

export interface AnchorGeneratorOptions {
  /** Anchor sizes per feature map level, e.g. `[[32], [64], [128]]`; a flat list gives one size per level. Default `[[128, 256, 512]]`. */
  sizes?: readonly (readonly number[])[] | readonly number[];
  /** Aspect ratios (height / width) per level; a flat list is used for every level. Default `[[0.5, 1, 2]]`. */
  aspectRatios?: readonly (readonly number[])[] | readonly number[];
}

export interface GenerateAnchorsOptions {
  /** `[strideH, strideW]` per level; default `[imageH // gridH, imageW // gridW]` as torchvision. */
  strides?: readonly (readonly [number, number])[];
  /** float32 (default, torchvision's usual feature-map dtype) or float64. */
  dtype?: DType;
}

/**
 * Anchors for a feature pyramid, `torchvision.models.detection.AnchorGenerator`. Each level
 * has `sizes[l].length * aspectRatios[l].length` zero-centred cell anchors
 * `round([-w, -h, w, h] / 2)` with `h = size * sqrt(ratio)`, `w = size / sqrt(ratio)`
 * (computed in float32 and rounded half to even like `torch.round`), ratio-major. Anchors are
 * placed at every cell `(y, x)` of a level at `(x * strideW, y * strideH)`; output rows go
 * level by level, then row-major over the grid, then over the cell anchors.
 */
export class AnchorGenerator {
  readonly sizes: readonly (readonly number[])[];
  readonly aspectRatios: readonly (readonly number[])[];
  /** The float32 `[A, 4]` cell anchors of each level. */
  readonly cellAnchors: readonly Tensor[];

  constructor({ sizes = [[128, 256, 512]], aspectRatios = [[0.5, 1, 2]] }: AnchorGeneratorOptions = {}) {
    const op = 'AnchorGenerator';
    if (!Array.isArray(sizes) || sizes.length === 0) throw new ValueError(`${op}(): argument 'sizes' must be a non-empty array, got ${describe(sizes)}`);
    const levels: number[][] = Array.isArray(sizes[0])
      ? (sizes as readonly number[][]).map((s, l) => numberList(op, `sizes[${l}]`, s))
      : numberList(op, 'sizes', sizes).map((s) => [s]);
    if (!Array.isArray(aspectRatios) || aspectRatios.length === 0) {
      throw new ValueError(`${op}(): argument 'aspectRatios' must be a non-empty array, got ${describe(aspectRatios)}`);
    }
    const ratios: number[][] = Array.isArray(aspectRatios[0])
      ? (aspectRatios as readonly number[][]).map((r, l) => numberList(op, `aspectRatios[${l}]`, r))
      : levels.map(() => numberList(op, 'aspectRatios', aspectRatios));
    if (ratios.length !== levels.length) {
      throw new ValueError(`${op}(): 'sizes' has ${levels.length} levels but 'aspectRatios' has ${ratios.length}; they must match`);
    }
    this.sizes = levels;
    this.aspectRatios = ratios;
    this.cellAnchors = levels.map((s, l) => AnchorGenerator.cellAnchorsFor(s, ratios[l]));
  }

  /** torchvision's `generate_anchors(scales, aspect_ratios)` in float32: `[ratios * scales, 4]`. */
  static cellAnchorsFor(scales: readonly number[], aspectRatios: readonly number[]): Tensor {
    const f = Math.fround;
    const out = new Float32Array(4 * scales.length * aspectRatios.length);
    let k = 0;
    for (const ratio of aspectRatios) {
      const hRatio = f(Math.sqrt(f(ratio)));
      const wRatio = f(1 / hRatio);
      for (const scale of scales) {
        const ws = f(wRatio * f(scale));
        const hs = f(hRatio * f(scale));
        out[k++] = roundHalfEven(f(-ws / 2));
        out[k++] = roundHalfEven(f(-hs / 2));
        out[k++] = roundHalfEven(f(ws / 2));
        out[k++] = roundHalfEven(f(hs / 2));
      }
    }
    return new Tensor(out, [out.length / 4, 4], 'float32');
  }

  /** Anchors per spatial location of each level. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, l) => s.length * this.aspectRatios[l].length);
  }

  /**
   * All anchors `[sum_l(H_l * W_l * A_l), 4]` (xyxy) for an image of `imageSize = [h, w]`
   * and feature maps of `featureMapSizes = [[H_l, W_l], ...]` (one per level), as
   * torchvision's `AnchorGenerator.forward` returns for one image.
   */
  generate(imageSize: readonly [number, number], featureMapSizes: readonly (readonly [number, number])[], options: GenerateAnchorsOptions = {}): Tensor {
    const op = 'AnchorGenerator.generate';
    if (!Array.isArray(imageSize) || imageSize.length !== 2) throw new ValueError(`${op}(): argument 'imageSize' must be [height, width], got ${describe(imageSize)}`);
    const [ih, iw] = imageSize.map((v, i) => expectInt(op, `imageSize[${i}]`, v, { min: 0 }));
    if (!Array.isArray(featureMapSizes) || featureMapSizes.length !== this.cellAnchors.length) {
      throw new ValueError(
        `${op}(): expected ${this.cellAnchors.length} feature map sizes (one per level of sizes/aspectRatios), got ${describe(featureMapSizes)}`,
      );
    }
    const grids = featureMapSizes.map((g, l) => {
      if (!Array.isArray(g) || g.length !== 2) throw new ValueError(`${op}(): featureMapSizes[${l}] must be [height, width], got ${describe(g)}`);
      return [expectInt(op, `featureMapSizes[${l}][0]`, g[0], { min: 1 }), expectInt(op, `featureMapSizes[${l}][1]`, g[1], { min: 1 })];
    });
    const strides = options.strides
      ? this.checkStrides(op, options.strides)
      : grids.map(([gh, gw]) => [Math.floor(ih / gh), Math.floor(iw / gw)]);
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${op}(): dtype must be float32 or float64, got ${dtype}`);
    const r = arithmeticRounding(dtype);
    let total = 0;
    grids.forEach(([gh, gw], l) => (total += gh * gw * this.cellAnchors[l].shape[0]));
    const out = allocate(dtype, 4 * total);
    let k = 0;
    grids.forEach(([gh, gw], l) => {
      const base = this.cellAnchors[l].data;
      const [sh, sw] = strides[l];
      for (let y = 0; y < gh; y++) {
        const shiftY = y * sh;
        for (let x = 0; x < gw; x++) {
          const shiftX = x * sw;
          for (let a = 0; a < base.length; a += 4) {
            out[k++] = r(shiftX + base[a]);
            out[k++] = r(shiftY + base[a + 1]);
            out[k++] = r(shiftX + base[a + 2]);
            out[k++] = r(shiftY + base[a + 3]);
          }
        }
      }
    });
    return new Tensor(out, [total, 4], dtype);
  }

  private checkStrides(op: string, strides: readonly (readonly [number, number])[]): number[][] {
    if (!Array.isArray(strides) || strides.length !== this.cellAnchors.length) {
      throw new ValueError(`${op}(): expected ${this.cellAnchors.length} strides (one per level), got ${describe(strides)}`);
    }
    return strides.map((s, l) => {
      if (!Array.isArray(s) || s.length !== 2) throw new ValueError(`${op}(): strides[${l}] must be [strideH, strideW], got ${describe(s)}`);
      return [expectInt(op, `strides[${l}][0]`, s[0], { min: 0 }), expectInt(op, `strides[${l}][1]`, s[1], { min: 0 })];
    });
  }
}

export interface BoxCoderOptions {
  /** `(wx, wy, ww, wh)`: the regression targets are scaled by these, e.g. `[10, 10, 5, 5]` in Faster R-CNN's heads. */
  weights: readonly [number, number, number, number];
  /** Upper clamp of `dw`, `dh` before `exp` when decoding; default `log(1000 / 16)`. */
  bboxXformClip?: number;
}

/**
 * The R-CNN box parameterisation, `torchvision.models.detection._utils.BoxCoder`:
 * `dx = wx (gx - px) / pw`, `dw = ww log(gw / pw)` (centres and sizes of the reference and
 * proposal boxes) and its inverse. float32 is computed with float32 rounding in torch's
 * order, so results match torch except through `log`/`exp` (within 1 ulp per call).
 */
export class BoxCoder {
  readonly weights: readonly [number, number, number, number];
  readonly bboxXformClip: number;

  constructor({ weights, bboxXformClip = Math.log(1000 / 16) }: BoxCoderOptions) {
    const w = numberList('BoxCoder', 'weights', weights);
    if (w.length !== 4) throw new ValueError(`BoxCoder(): argument 'weights' must hold 4 numbers, got ${describe(weights)}`);
    this.weights = [w[0], w[1], w[2], w[3]];
    this.bboxXformClip = expectNumber('BoxCoder', 'bboxXformClip', bboxXformClip, { finite: false });
  }

  /**
   * Regression targets `[N, 4]` of `referenceBoxes` (the ground truth, `[N, 4]` xyxy)
   * relative to `proposals` (`[N, 4]`, same float dtype): torchvision's `encode_single`.
   */
  encode(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    const op = 'BoxCoder.encode';
    const gt = checkBoxes(op, 'referenceBoxes', referenceBoxes, ['float32', 'float64']);
    const pr = checkBoxes(op, 'proposals', proposals, ['float32', 'float64']);
    if (gt.dtype !== pr.dtype) throw new DTypeError(`${op}(): 'referenceBoxes' (${gt.dtype}) and 'proposals' (${pr.dtype}) must have the same dtype`);
    if (gt.shape[0] !== pr.shape[0]) {
      throw new ShapeError(`${op}(): 'referenceBoxes' ${fmtShape(gt.shape)} and 'proposals' ${fmtShape(pr.shape)} must hold the same number of boxes`);
    }
    const r = arithmeticRounding(gt.dtype);
    const [wx, wy, ww, wh] = this.weights.map(r);
    const g = gt.data;
    const p = pr.data;
    const out = allocate(gt.dtype, g.length);
    for (let k = 0; k < g.length; k += 4) {
      const exW = r(p[k + 2] - p[k]);
      const exH = r(p[k + 3] - p[k + 1]);
      const exX = r(p[k] + r(0.5 * exW));
      const exY = r(p[k + 1] + r(0.5 * exH));
      const gtW = r(g[k + 2] - g[k]);
      const gtH = r(g[k + 3] - g[k + 1]);
      const gtX = r(g[k] + r(0.5 * gtW));
      const gtY = r(g[k + 1] + r(0.5 * gtH));
      out[k] = r(r(wx * r(gtX - exX)) / exW);
      out[k + 1] = r(r(wy * r(gtY - exY)) / exH);
      out[k + 2] = r(ww * r(Math.log(r(gtW / exW))));
      out[k + 3] = r(wh * r(Math.log(r(gtH / exH))));
    }
    return new Tensor(out, gt.shape, gt.dtype);
  }

  /**
   * Boxes `[N, 4K]` (xyxy per group of 4) decoded from `relCodes [N, 4K]` (float32/float64)
   * against `boxes [N, 4]` (converted to the codes' dtype): torchvision's `decode_single`,
   * with `dw`, `dh` clamped to at most `bboxXformClip` before `exp`.
   */
  decode(relCodes: Tensor, boxes: Tensor): Tensor {
    const op = 'BoxCoder.decode';
    expectTensor(op, 'relCodes', relCodes);
    expectDType(op, 'relCodes', relCodes, ['float32', 'float64']);
    const b = checkBoxes(op, 'boxes', boxes).to(relCodes.dtype);
    if (relCodes.ndim !== 2 || relCodes.shape[1] % 4 !== 0 || relCodes.shape[0] !== b.shape[0]) {
      throw new ShapeError(`${op}(): 'relCodes' must have shape [${b.shape[0]}, 4 * K] to match 'boxes' ${fmtShape(b.shape)}, got ${fmtShape(relCodes.shape)}`);
    }
    const dtype = relCodes.dtype;
    const r = arithmeticRounding(dtype);
    const [wx, wy, ww, wh] = this.weights.map(r);
    const clip = r(this.bboxXformClip);
    const c = relCodes.contiguous().data;
    const bd = b.data;
    const cols = relCodes.shape[1];
    const out = allocate(dtype, c.length);
    for (let i = 0; i < b.shape[0]; i++) {
      const w = r(bd[4 * i + 2] - bd[4 * i]);
      const h = r(bd[4 * i + 3] - bd[4 * i + 1]);
      const cx = r(bd[4 * i] + r(0.5 * w));
      const cy = r(bd[4 * i + 1] + r(0.5 * h));
      for (let k = i * cols; k < (i + 1) * cols; k += 4) {
        const dx = r(c[k] / wx);
        const dy = r(c[k + 1] / wy);
        let dw = r(c[k + 2] / ww);
        let dh = r(c[k + 3] / wh);
        // torch.clamp(max=): NaN stays NaN.
        dw = dw > clip ? clip : dw;
        dh = dh > clip ? clip : dh;
        const px = r(r(dx * w) + cx);
        const py = r(r(dy * h) + cy);
        const halfW = r(0.5 * r(r(Math.exp(dw)) * w));
        const halfH = r(0.5 * r(r(Math.exp(dh)) * h));
        out[k] = r(px - halfW);
        out[k + 1] = r(py - halfH);
        out[k + 2] = r(px + halfW);
        out[k + 3] = r(py + halfH);
      }
    }
    return new Tensor(out, relCodes.shape, dtype);
  }
}

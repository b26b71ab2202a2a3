/**
 * Box utilities, the IoU family and the IoU losses of torchvision 0.14
 * (`torchvision.ops.boxes`, `giou_loss`, `diou_loss`, `ciou_loss`).
 *
 * Boxes are `[N, 4]` tensors in `(x1, y1, x2, y2)` unless a function says
 * otherwise. float32 inputs are computed with float32 rounding after every
 * operation (`Math.fround`), in torch's order of operations, so results are
 * bit-identical to torch except where torch calls a transcendental function
 * (`atan` in the complete-IoU family: within 1 ulp of float32 per call).
 * int32 boxes stand in for torchvision's int64 boxes and follow its dtype rules.
 */
import { allocate, isFloatDType, promoteTypes, type DType, type TypedArray } from '../tensor/dtype';
import { fmtShape, ShapeError, ValueError } from '../tensor/errors';
import { describe, expectDType, expectInt, expectNumber, expectTensor } from '../tensor/check';
import { Tensor } from '../tensor/tensor';

/** Box encodings understood by {@link boxConvert}. */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';

const BOX_DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];
const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

function identity(v: number): number {
  return v;
}

/** Rounding after an arithmetic op in `dtype`: float32 rounds, float64 and (exact) int32 do not. */
export function arithmeticRounding(dtype: DType): (v: number) => number {
  return dtype === 'float32' ? Math.fround : identity;
}

/** Rounding of a float-valued result (true division, sqrt, atan) of `dtype`: int promotes to float32. */
function floatRounding(dtype: DType): (v: number) => number {
  return dtype === 'float64' ? identity : Math.fround;
}

/**
 * Checks that `boxes` is an `[N, 4]` tensor of float32, float64 or int32 (torchvision's
 * int64) and returns it contiguous. `dtypes` narrows the accepted dtypes.
 */
export function checkBoxes(op: string, name: string, boxes: unknown, dtypes: readonly DType[] = BOX_DTYPES): Tensor {
  expectTensor(op, name, boxes);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) {
    throw new ShapeError(`${op}(): argument '${name}' must have shape [N, 4], got ${fmtShape(boxes.shape)}`);
  }
  expectDType(op, name, boxes, dtypes);
  return boxes.contiguous();
}

/** Same as {@link checkBoxes} for functions that take any `[..., 4]` tensor (torch's `unbind(-1)`). */
function checkBoxesAnyRank(op: string, name: string, boxes: unknown): Tensor {
  expectTensor(op, name, boxes);
  if (boxes.ndim < 1 || boxes.shape[boxes.ndim - 1] !== 4) {
    throw new ShapeError(`${op}(): argument '${name}' must have shape [..., 4], got ${fmtShape(boxes.shape)}`);
  }
  expectDType(op, name, boxes, BOX_DTYPES);
  return boxes.contiguous();
}

/**
 * Area `(x2 - x1) * (y2 - y1)` of each box (`torchvision.ops.box_area`): `[N, 4]` → `[N]`,
 * same dtype. Inverted boxes give a negative or (both sides inverted) positive area.
 */
export function boxArea(boxes: Tensor): Tensor {
  const b = checkBoxes('boxArea', 'boxes', boxes);
  const n = b.shape[0];
  const d = b.data;
  const r = arithmeticRounding(b.dtype);
  const out = allocate(b.dtype, n);
  for (let i = 0, k = 0; i < n; i++, k += 4) out[i] = r(r(d[k + 2] - d[k]) * r(d[k + 3] - d[k + 1]));
  return new Tensor(out, [n], b.dtype);
}

/**
 * Converts boxes between `'xyxy'`, `'xywh'` (corner, size) and `'cxcywh'` (centre, size),
 * `torchvision.ops.box_convert`. Shape `[..., 4]`. Like torchvision, int32 boxes stay int32
 * unless the conversion involves `'cxcywh'` (a halving), which gives float32; a conversion
 * between two non-xyxy formats goes through xyxy.
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  const b = checkBoxesAnyRank('boxConvert', 'boxes', boxes);
  if (!BOX_FORMATS.includes(inFmt) || !BOX_FORMATS.includes(outFmt)) {
    throw new ValueError(`boxConvert(): unsupported conversion ${describe(inFmt)} -> ${describe(outFmt)}; formats are ${BOX_FORMATS.join(', ')}`);
  }
  if (inFmt === outFmt) return b.clone();
  const src = b.data;
  const viaCenter = inFmt === 'cxcywh' || outFmt === 'cxcywh';
  const outType: DType = viaCenter && !isFloatDType(b.dtype) ? 'float32' : b.dtype;
  const r = arithmeticRounding(b.dtype);
  const f = floatRounding(b.dtype);
  const out = allocate(outType, src.length);
  for (let k = 0; k < src.length; k += 4) {
    let x1: number;
    let y1: number;
    let x2: number;
    let y2: number;
    const a = src[k];
    const c = src[k + 1];
    const w = src[k + 2];
    const h = src[k + 3];
    if (inFmt === 'xywh') {
      x1 = a;
      y1 = c;
      x2 = r(a + w);
      y2 = r(c + h);
    } else if (inFmt === 'cxcywh') {
      // cx - 0.5 * w: the product is already a float tensor for int inputs.
      const hw = f(0.5 * w);
      const hh = f(0.5 * h);
      x1 = f(a - hw);
      y1 = f(c - hh);
      x2 = f(a + hw);
      y2 = f(c + hh);
    } else {
      x1 = a;
      y1 = c;
      x2 = w;
      y2 = h;
    }
    // After a cxcywh input everything is float32/64 already, so float rounding applies.
    const rr = inFmt === 'cxcywh' ? f : r;
    if (outFmt === 'xyxy') {
      out[k] = x1;
      out[k + 1] = y1;
      out[k + 2] = x2;
      out[k + 3] = y2;
    } else if (outFmt === 'xywh') {
      out[k] = x1;
      out[k + 1] = y1;
      out[k + 2] = rr(x2 - x1);
      out[k + 3] = rr(y2 - y1);
    } else {
      out[k] = f(f(rr(x1 + x2)) / 2);
      out[k + 1] = f(f(rr(y1 + y2)) / 2);
      out[k + 2] = rr(x2 - x1);
      out[k + 3] = rr(y2 - y1);
    }
  }
  return new Tensor(out, b.shape, outType);
}

/**
 * Clamps x coordinates to `[0, w]` and y coordinates to `[0, h]` (`clip_boxes_to_image`,
 * `size = [h, w]`; the bound is the image size, not size - 1). Shape `[..., 4]`, same dtype;
 * NaN stays NaN. int32 boxes need integer sizes.
 */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor {
  const b = checkBoxesAnyRank('clipBoxesToImage', 'boxes', boxes);
  if (!Array.isArray(size) || size.length !== 2) {
    throw new ValueError(`clipBoxesToImage(): argument 'size' must be [height, width], got ${describe(size)}`);
  }
  const intBoxes = !isFloatDType(b.dtype);
  const [h, w] = size.map((v, i) =>
    intBoxes ? expectInt('clipBoxesToImage', i ? 'size[1]' : 'size[0]', v) : expectNumber('clipBoxesToImage', i ? 'size[1]' : 'size[0]', v),
  );
  const r = arithmeticRounding(b.dtype);
  const src = b.data;
  const out = allocate(b.dtype, src.length);
  for (let k = 0; k < src.length; k++) {
    const hi = r((k & 1) === 0 ? w : h);
    const v = src[k];
    // torch.clamp(v, 0, hi) = min(max(v, 0), hi): NaN propagates, min wins when 0 > hi.
    const lo = v < 0 ? 0 : v;
    out[k] = lo > hi ? hi : lo;
  }
  return new Tensor(out, b.shape, b.dtype);
}

/**
 * Indices (int32, ascending) of the boxes whose width and height are both `>= minSize`
 * (`torchvision.ops.remove_small_boxes`). As in torch, a float32 comparison rounds
 * `minSize` to float32 first, and int32 boxes compare in float32 when `minSize` is fractional.
 */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  const b = checkBoxes('removeSmallBoxes', 'boxes', boxes);
  expectNumber('removeSmallBoxes', 'minSize', minSize, { finite: false });
  const r = arithmeticRounding(b.dtype);
  const floatCompare = b.dtype === 'float32' || (b.dtype === 'int32' && !Number.isInteger(minSize));
  const c = floatCompare ? Math.fround : identity;
  const m = c(minSize);
  const d = b.data;
  const n = b.shape[0];
  const keep = new Int32Array(n);
  let count = 0;
  for (let i = 0, k = 0; i < n; i++, k += 4) {
    if (c(r(d[k + 2] - d[k])) >= m && c(r(d[k + 3] - d[k + 1])) >= m) keep[count++] = i;
  }
  return new Tensor(keep.slice(0, count), [count], 'int32');
}

/**
 * Bounding boxes `[N, 4]` (float32, xyxy with inclusive maxima: a one-pixel mask at
 * row r, column c gives `[c, r, c, r]`) of the non-zero pixels of `masks [N, H, W]`
 * (`torchvision.ops.masks_to_boxes`; any dtype, NaN counts as non-zero). An all-zero
 * mask is an error; an input with no elements gives `[0, 4]`, as in torchvision.
 */
export function masksToBoxes(masks: Tensor): Tensor {
  expectTensor('masksToBoxes', 'masks', masks);
  if (masks.ndim !== 3) {
    throw new ShapeError(`masksToBoxes(): argument 'masks' must have shape [N, H, W], got ${fmtShape(masks.shape)}`);
  }
  if (masks.numel === 0) return new Tensor(new Float32Array(0), [0, 4], 'float32');
  const [n, h, w] = masks.shape;
  const m = masks.contiguous().data;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    const base = i * h * w;
    for (let y = 0; y < h; y++) {
      const row = base + y * w;
      for (let x = 0; x < w; x++) {
        if (m[row + x] === 0) continue;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        y2 = y;
      }
    }
    if (x2 < 0) throw new ValueError(`masksToBoxes(): mask ${i} has no non-zero pixel, so it has no bounding box`);
    out.set([x1, y1, x2, y2], i * 4);
  }
  return new Tensor(out, [n, 4], 'float32');
}

type PairKind = 'iou' | 'giou' | 'diou' | 'ciou';

const FOUR_OVER_PI2 = 4 / (Math.PI * Math.PI);

/** torch.maximum / torch.minimum: NaN propagates, otherwise std::max / std::min. */
function nanMax(a: number, b: number): number {
  return a !== a || b !== b ? NaN : a < b ? b : a;
}

function nanMin(a: number, b: number): number {
  return a !== a || b !== b ? NaN : b < a ? b : a;
}

/** Per-box terms of the pairwise kernel, computed in the box's own dtype as torch does. */
interface BoxTerms {
  area: Float64Array;
  cx: Float64Array;
  cy: Float64Array;
  atanRatio: Float64Array;
}

function boxTerms(d: TypedArray, n: number, dtype: DType, kind: PairKind): BoxTerms {
  const r = arithmeticRounding(dtype);
  const f = floatRounding(dtype);
  const t: BoxTerms = { area: new Float64Array(n), cx: new Float64Array(n), cy: new Float64Array(n), atanRatio: new Float64Array(n) };
  for (let i = 0, k = 0; i < n; i++, k += 4) {
    const w = r(d[k + 2] - d[k]);
    const h = r(d[k + 3] - d[k + 1]);
    t.area[i] = r(w * h);
    if (kind === 'diou' || kind === 'ciou') {
      t.cx[i] = f(f(r(d[k] + d[k + 2])) / 2);
      t.cy[i] = f(f(r(d[k + 1] + d[k + 3])) / 2);
      t.atanRatio[i] = f(Math.atan(f(f(w) / f(h))));
    }
  }
  return t;
}

/**
 * Pairwise kernel shared by boxIou, generalizedBoxIou, distanceBoxIou and completeBoxIou:
 * torchvision's `_box_inter_union` / `_box_diou_iou` evaluated per pair in torch's order.
 * Per-box terms use each input's dtype, pairwise terms the promoted dtype; `r` rounds
 * arithmetic in the promoted dtype, `f` rounds float results (int -> float32).
 */
function pairwise(op: string, boxes1: Tensor, boxes2: Tensor, kind: PairKind, eps: number): Tensor {
  const b1 = checkBoxes(op, 'boxes1', boxes1);
  const b2 = checkBoxes(op, 'boxes2', boxes2);
  const dtype = promoteTypes(b1.dtype, b2.dtype);
  const outType: DType = dtype === 'float64' ? 'float64' : 'float32';
  const f = floatRounding(dtype);
  const epsF = f(eps);
  const c = f(FOUR_OVER_PI2);
  const n = b1.shape[0];
  const m = b2.shape[0];
  // float64 copies (exact for every box dtype) keep the loop's reads and writes monomorphic.
  const p = Float64Array.from(b1.data);
  const q = Float64Array.from(b2.data);
  const t1 = boxTerms(b1.data, n, b1.dtype, kind);
  const t2 = boxTerms(b2.data, m, b2.dtype, kind);
  const res = new Float64Array(n * m);
  // Rounding flags instead of rounding closures: this loop runs N*M times.
  const ar = dtype === 'float32';
  const fr = dtype !== 'float64';
  const giou = kind === 'giou';
  const ciou = kind === 'ciou';
  const distance = kind === 'diou' || ciou;
  for (let i = 0; i < n; i++) {
    const ax1 = p[4 * i];
    const ay1 = p[4 * i + 1];
    const ax2 = p[4 * i + 2];
    const ay2 = p[4 * i + 3];
    const a1 = t1.area[i];
    for (let j = 0; j < m; j++) {
      const bx1 = q[4 * j];
      const by1 = q[4 * j + 1];
      const bx2 = q[4 * j + 2];
      const by2 = q[4 * j + 3];
      // torch.maximum/minimum propagate NaN; clamp(min=0) keeps it.
      const nan = ax1 !== ax1 || ay1 !== ay1 || ax2 !== ax2 || ay2 !== ay2 || bx1 !== bx1 || by1 !== by1 || bx2 !== bx2 || by2 !== by2;
      let w = (bx2 < ax2 ? bx2 : ax2) - (ax1 < bx1 ? bx1 : ax1);
      let h = (by2 < ay2 ? by2 : ay2) - (ay1 < by1 ? by1 : ay1);
      if (ar) {
        w = Math.fround(w);
        h = Math.fround(h);
      }
      w = nan ? NaN : w < 0 ? 0 : w;
      h = h < 0 ? 0 : h;
      let inter = w * h;
      let union = a1 + t2.area[j];
      if (ar) {
        inter = Math.fround(inter);
        union = Math.fround(Math.fround(union) - inter);
      } else union -= inter;
      let v = fr ? Math.fround(Math.fround(inter) / Math.fround(union)) : inter / union;
      if (giou || distance) {
        let wi = (ax2 < bx2 ? bx2 : ax2) - (bx1 < ax1 ? bx1 : ax1);
        let hi = (ay2 < by2 ? by2 : ay2) - (by1 < ay1 ? by1 : ay1);
        if (ar) {
          wi = Math.fround(wi);
          hi = Math.fround(hi);
        }
        wi = nan ? NaN : wi < 0 ? 0 : wi;
        hi = hi < 0 ? 0 : hi;
        const iou = v;
        if (giou) {
          let areai = wi * hi;
          if (ar) areai = Math.fround(areai);
          let gap = areai - union;
          if (ar) gap = Math.fround(gap);
          v = fr ? Math.fround(iou - Math.fround(Math.fround(gap) / Math.fround(areai))) : iou - gap / areai;
        } else {
          let sq = wi * wi + hi * hi;
          if (ar) sq = Math.fround(Math.fround(wi * wi) + Math.fround(hi * hi));
          let dx = t1.cx[i] - t2.cx[j];
          let dy = t1.cy[i] - t2.cy[j];
          let diag: number;
          let cds: number;
          if (fr) {
            diag = Math.fround(Math.fround(sq) + epsF);
            dx = Math.fround(dx);
            dy = Math.fround(dy);
            cds = Math.fround(Math.fround(dx * dx) + Math.fround(dy * dy));
            v = Math.fround(iou - Math.fround(cds / diag));
          } else {
            diag = sq + epsF;
            cds = dx * dx + dy * dy;
            v = iou - cds / diag;
          }
          if (ciou) {
            let d = t1.atanRatio[i] - t2.atanRatio[j];
            if (fr) {
              d = Math.fround(d);
              const aspect = Math.fround(c * Math.fround(d * d));
              const alpha = Math.fround(aspect / Math.fround(Math.fround(Math.fround(1 - iou) + aspect) + epsF));
              v = Math.fround(v - Math.fround(alpha * aspect));
            } else {
              const aspect = c * (d * d);
              const alpha = aspect / (1 - iou + aspect + epsF);
              v -= alpha * aspect;
            }
          }
        }
      }
      res[i * m + j] = v;
    }
  }
  const out = allocate(outType, n * m);
  out.set(res);
  return new Tensor(out, [n, m], outType);
}

/**
 * Pairwise intersection-over-union `[N, 4] x [M, 4] → [N, M]` (`torchvision.ops.box_iou`).
 * float64 inputs give float64, float32 and int32 give float32. Two zero-area boxes give
 * 0/0 = NaN, as in torch. Bit-exact with torch.
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  return pairwise('boxIou', boxes1, boxes2, 'iou', 0);
}

/**
 * Pairwise generalized IoU (Rezatofighi et al. 2019), `torchvision.ops.generalized_box_iou`:
 * `iou - (enclosing - union) / enclosing`, in [-1, 1]. Bit-exact with torch.
 */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  return pairwise('generalizedBoxIou', boxes1, boxes2, 'giou', 0);
}

/**
 * Pairwise distance IoU (Zheng et al. 2019), `torchvision.ops.distance_box_iou`:
 * `iou - |centre1 - centre2|² / (enclosing diagonal² + eps)`. Bit-exact with torch.
 */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, { eps = 1e-7 }: { eps?: number } = {}): Tensor {
  return pairwise('distanceBoxIou', boxes1, boxes2, 'diou', expectNumber('distanceBoxIou', 'eps', eps));
}

/**
 * Pairwise complete IoU (Zheng et al. 2019), `torchvision.ops.complete_box_iou`: distance
 * IoU minus `alpha * v`, `v = 4/π² (atan(w1/h1) - atan(w2/h2))²`. A zero-size box gives
 * NaN (0/0 inside atan), as in torch. float32 within ~2e-7 absolute of torch (atan rounding).
 */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, { eps = 1e-7 }: { eps?: number } = {}): Tensor {
  return pairwise('completeBoxIou', boxes1, boxes2, 'ciou', expectNumber('completeBoxIou', 'eps', eps));
}

/** Options of the IoU losses, as in torchvision.ops. */
export interface BoxLossOptions {
  /** `'none'` (default): one loss per box pair; `'mean'` (0 for no boxes) or `'sum'`: a 0-d tensor. */
  reduction?: 'none' | 'mean' | 'sum';
  /** Added to denominators; default 1e-7. */
  eps?: number;
}

/**
 * Elementwise loss kernel of torchvision's `_loss_inter_union` and `_diou_iou_loss`.
 * Integer boxes are converted to float32 first (`_upcast_non_float`).
 */
function boxLoss(op: string, boxes1: Tensor, boxes2: Tensor, kind: 'giou' | 'diou' | 'ciou', options: BoxLossOptions): Tensor {
  expectTensor(op, 'boxes1', boxes1);
  expectTensor(op, 'boxes2', boxes2);
  for (const [name, b] of [['boxes1', boxes1], ['boxes2', boxes2]] as const) {
    if ((b.ndim !== 1 && b.ndim !== 2) || b.shape[b.ndim - 1] !== 4) {
      throw new ShapeError(`${op}(): argument '${name}' must have shape [N, 4] or [4], got ${fmtShape(b.shape)}`);
    }
    expectDType(op, name, b, BOX_DTYPES);
  }
  if (boxes1.ndim !== boxes2.ndim || boxes1.shape[0] !== boxes2.shape[0]) {
    throw new ShapeError(`${op}(): 'boxes1' ${fmtShape(boxes1.shape)} and 'boxes2' ${fmtShape(boxes2.shape)} must have the same shape`);
  }
  const reduction = options.reduction ?? 'none';
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') {
    throw new ValueError(`${op}(): invalid value for argument 'reduction': ${describe(reduction)}; expected 'none', 'mean' or 'sum'`);
  }
  const eps = expectNumber(op, 'eps', options.eps ?? 1e-7);
  let dtype = promoteTypes(boxes1.dtype, boxes2.dtype);
  if (!isFloatDType(dtype)) dtype = 'float32';
  const p = boxes1.to(dtype).contiguous().data;
  const q = boxes2.to(dtype).contiguous().data;
  const r = arithmeticRounding(dtype);
  const epsR = r(eps);
  // complete_box_iou_loss calls _diou_iou_loss without eps, so its IoU uses the default.
  const iouEps = kind === 'ciou' ? r(1e-7) : epsR;
  const c = r(FOUR_OVER_PI2);
  const n = p.length / 4;
  const loss = allocate(dtype, n);
  for (let i = 0; i < n; i++) {
    const x1 = p[4 * i];
    const y1 = p[4 * i + 1];
    const x2 = p[4 * i + 2];
    const y2 = p[4 * i + 3];
    const x1g = q[4 * i];
    const y1g = q[4 * i + 1];
    const x2g = q[4 * i + 2];
    const y2g = q[4 * i + 3];
    const xk1 = nanMax(x1, x1g);
    const yk1 = nanMax(y1, y1g);
    const xk2 = nanMin(x2, x2g);
    const yk2 = nanMin(y2, y2g);
    const inter = yk2 > yk1 && xk2 > xk1 ? r(r(xk2 - xk1) * r(yk2 - yk1)) : 0;
    const union = r(r(r(r(x2 - x1) * r(y2 - y1)) + r(r(x2g - x1g) * r(y2g - y1g))) - inter);
    const xc1 = nanMin(x1, x1g);
    const yc1 = nanMin(y1, y1g);
    const xc2 = nanMax(x2, x2g);
    const yc2 = nanMax(y2, y2g);
    let v: number;
    if (kind === 'giou') {
      const iou = r(inter / r(union + epsR));
      const areaC = r(r(xc2 - xc1) * r(yc2 - yc1));
      v = r(1 - r(iou - r(r(areaC - union) / r(areaC + epsR))));
    } else {
      const iou = r(inter / r(union + iouEps));
      const dxc = r(xc2 - xc1);
      const dyc = r(yc2 - yc1);
      const diag = r(r(r(dxc * dxc) + r(dyc * dyc)) + iouEps);
      const dx = r(r(r(x2 + x1) / 2) - r(r(x1g + x2g) / 2));
      const dy = r(r(r(y2 + y1) / 2) - r(r(y1g + y2g) / 2));
      const cds = r(r(dx * dx) + r(dy * dy));
      v = r(r(1 - iou) + r(cds / diag));
      if (kind === 'ciou') {
        const d = r(r(Math.atan(r(r(x2g - x1g) / r(y2g - y1g)))) - r(Math.atan(r(r(x2 - x1) / r(y2 - y1)))));
        const aspect = r(c * r(d * d));
        const alpha = r(aspect / r(r(r(1 - iou) + aspect) + epsR));
        v = r(v + r(alpha * aspect));
      }
    }
    loss[i] = v;
  }
  if (reduction === 'none') return new Tensor(loss, boxes1.ndim === 2 ? [n] : [], dtype);
  let acc = 0;
  for (let i = 0; i < n; i++) acc += loss[i];
  const out = allocate(dtype, 1);
  out[0] = reduction === 'sum' ? acc : n > 0 ? acc / n : 0;
  return new Tensor(out, [], dtype);
}

/**
 * Generalized IoU loss `1 - giou` per box pair (`torchvision.ops.generalized_box_iou_loss`):
 * `boxes1`, `boxes2` `[N, 4]` or `[4]` of the same shape → `[N]` (or a 0-d tensor when reduced).
 * 0 for identical boxes, in [0, 2]. Elementwise values bit-exact with torch; reductions sum in
 * float64 (torch sums in float32), so a reduced float32 loss agrees to ~1e-6 relative.
 */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  return boxLoss('generalizedBoxIouLoss', boxes1, boxes2, 'giou', options);
}

/**
 * Distance IoU loss `1 - iou + d²/c²` (`torchvision.ops.distance_box_iou_loss`); shapes and
 * precision as {@link generalizedBoxIouLoss}.
 */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  return boxLoss('distanceBoxIouLoss', boxes1, boxes2, 'diou', options);
}

/**
 * Complete IoU loss: distance IoU loss plus `alpha * v` (`torchvision.ops.complete_box_iou_loss`).
 * As in torchvision 0.14, `eps` enters only `alpha`: the IoU inside uses 1e-7. float32 within
 * a few ulps of torch (atan).
 */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, options: BoxLossOptions = {}): Tensor {
  return boxLoss('completeBoxIouLoss', boxes1, boxes2, 'ciou', options);
}

/**
 * Pasting per-box mask predictions into full-image masks, as Mask R-CNN's
 * post-processing `torchvision.models.detection.roi_heads.paste_masks_in_image`
 * (torchvision 0.14).
 */
import { describe, expectFloat, expectInt, expectNdim, expectNumber, expectTensor, fmtShape, ShapeError, Tensor, ValueError, type DType } from '../tensor';

export interface PasteMasksOptions {
  /** Zero border added around each mask before resizing; boxes grow by the same ratio (default 1). */
  padding?: number;
  /** If given, return `probability > threshold` as a bool mask (torchvision returns probabilities; its callers threshold at 0.5). */
  threshold?: number;
}

export interface PasteMasksPlan {
  numMasks: number;
  /** Mask height and width before padding. */
  maskHeight: number;
  maskWidth: number;
  padding: number;
  /** `(M + 2 * padding) / M` with M the mask width, as `expand_masks`. */
  scale: number;
  /** Expanded boxes truncated to integers, `[N * 4]` (x0, y0, x1, y1). */
  boxes: Int32Array;
  imageHeight: number;
  imageWidth: number;
  threshold: number | undefined;
  outShape: [number, 1, number, number];
}

/**
 * Checks arguments and computes the integer paste boxes (`expand_boxes` in the
 * boxes' precision, then `.to(int64)`), shared with the WebGPU backend.
 */
export function resolvePasteMasks(masksShape: readonly number[], boxes: Tensor, imageShape: readonly [number, number], opts: PasteMasksOptions = {}): PasteMasksPlan {
  const op = 'paste_masks_in_image';
  if (masksShape.length !== 3 && masksShape.length !== 4) {
    throw new ShapeError(`${op}(): masks must be [N, 1, M, M] or [N, M, M], got ${fmtShape(masksShape)}`);
  }
  if (masksShape.length === 4 && masksShape[1] !== 1) throw new ShapeError(`${op}(): masks must have one channel, got ${fmtShape(masksShape)}`);
  expectTensor(op, 'boxes', boxes);
  expectFloat(op, 'boxes', boxes);
  const n = masksShape[0];
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4 || boxes.shape[0] !== n) {
    throw new ShapeError(`${op}(): boxes must have shape [${n}, 4] (one box per mask), got ${fmtShape(boxes.shape)}`);
  }
  if (!Array.isArray(imageShape) || imageShape.length !== 2) throw new ValueError(`${op}(): img_shape must be [h, w], got ${describe(imageShape)}`);
  const imageHeight = expectInt(op, 'img_shape[0]', imageShape[0], { min: 0 });
  const imageWidth = expectInt(op, 'img_shape[1]', imageShape[1], { min: 0 });
  const padding = expectInt(op, 'padding', opts.padding ?? 1, { min: 0 });
  const threshold = opts.threshold === undefined ? undefined : expectNumber(op, 'threshold', opts.threshold, { finite: false });
  const maskHeight = masksShape[masksShape.length - 2];
  const maskWidth = masksShape[masksShape.length - 1];
  if (n > 0 && (maskHeight === 0 || maskWidth === 0)) throw new ShapeError(`${op}(): masks must be non-empty, got ${fmtShape(masksShape)}`);
  const scale = (maskWidth + 2 * padding) / maskWidth;
  const q = boxes.dtype === 'float32' ? Math.fround : (v: number) => v;
  const qs = q(scale);
  const b = boxes.contiguous().data;
  const out = new Int32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [x0, y0, x1, y1] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    if (![x0, y0, x1, y1].every(Number.isFinite)) throw new ValueError(`${op}(): boxes must be finite, got box ${i} = [${x0}, ${y0}, ${x1}, ${y1}]`);
    const wHalf = q(q(q(x1 - x0) * 0.5) * qs);
    const hHalf = q(q(q(y1 - y0) * 0.5) * qs);
    const xc = q(q(x1 + x0) * 0.5);
    const yc = q(q(y1 + y0) * 0.5);
    const e = [q(xc - wHalf), q(yc - hHalf), q(xc + wHalf), q(yc + hHalf)].map(Math.trunc);
    if (e.some((v) => Math.abs(v) > 2 ** 30)) throw new ValueError(`${op}(): box ${i} is too large`);
    out.set(e, 4 * i);
  }
  return { numMasks: n, maskHeight, maskWidth, padding, scale, boxes: out, imageHeight, imageWidth, threshold, outShape: [n, 1, imageHeight, imageWidth] };
}

/**
 * Source taps and weights of bilinear resizing (align_corners=False, explicit
 * output size) for one output coordinate, as torch 1.13's upsample_bilinear2d CPU
 * kernel: scale `in/out` in the input's precision, `src = max((dst + 0.5) * scale
 * - 0.5, 0)` in double, weights rounded to the input's precision.
 */
function linearTap(dst: number, inSize: number, scale: number, q: (v: number) => number, tap: Float64Array, at: number): void {
  const src = Math.max(scale * (dst + 0.5) - 0.5, 0);
  const i0 = Math.min(Math.floor(src), inSize - 1);
  const l1 = q(Math.min(Math.max(src - i0, 0), 1));
  tap[at] = i0;
  tap[at + 1] = i0 < inSize - 1 ? i0 + 1 : i0;
  tap[at + 2] = q(1 - l1);
  tap[at + 3] = l1;
}

/**
 * `paste_masks_in_image(masks, boxes, img_shape, padding)` from torchvision 0.14:
 * each mask is zero-padded by `padding`, its box expanded by `(M + 2p) / M` about
 * its centre and truncated to integers, the padded mask bilinearly resized
 * (align_corners=False) to the box's `(y1 - y0 + 1) x (x1 - x0 + 1)` pixels (at
 * least 1) and written into a zero image, clipped to the image.
 *
 * @param masks `[N, 1, M, M]` (or `[N, M, M]`) float mask probabilities.
 * @param boxes `[N, 4]` xyxy boxes in image pixels.
 * @param imageShape `[h, w]`.
 * @returns `[N, 1, h, w]` probabilities in the masks' dtype, or a bool tensor when
 *   `threshold` is given. Only the pasted window is resized. Taps and weights match
 *   torch exactly; the four-tap sum is taken in float64 (torch: float32), so values
 *   in [0, 1] agree within a few float32 ulps (atol 3e-7). torchvision raises for a box lying wholly
 *   outside the image by more than its padding on the left/top or right/bottom
 *   (negative slice bounds wrap around); here such a box pastes nothing.
 */
export function pasteMasksInImage(masks: Tensor, boxes: Tensor, imageShape: readonly [number, number], opts: PasteMasksOptions = {}): Tensor {
  const op = 'paste_masks_in_image';
  expectTensor(op, 'masks', masks);
  expectNdim(op, 'masks', masks, [3, 4]);
  expectFloat(op, 'masks', masks);
  const plan = resolvePasteMasks(masks.shape, boxes, imageShape, opts);
  const { numMasks: N, maskHeight: MH, maskWidth: MW, padding: P, imageHeight: H, imageWidth: W, threshold } = plan;
  const src = masks.contiguous().data;
  const outDType: DType = threshold === undefined ? masks.dtype : 'bool';
  const out = threshold === undefined ? (masks.dtype === 'float64' ? new Float64Array(N * H * W) : new Float32Array(N * H * W)) : new Uint8Array(N * H * W);
  const q = masks.dtype === 'float32' ? Math.fround : (v: number) => v;
  const PHt = MH + 2 * P;
  const PWd = MW + 2 * P;
  // Per output column/row of the pasted window: padded-mask taps and weights.
  const xTaps = new Float64Array(4 * W);
  const yTaps = new Float64Array(4 * H);
  for (let i = 0; i < N; i++) {
    const [x0, y0, x1, y1] = plan.boxes.subarray(4 * i, 4 * i + 4);
    const w = Math.max(x1 - x0 + 1, 1);
    const h = Math.max(y1 - y0 + 1, 1);
    const cx0 = Math.max(x0, 0);
    const cx1 = Math.min(x1 + 1, W);
    const cy0 = Math.max(y0, 0);
    const cy1 = Math.min(y1 + 1, H);
    if (cx1 <= cx0 || cy1 <= cy0) continue;
    const sx = q(PWd / w);
    const sy = q(PHt / h);
    for (let X = cx0; X < cx1; X++) linearTap(X - x0, PWd, sx, q, xTaps, 4 * X);
    for (let Y = cy0; Y < cy1; Y++) linearTap(Y - y0, PHt, sy, q, yTaps, 4 * Y);
    const m = i * MH * MW;
    // A padded-mask pixel: zero in the border, else the mask.
    const at = (r: number, c: number): number => (r < P || r >= P + MH || c < P || c >= P + MW ? 0 : src[m + (r - P) * MW + (c - P)]);
    for (let Y = cy0; Y < cy1; Y++) {
      const [r0, r1, wy0, wy1] = yTaps.subarray(4 * Y, 4 * Y + 4);
      const row = (i * H + Y) * W;
      for (let X = cx0; X < cx1; X++) {
        const c0 = xTaps[4 * X];
        const c1 = xTaps[4 * X + 1];
        const wx0 = xTaps[4 * X + 2];
        const wx1 = xTaps[4 * X + 3];
        const v = wy0 * (wx0 * at(r0, c0) + wx1 * at(r0, c1)) + wy1 * (wx0 * at(r1, c0) + wx1 * at(r1, c1));
        out[row + X] = threshold === undefined ? v : Number(q(v) > threshold);
      }
    }
  }
  return new Tensor(out, plan.outShape, outDType);
}

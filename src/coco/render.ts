/**
 * Draws COCO annotations onto RGBA pixels: the counterpart of pycocotools'
 * `COCO.showAnns`, without matplotlib. Masks are the exact pycocotools masks
 * (polygons rasterised by {@link rleFrPoly}, RLEs decoded run by run) blended
 * with a per-category colour; polygon outlines, boxes and keypoint skeletons
 * are drawn on top. Works on a canvas `ImageData` directly (browser) or on
 * any `{data, width, height}` buffer (Node; see `encodePng`).
 */
import { ShapeError, ValueError } from '../tensor/errors';
import { segmentationToRle, type CocoAnnotation, type CocoCategory } from './coco';
import type { Rle } from './mask';
import type { RgbaImage } from './png';

export type Rgb = readonly [number, number, number];

export interface RenderOptions {
  /** Categories: their order picks palette colours, and keypoint categories give the skeleton. */
  cats?: readonly CocoCategory[];
  /** Fill segmentation masks (default true). */
  drawMasks?: boolean;
  /** Outline polygon segmentations (default true). */
  drawPolygons?: boolean;
  /** Draw `bbox` rectangles (default true). */
  drawBoxes?: boolean;
  /** Draw visible keypoints and the category skeleton (default true). */
  drawKeypoints?: boolean;
  /** Opacity of mask fills, 0..1 (default 0.5). */
  alpha?: number;
  /** Width of outlines, boxes and skeleton lines in whole pixels, 1..64 (default 2). */
  lineWidth?: number;
  /** Colour per category id, as a map or a function; the default is a fixed 20-colour palette. */
  colors?: Readonly<Record<number, Rgb>> | ((categoryId: number) => Rgb);
}

/** Distinct, saturated colours that stay readable over photos. */
export const PALETTE: readonly Rgb[] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
  [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0],
  [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128], [255, 255, 255],
];

/** The colour of a category: `colors` if given, else the palette by the category's position in `cats` (or by id). */
export function categoryColor(categoryId: number, opts: Pick<RenderOptions, 'cats' | 'colors'> = {}): Rgb {
  const { colors, cats } = opts;
  if (typeof colors === 'function') return colors(categoryId);
  if (colors && colors[categoryId]) return colors[categoryId];
  const idx = cats ? cats.findIndex((c) => c.id === categoryId) : -1;
  const k = idx >= 0 ? idx : Math.abs(Math.trunc(categoryId) || 0);
  return PALETTE[k % PALETTE.length];
}

/** "Over" compositing of colour `c` with opacity `a` onto pixel `i` (non-premultiplied RGBA). */
function blend(d: RgbaImage['data'], i: number, c: Rgb, a: number): void {
  const da = d[i + 3] / 255;
  const oa = a + da * (1 - a);
  if (oa <= 0) return;
  const k = (da * (1 - a)) / oa;
  const s = a / oa;
  d[i] = Math.round(c[0] * s + d[i] * k);
  d[i + 1] = Math.round(c[1] * s + d[i + 1] * k);
  d[i + 2] = Math.round(c[2] * s + d[i + 2] * k);
  d[i + 3] = Math.round(oa * 255);
}

/** Blends the foreground runs of `R` (column-major, the target's size) without decoding it. */
function fillRle(img: RgbaImage, R: Rle, c: Rgb, a: number): void {
  const { width: W, height: H, data } = img;
  if (R.h !== H || R.w !== W) throw new ShapeError(`renderAnnotations: mask size [${R.h}, ${R.w}] differs from the image [${H}, ${W}]`);
  let p = 0;
  for (let j = 0; j < R.cnts.length; j++) {
    const n = R.cnts[j];
    if (j & 1) {
      let y = p % H;
      let x = (p - y) / H;
      for (let k = 0; k < n; k++) {
        blend(data, 4 * (y * W + x), c, a);
        if (++y === H) {
          y = 0;
          x++;
        }
      }
    }
    p += n;
  }
}

/** Paints the n x n pixels nearest to the point (x, y) (pixel i spans [i, i+1)). */
function stamp(img: RgbaImage, x: number, y: number, n: number, c: Rgb): void {
  const xs = Math.floor(x - n / 2 + 0.5);
  const ys = Math.floor(y - n / 2 + 0.5);
  const x1 = Math.min(img.width, xs + n);
  const y1 = Math.min(img.height, ys + n);
  for (let yy = Math.max(0, ys); yy < y1; yy++) for (let xx = Math.max(0, xs); xx < x1; xx++) blend(img.data, 4 * (yy * img.width + xx), c, 1);
}

/**
 * A line `lw` pixels wide from (x0, y0) to (x1, y1) (COCO coordinates: pixel
 * i spans [i, i+1)). Clipped to the image first (Liang-Barsky), so far-away
 * endpoints cost nothing; non-finite endpoints draw nothing.
 */
function line(img: RgbaImage, x0: number, y0: number, x1: number, y1: number, lw: number, c: Rgb): void {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return;
  const m = lw;
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const clip = (p: number, q: number): boolean => {
    if (p === 0) return q >= 0;
    const r = q / p;
    if (p < 0) {
      if (r > t1) return false;
      if (r > t0) t0 = r;
    } else {
      if (r < t0) return false;
      if (r < t1) t1 = r;
    }
    return true;
  };
  if (!(clip(-dx, x0 + m) && clip(dx, img.width + m - x0) && clip(-dy, y0 + m) && clip(dy, img.height + m - y0))) return;
  const ax = x0 + t0 * dx;
  const ay = y0 + t0 * dy;
  const bx = x0 + t1 * dx;
  const by = y0 + t1 * dy;
  const steps = Math.max(1, Math.ceil(2 * Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
  for (let s = 0; s <= steps; s++) stamp(img, ax + ((bx - ax) * s) / steps, ay + ((by - ay) * s) / steps, lw, c);
}

/**
 * Draws `anns` onto `target` (RGBA, row-major; a canvas `ImageData` works)
 * and returns it: mask fills first (polygons and RLEs, crowd regions
 * included), then polygon outlines, boxes, and keypoints (visible points,
 * plus the skeleton of the category in `cats`). Masks must have the target's
 * size; polygons are rasterised at it. Colours come from {@link categoryColor}.
 */
export function renderAnnotations<T extends RgbaImage>(target: T, anns: readonly CocoAnnotation[], opts: RenderOptions = {}): T {
  const { drawMasks = true, drawPolygons = true, drawBoxes = true, drawKeypoints = true, alpha = 0.5, lineWidth = 2, cats } = opts;
  const { width: W, height: H } = target;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 0 || H < 0) throw new ValueError(`renderAnnotations: bad target size ${W} x ${H}`);
  if (target.data.length !== 4 * W * H) {
    throw new ShapeError(`renderAnnotations: target has ${target.data.length} bytes, expected 4*width*height = ${4 * W * H}`);
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new ValueError(`renderAnnotations: alpha must be in [0, 1], got ${alpha}`);
  if (!(Number.isInteger(lineWidth) && lineWidth >= 1 && lineWidth <= 64)) {
    throw new ValueError(`renderAnnotations: lineWidth must be an integer in [1, 64], got ${lineWidth}`);
  }
  const color = (a: CocoAnnotation): Rgb => categoryColor(a.category_id, opts);

  if (drawMasks && alpha > 0) {
    for (const a of anns) {
      if (a.segmentation === undefined) continue;
      fillRle(target, segmentationToRle(a.segmentation, H, W, `annotation ${a.id}`), color(a), alpha);
    }
  }
  if (drawPolygons) {
    for (const a of anns) {
      if (!Array.isArray(a.segmentation)) continue;
      for (const poly of a.segmentation) {
        const k = Math.floor(poly.length / 2);
        for (let j = 0; j < k; j++) {
          const n = (j + 1) % k;
          line(target, poly[2 * j], poly[2 * j + 1], poly[2 * n], poly[2 * n + 1], lineWidth, color(a));
        }
      }
    }
  }
  if (drawBoxes) {
    for (const a of anns) {
      const b = a.bbox;
      if (!Array.isArray(b) || b.length !== 4) continue;
      const [x, y, w, h] = b;
      const c = color(a);
      line(target, x, y, x + w, y, lineWidth, c);
      line(target, x + w, y, x + w, y + h, lineWidth, c);
      line(target, x + w, y + h, x, y + h, lineWidth, c);
      line(target, x, y + h, x, y, lineWidth, c);
    }
  }
  if (drawKeypoints) {
    for (const a of anns) {
      const kp = a.keypoints;
      if (!Array.isArray(kp) || kp.length < 3) continue;
      const c = color(a);
      const visible = (i: number): boolean => kp[3 * i + 2] > 0;
      const skeleton = cats?.find((cat) => cat.id === a.category_id)?.skeleton ?? [];
      for (const [s, e] of skeleton) {
        // COCO skeletons are 1-based
        if (visible(s - 1) && visible(e - 1)) line(target, kp[3 * s - 3], kp[3 * s - 2], kp[3 * e - 3], kp[3 * e - 2], lineWidth, c);
      }
      for (let i = 0; 3 * i + 2 < kp.length; i++) {
        if (visible(i)) stamp(target, kp[3 * i], kp[3 * i + 1], 2 * lineWidth + 2, c);
      }
    }
  }
  return target;
}

/**
 * COCO mask API: run-length encoded binary masks, after pycocotools'
 * `maskApi.c` (the low-level `rle*` / `bbIou` functions over {@link Rle}) and
 * `mask.py` / `_mask.pyx` (the Python-level `encode`, `decode`, `area`,
 * `toBbox`, `merge`, `iou`, `frPyObjects` over {@link RLE} objects).
 *
 * Layout: masks are **column-major** (Fortran order), as in pycocotools: the
 * runs walk down the first column, then the second, ... The first run counts
 * zeros. Row-major data (canvas `ImageData`, most JS arrays) must go through
 * {@link binaryMaskToRle} / {@link rowMajorToColumnMajor}, or be wrapped in a
 * {@link Tensor}, whose strides say the layout.
 *
 * Every result is bit-identical to pycocotools, including its uint32
 * arithmetic (`area` wraps mod 2^32, `toBbox` of non-canonical counts) and
 * its polygon rasterisation. Inputs that make the C code read out of bounds,
 * divide by zero or loop forever raise a {@link ValueError} instead.
 */
import { DTypeError, ShapeError, ValueError } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';

/** Run-length encoding: `cnts` are column-major run lengths, starting with a run of zeros (maskApi.c `RLE`). */
export interface Rle {
  h: number;
  w: number;
  cnts: Uint32Array;
}

/** Compressed RLE as pycocotools returns it (`counts` bytes decoded as ASCII). */
export interface RLE {
  size: [number, number];
  counts: string;
}

/** Uncompressed RLE as stored in COCO json for crowd regions. */
export interface UncompressedRLE {
  size: [number, number];
  counts: number[];
}

/** A box `[x, y, width, height]`. */
export type Bbox = [number, number, number, number];

/** One binary mask, `data[y + x * height]` (column-major, like a Fortran-order numpy array). Non-zero is foreground. */
export interface ColumnMajorMask {
  data: ArrayLike<number>;
  height: number;
  width: number;
}

/** Counts are uint32 in maskApi.c, so h*w (their sum) must fit. */
const MAX_PIXELS = 0xffffffff;
/** Decoding allocates h*w bytes; beyond 1 GiB it is refused rather than exhausting memory. */
const MAX_DECODE_PIXELS = 2 ** 30;
/** Polygon vertices are scaled by 5 into C ints; this bound keeps their differences inside int range. */
const MAX_SCALED_COORD = 2 ** 30;
const TWO32 = 2 ** 32;
const INT_MIN = -2147483648;

function checkSize(h: number, w: number, name: string): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new ValueError(`${name}: height and width must be non-negative integers, got h=${h}, w=${w}`);
  }
  if (h * w > MAX_PIXELS) {
    throw new ValueError(`${name}: h*w = ${h * w} exceeds 2^32-1, the largest mask maskApi.c's uint32 counts can describe`);
  }
}

/** Throws unless the runs cover exactly h*w pixels (else maskApi.c would overrun buffers or loop forever). */
function checkRuns(R: Rle, name: string): void {
  let s = 0;
  const c = R.cnts;
  for (let i = 0; i < c.length; i++) s += c[i];
  if (s !== R.h * R.w) {
    throw new ValueError(`${name}: run lengths sum to ${s} but size [${R.h}, ${R.w}] has ${R.h * R.w} pixels`);
  }
}

/**
 * Runs of a column-major walk over `data`: pixel (y, x) is `data[offset + y*sy + x*sx]`.
 */
function encodeStrided(data: ArrayLike<number>, offset: number, h: number, w: number, sy: number, sx: number): Uint32Array {
  const contiguous = sy === 1 && sx === h;
  if (contiguous && (data instanceof Uint8Array || data instanceof Uint8ClampedArray)) return encodeBytes(data, offset, h * w);
  const runs = new U32List();
  let p = 0;
  let start = 0;
  for (let x = 0; x < w; x++) {
    const col = offset + x * sx;
    const base = x * h;
    for (let y = 0; y < h; y++) {
      if ((data[contiguous ? col + y : col + y * sy] !== 0 ? 1 : 0) === p) continue;
      runs.push(base + y - start);
      start = base + y;
      p ^= 1;
    }
  }
  runs.push(h * w - start);
  return runs.toArray();
}

/**
 * encodeStrided for contiguous bytes: reads aligned 4-byte words and skips
 * those that cannot end the current run (all zero in a background run, no
 * zero byte in a foreground run), so long runs cost a quarter of the reads.
 */
function encodeBytes(bytes: Uint8Array | Uint8ClampedArray, offset: number, n: number): Uint32Array {
  const runs = new U32List();
  let p = 0;
  let start = 0;
  const at = bytes.byteOffset + offset;
  const head = (4 - (at % 4)) % 4;
  const nWords = n > head ? (n - head) >> 2 : 0;
  const words = nWords > 0 ? new Uint32Array(bytes.buffer, at + head, nWords) : new Uint32Array(0);
  let i = 0;
  while (i < n) {
    if (i >= head && i < head + 4 * nWords && ((i - head) & 3) === 0) {
      const v = words[(i - head) >> 2];
      // p = 0: a zero word continues the run; p = 1: a word without zero bytes does
      if (p === 0 ? v === 0 : ((v - 0x01010101) & ~v & 0x80808080) === 0) {
        i += 4;
        continue;
      }
    }
    if ((bytes[offset + i] !== 0 ? 1 : 0) !== p) {
      runs.push(i - start);
      start = i;
      p ^= 1;
    }
    i++;
  }
  runs.push(n - start);
  return runs.toArray();
}

/** A growable list of uint32 (run lengths, crossings): far fewer entries than pixels, so no h*w buffer. */
class U32List {
  data: Uint32Array = new Uint32Array(64);
  n = 0;

  push(v: number): void {
    if (this.n === this.data.length) {
      const grown = new Uint32Array(2 * this.n);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = v;
  }

  toArray(): Uint32Array {
    return this.data.slice(0, this.n);
  }
}

/**
 * Encodes a column-major h*w mask (maskApi.c `rleEncode`). Non-zero values are
 * foreground (pycocotools expects 0/1 and would start a new run at every value change).
 */
export function rleEncode(mask: ArrayLike<number>, h: number, w: number): Rle {
  checkSize(h, w, 'rleEncode');
  if (mask.length !== h * w) {
    throw new ShapeError(`rleEncode: mask has ${mask.length} elements, expected h*w = ${h * w}`);
  }
  return { h, w, cnts: encodeStrided(mask, 0, h, w, 1, h) };
}

/** Decodes to a column-major h*w mask of 0/1 (maskApi.c `rleDecode`). */
export function rleDecode(R: Rle): Uint8Array {
  checkRuns(R, 'rleDecode');
  if (R.h * R.w > MAX_DECODE_PIXELS) {
    throw new ValueError(`rleDecode: size [${R.h}, ${R.w}] is beyond the ${MAX_DECODE_PIXELS}-pixel decode limit`);
  }
  const out = new Uint8Array(R.h * R.w);
  const c = R.cnts;
  let pos = 0;
  for (let j = 0; j < c.length; j++) {
    if (j & 1) out.fill(1, pos, pos + c[j]);
    pos += c[j];
  }
  return out;
}

/** Foreground pixel count: the sum of odd runs, in uint32 like maskApi.c `rleArea`. */
export function rleArea(R: Rle): number {
  const c = R.cnts;
  let a = 0;
  for (let j = 1; j < c.length; j += 2) a = (a + c[j]) >>> 0;
  return a;
}

/**
 * Bounding box `[x, y, w, h]` (maskApi.c `rleToBbox`), with its uint32
 * arithmetic: a run spanning columns widens y to the full height, and
 * zero-length runs can wrap (non-canonical counts give odd boxes, as in pycocotools).
 * An empty mask gives `[0, 0, 0, 0]`; so does h = 0, where the C code divides by zero.
 */
export function rleToBbox(R: Rle): Bbox {
  const h = R.h >>> 0;
  const w = R.w >>> 0;
  const c = R.cnts;
  const m = c.length - (c.length % 2);
  if (m === 0 || h === 0) return [0, 0, 0, 0];
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc = (cc + c[j]) >>> 0;
    const t = (cc - (j & 1)) >>> 0;
    const y = t % h;
    const x = (t - y) / h;
    if ((j & 1) === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    if (x < xs) xs = x;
    if (x > xe) xe = x;
    if (y < ys) ys = y;
    if (y > ye) ye = y;
  }
  return [xs, ys, (xe - xs + 1) >>> 0, (ye - ys + 1) >>> 0];
}

/**
 * Union (`intersect` false) or intersection of RLEs of one size (maskApi.c
 * `rleMerge`). No RLE gives size 0x0; one RLE is returned as is (non-canonical
 * counts survive); differing sizes give size 0x0 with no runs, like pycocotools.
 */
export function rleMerge(Rs: readonly Rle[], intersect: boolean): Rle {
  const n = Rs.length;
  if (n === 0) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  const { h, w } = Rs[0];
  if (n === 1) return { h, w, cnts: Rs[0].cnts.slice() };
  for (let i = 1; i < n; i++) {
    if (Rs[i].h !== h || Rs[i].w !== w) return { h: 0, w: 0, cnts: new Uint32Array(0) };
  }
  for (let i = 0; i < n; i++) checkRuns(Rs[i], `rleMerge: Rs[${i}]`);
  let A = Rs[0].cnts;
  for (let i = 1; i < n; i++) {
    const B = Rs[i].cnts;
    // each step consumes a run of A or of B, so A.length + B.length bounds the output
    const out = new Uint32Array(A.length + B.length + 1);
    let ca = A.length > 0 ? A[0] : 0;
    let cb = B.length > 0 ? B[0] : 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let m = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = ca < cb ? ca : cb;
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++];
        va ^= 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.length) {
        cb = B[b++];
        vb ^= 1;
      }
      ct += cb;
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || ct === 0) {
        out[m++] = cc;
        cc = 0;
      }
    }
    A = out.slice(0, m);
  }
  return { h, w, cnts: A };
}

/** `fmin`/`fmax` as in C: a NaN argument yields the other one. */
function fmin(a: number, b: number): number {
  return a !== a ? b : b !== b ? a : a < b ? a : b;
}
function fmax(a: number, b: number): number {
  return a !== a ? b : b !== b ? a : a > b ? a : b;
}

function checkCrowd(iscrowd: ArrayLike<number | boolean>, n: number, name: string): void {
  if (iscrowd.length !== n) {
    throw new ValueError(`${name}: iscrowd has ${iscrowd.length} entries, expected one per gt (${n})`);
  }
}

/**
 * IoU of boxes packed `[x, y, w, h]` (maskApi.c `bbIou`): `dt` holds m boxes,
 * `gt` n boxes; the result is row-major m x n. For a crowd gt the union is the
 * dt area. No overlap (including boxes of non-positive size) gives 0.
 */
export function bbIou(dt: ArrayLike<number>, gt: ArrayLike<number>, iscrowd: ArrayLike<number | boolean>): Float64Array {
  if (dt.length % 4 !== 0 || gt.length % 4 !== 0) {
    throw new ShapeError(`bbIou: boxes are packed 4 numbers each, got dt length ${dt.length}, gt length ${gt.length}`);
  }
  const m = dt.length / 4;
  const n = gt.length / 4;
  checkCrowd(iscrowd, n, 'bbIou');
  const o = new Float64Array(m * n);
  for (let g = 0; g < n; g++) {
    const gx = gt[4 * g];
    const gy = gt[4 * g + 1];
    const gw = gt[4 * g + 2];
    const gh = gt[4 * g + 3];
    const ga = gw * gh;
    const crowd = !!iscrowd[g];
    for (let d = 0; d < m; d++) {
      const dx = dt[4 * d];
      const dy = dt[4 * d + 1];
      const dw = dt[4 * d + 2];
      const dh = dt[4 * d + 3];
      const da = dw * dh;
      const iw = fmin(dw + dx, gw + gx) - fmax(dx, gx);
      if (iw <= 0) continue;
      const ih = fmin(dh + dy, gh + gy) - fmax(dy, gy);
      if (ih <= 0) continue;
      const i = iw * ih;
      o[d * n + g] = i / (crowd ? da : da + ga - i);
    }
  }
  return o;
}

/**
 * Mask IoU (maskApi.c `rleIou`), row-major `dt.length` x `gt.length`. As in
 * pycocotools, the masks are compared only where their boxes overlap; there,
 * a size mismatch gives -1. For a crowd gt the union is the dt area.
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: ArrayLike<number | boolean>): Float64Array {
  const m = dt.length;
  const n = gt.length;
  checkCrowd(iscrowd, n, 'rleIou');
  dt.forEach((R, i) => checkRuns(R, `rleIou: dt[${i}]`));
  gt.forEach((R, i) => checkRuns(R, `rleIou: gt[${i}]`));
  const db = new Float64Array(4 * m);
  const gb = new Float64Array(4 * n);
  dt.forEach((R, i) => db.set(rleToBbox(R), 4 * i));
  gt.forEach((R, i) => gb.set(rleToBbox(R), 4 * i));
  const o = bbIou(db, gb, iscrowd);
  for (let g = 0; g < n; g++) {
    const G = gt[g];
    const B = G.cnts;
    for (let d = 0; d < m; d++) {
      if (!(o[d * n + g] > 0)) continue;
      const D = dt[d];
      if (D.h !== G.h || D.w !== G.w) {
        o[d * n + g] = -1;
        continue;
      }
      const A = D.cnts;
      let ca = A.length > 0 ? A[0] : 0;
      let cb = B.length > 0 ? B[0] : 0;
      let va = 0;
      let vb = 0;
      let a = 1;
      let b = 1;
      let inter = 0;
      let union = 0;
      let ct = 1;
      while (ct > 0) {
        const c = ca < cb ? ca : cb;
        if (va || vb) {
          union += c;
          if (va && vb) inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && a < A.length) {
          ca = A[a++];
          va ^= 1;
        }
        ct += ca;
        cb -= c;
        if (!cb && b < B.length) {
          cb = B[b++];
          vb ^= 1;
        }
        ct += cb;
      }
      if (inter === 0) union = 1;
      else if (iscrowd[g]) union = rleArea(D);
      o[d * n + g] = inter / union;
    }
  }
  return o;
}

/** C's `(int)x` on x86-64: truncation toward zero; NaN and out-of-range values become INT_MIN. */
function cInt(x: number): number {
  return x > -2147483649 && x < 2147483648 ? Math.trunc(x) | 0 : INT_MIN;
}

/** Scaled x of boundary point t of an edge (maskApi.c `u[m]`): exact on flat edges, rounded on steep ones. */
function walkU(flat: boolean, xs: number, s: number, t: number): number {
  return flat ? xs + t : cInt(xs + s * t + 0.5);
}

/** Scaled y of boundary point t of an edge (maskApi.c `v[m]`). */
function walkV(flat: boolean, ys: number, s: number, t: number): number {
  return flat ? cInt(ys + s * t + 0.5) : ys + t;
}

/** The column-boundary crossings of rleFrPoly, as pixel indices `x*h + y`. */
class Crossings extends U32List {
  constructor(
    readonly h: number,
    readonly w: number,
  ) {
    super();
  }

  /** maskApi.c's test on one boundary step from (ua, va) to (ub, vb), walk order, scaled coordinates. */
  visit(ua: number, va: number, ub: number, vb: number): void {
    if (ub === ua) return;
    let xd = ub < ua ? ub : ub - 1;
    xd = (xd + 0.5) / 5 - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > this.w - 1) return;
    let yd = vb < va ? vb : va;
    yd = (yd + 0.5) / 5 - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > this.h) yd = this.h;
    yd = Math.ceil(yd);
    this.push(xd * this.h + yd);
  }
}

/**
 * Writes `src[0..n)` sorted ascending into `out`. Crossings are pixel indices
 * x*h + y with y <= h, a few per column: a counting sort on v / h (the
 * column) plus insertion within columns is linear, where a comparison sort is
 * not. For few crossings in a very wide image the native sort is cheaper.
 */
function sortCrossings(src: Uint32Array, n: number, h: number, w: number, out: Uint32Array): void {
  if (w > 4 * n + 64) {
    out.set(src.subarray(0, n));
    out.subarray(0, n).sort();
    return;
  }
  const start = new Int32Array(w + 2);
  for (let i = 0; i < n; i++) start[Math.floor(src[i] / h) + 1]++;
  for (let b = 1; b <= w + 1; b++) start[b] += start[b - 1];
  for (let i = 0; i < n; i++) {
    const v = src[i];
    const b = Math.floor(v / h);
    let j = start[b]++;
    // insertion among the column's values so far; slots before the column hold
    // smaller values or unfilled zeros, so the scan stops at its start
    while (j > 0 && out[j - 1] > v) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = v;
  }
}

/**
 * Rasterises one polygon `[x0, y0, x1, y1, ...]` exactly like maskApi.c
 * `rleFrPoly`: vertices scaled by 5 and rounded with `(int)(5*x + .5)`
 * (truncation toward zero), edges walked point by point, x-crossings kept at
 * pixel centres (y clipped to [0, h]), filled by crossing parity. An odd
 * trailing coordinate is ignored; fewer than one vertex, or h or w zero,
 * gives an empty mask. Coordinates must be finite with |5x| < 2^30.
 *
 * The C code stores every boundary point; this walk visits only the steps
 * that straddle a pixel centre inside the image (binary search along steep
 * edges), so huge coordinates cost time in the image width, not the edge length.
 */
export function rleFrPoly(xy: ArrayLike<number>, h: number, w: number): Rle {
  checkSize(h, w, 'rleFrPoly');
  const k = Math.floor(xy.length / 2);
  const X = new Int32Array(k + 1);
  const Y = new Int32Array(k + 1);
  for (let j = 0; j < 2 * k; j++) {
    const s = 5 * xy[j] + 0.5;
    if (!(Math.abs(s) < MAX_SCALED_COORD)) {
      throw new ValueError(`rleFrPoly: coordinate xy[${j}] = ${xy[j]} must be finite with |5*v + .5| < 2^30`);
    }
    if (j & 1) Y[j >> 1] = Math.trunc(s);
    else X[j >> 1] = Math.trunc(s);
  }
  if (k === 0 || h === 0 || w === 0) return { h, w, cnts: Uint32Array.of(h * w) };
  X[k] = X[0];
  Y[k] = Y[0];

  const cross = new Crossings(h, w);
  let pu = 0;
  let pv = 0;
  for (let j = 0; j < k; j++) {
    let xs = X[j];
    let xe = X[j + 1];
    let ys = Y[j];
    let ye = Y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flat = dx >= dy;
    const flip = (flat && xs > xe) || (!flat && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const n = flat ? dx : dy;
    // 0/0 = NaN on a zero-length edge, as in C
    const s = flat ? (ye - ys) / dx : (xe - xs) / dy;
    // the C walk runs d = 0..n with t = flip ? n - d : d
    const t0 = flip ? n : 0;
    if (j > 0) cross.visit(pu, pv, walkU(flat, xs, s, t0), walkV(flat, ys, s, t0));
    const u0 = walkU(flat, xs, s, 0);
    const un = walkU(flat, xs, s, n);
    if (un !== u0) {
      // U is monotone in t. A step can only yield a crossing at a pixel centre
      // q = 5x + 2 (0 <= x < w) that it straddles (q between its two U values,
      // upper one excluded), so find, for each such q inside the edge's range,
      // the step straddling it: directly on flat edges (U = xs + t), by binary
      // search on steep ones; visit() then applies the C rule to that step.
      const dir = un > u0 ? 1 : -1;
      const lo = Math.max(2, Math.min(u0, un));
      const hi = Math.min(5 * w - 3, Math.max(u0, un) - 1);
      for (let q = lo + ((((2 - lo) % 5) + 5) % 5); q <= hi; q += 5) {
        let t1: number;
        if (flat) t1 = q + 1 - xs;
        else {
          // first t with dir*U(t) >= c: U(t) > q when increasing, U(t) <= q when decreasing
          const c = dir > 0 ? q + 1 : -q;
          let a = 1;
          let b = n;
          while (a < b) {
            const mid = (a + b) >>> 1;
            if (dir * cInt(xs + s * mid + 0.5) >= c) b = mid;
            else a = mid + 1;
          }
          t1 = a;
        }
        const ta = flip ? t1 : t1 - 1;
        const tb = flip ? t1 - 1 : t1;
        cross.visit(walkU(flat, xs, s, ta), walkV(flat, ys, s, ta), walkU(flat, xs, s, tb), walkV(flat, ys, s, tb));
      }
    }
    const tn = flip ? 0 : n;
    pu = walkU(flat, xs, s, tn);
    pv = walkV(flat, ys, s, tn);
  }

  const nc = cross.n;
  const a = new Uint32Array(nc + 1);
  sortCrossings(cross.data, nc, h, w, a);
  a[nc] = h * w;
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= p;
    p = t;
  }
  // a zero step means two crossings at one pixel: they cancel, so the runs around them join
  const b = new Uint32Array(a.length);
  let m = 0;
  let j = 0;
  b[m++] = a[j++];
  while (j < a.length) {
    if (a[j] > 0) b[m++] = a[j++];
    else {
      j++;
      if (j < a.length) b[m - 1] += a[j++];
    }
  }
  return { h, w, cnts: b.slice(0, m) };
}

/** Rasterises a box `[x, y, w, h]` as the polygon (x,y),(x,y+h),(x+w,y+h),(x+w,y) (maskApi.c `rleFrBbox`). */
export function rleFrBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  if (bb.length !== 4) throw new ShapeError(`rleFrBbox: a box has 4 numbers [x, y, w, h], got ${bb.length}`);
  const xs = bb[0];
  const ys = bb[1];
  const xe = xs + bb[2];
  const ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/**
 * The compressed counts string (maskApi.c `rleToString`): each count (from the
 * fourth on, its difference to the count two before) in 5-bit groups, low
 * first, as chars 48 + group (+32 when more groups follow), sign in bit 0x10 of the last.
 */
export function rleToString(R: Rle): string {
  const c = R.cnts;
  const chars: number[] = [];
  for (let i = 0; i < c.length; i++) {
    let x = c[i];
    if (i > 2) x -= c[i - 2];
    let more = true;
    while (more) {
      const q = Math.floor(x / 32);
      let g = x - q * 32;
      x = q;
      more = g & 0x10 ? x !== -1 : x !== 0;
      if (more) g |= 0x20;
      chars.push(g + 48);
    }
  }
  let s = '';
  for (let i = 0; i < chars.length; i += 8192) s += String.fromCharCode.apply(null, chars.slice(i, i + 8192));
  return s;
}

/**
 * Parses a compressed counts string (maskApi.c `rleFrString`). Characters
 * outside '0'..'o', a number cut short, or one longer than 7 groups (beyond
 * what `rleToString` writes) raise a ValueError; the C code would read past
 * the string or shift out of range. Counts are kept modulo 2^32 like the C
 * uint32 array; their sum is checked later by the functions that need it.
 */
export function rleFrString(s: string, h: number, w: number): Rle {
  if (typeof s !== 'string') throw new ValueError(`rleFrString: counts must be a string, got ${typeof s}`);
  checkSize(h, w, 'rleFrString');
  const cnts = new Uint32Array(s.length);
  let m = 0;
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new ValueError(`rleFrString: counts string ends inside a number (at char ${p})`);
      if (k === 7) throw new ValueError(`rleFrString: number at char ${p - k} has more than 7 groups`);
      const code = s.charCodeAt(p);
      if (code < 48 || code > 111) {
        throw new ValueError(`rleFrString: invalid char ${JSON.stringify(s[p])} at ${p}; counts use '0'..'o'`);
      }
      const c = code - 48;
      x += (c & 0x1f) * 32 ** k;
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 32 ** k;
    }
    if (m > 2) x += cnts[m - 2];
    cnts[m++] = ((x % TWO32) + TWO32) % TWO32;
  }
  return { h, w, cnts: cnts.slice(0, m) };
}

// ---------------------------------------------------------------------------
// Python-level API (pycocotools.mask)

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function readSize(obj: Record<string, unknown>, name: string): [number, number] {
  const size = obj.size;
  if (!Array.isArray(size) || size.length !== 2) {
    throw new ValueError(`${name}: 'size' must be [height, width], got ${JSON.stringify(size)}`);
  }
  const [h, w] = size as number[];
  checkSize(h, w, name);
  return [h, w];
}

/** Parses a compressed {@link RLE} object into an {@link Rle} (pycocotools `_frString`). */
export function rleFromObject(rle: RLE, name = 'rle'): Rle {
  if (!isObject(rle)) throw new ValueError(`${name}: expected an RLE object {size, counts}, got ${rle === null ? 'null' : typeof rle}`);
  const [h, w] = readSize(rle as unknown as Record<string, unknown>, name);
  if (typeof rle.counts !== 'string') {
    throw new ValueError(
      `${name}: 'counts' must be a compressed string; convert uncompressed counts (number[]) with frPyObjects(rle, h, w)`,
    );
  }
  return rleFrString(rle.counts, h, w);
}

/** Serialises an {@link Rle} into a compressed {@link RLE} object (pycocotools `_toString`). */
export function rleToObject(R: Rle): RLE {
  return { size: [R.h, R.w], counts: rleToString(R) };
}

function rlesFromList(rles: readonly RLE[], name: string): Rle[] {
  if (!Array.isArray(rles)) throw new ValueError(`${name}: expected a list of RLE objects`);
  return rles.map((r, i) => rleFromObject(r, `${name}[${i}]`));
}

/** Run lengths of a Tensor mask [H, W] (`k` = -1) or of mask k of [H, W, N], whatever its strides. */
function encodeTensorMask(t: Tensor, k: number): Rle {
  const [h, w] = t.shape;
  const off = t.offset + (k >= 0 ? k * t.strides[2] : 0);
  return { h, w, cnts: encodeStrided(t.data, off, h, w, t.strides[0], t.strides[1]) };
}

function checkColumnMajor(m: ColumnMajorMask, name: string): void {
  if (!isObject(m) || m.data == null || typeof m.data.length !== 'number') {
    throw new ValueError(`${name}: expected {data, height, width}`);
  }
  checkSize(m.height, m.width, name);
  if (m.data.length !== m.height * m.width) {
    throw new ShapeError(`${name}: data has ${m.data.length} elements, expected height*width = ${m.height * m.width}`);
  }
}

/**
 * Encodes binary masks (pycocotools `mask.encode`).
 *
 * - a {@link Tensor} (uint8 or bool) of shape [H, W] gives one RLE, [H, W, N]
 *   a list; any strides work, since the tensor says its own layout
 *   (a row-major tensor is read correctly, no transposing needed);
 * - a {@link ColumnMajorMask} `{data, height, width}` (column-major!) gives one
 *   RLE, a list of them a list. For row-major data use {@link binaryMaskToRle}.
 *
 * Non-zero values are foreground.
 */
export function encode(mask: ColumnMajorMask): RLE;
export function encode(masks: readonly ColumnMajorMask[]): RLE[];
export function encode(mask: Tensor): RLE | RLE[];
export function encode(mask: Tensor | ColumnMajorMask | readonly ColumnMajorMask[]): RLE | RLE[] {
  if (mask instanceof Tensor) {
    if (mask.dtype !== 'uint8' && mask.dtype !== 'bool') {
      throw new DTypeError(`encode: mask must be uint8 or bool, got ${mask.dtype}`);
    }
    if (mask.ndim !== 2 && mask.ndim !== 3) {
      throw new ShapeError(`encode: mask must be [H, W] or [H, W, N], got [${mask.shape.join(', ')}]`);
    }
    checkSize(mask.shape[0], mask.shape[1], 'encode');
    if (mask.ndim === 2) return rleToObject(encodeTensorMask(mask, -1));
    const out: RLE[] = [];
    for (let k = 0; k < mask.shape[2]; k++) out.push(rleToObject(encodeTensorMask(mask, k)));
    return out;
  }
  if (Array.isArray(mask)) {
    return mask.map((m, i) => {
      checkColumnMajor(m, `encode: masks[${i}]`);
      return rleToObject(rleEncode(m.data, m.height, m.width));
    });
  }
  const m = mask as ColumnMajorMask;
  checkColumnMajor(m, 'encode');
  return rleToObject(rleEncode(m.data, m.height, m.width));
}

/**
 * Decodes RLEs (pycocotools `mask.decode`): one RLE gives a uint8 Tensor
 * [H, W], a list gives [H, W, N] (all of one size). Like numpy's result the
 * tensor is Fortran-ordered (strides [1, H(, H*W)]): index it by [y, x], or
 * call `.contiguous()` for row-major `data`.
 */
export function decode(rle: RLE): Tensor;
export function decode(rles: readonly RLE[]): Tensor;
export function decode(rles: RLE | readonly RLE[]): Tensor {
  if (!Array.isArray(rles)) {
    const R = rleFromObject(rles as RLE);
    return new Tensor(rleDecode(R), [R.h, R.w], 'uint8', [1, R.h]);
  }
  const Rs = rlesFromList(rles, 'decode: rles');
  if (Rs.length === 0) throw new ValueError('decode: rles is empty');
  const { h, w } = Rs[0];
  const a = h * w;
  if (a * Rs.length > MAX_DECODE_PIXELS) {
    throw new ValueError(`decode: ${Rs.length} masks of [${h}, ${w}] exceed the ${MAX_DECODE_PIXELS}-pixel decode limit`);
  }
  const out = new Uint8Array(a * Rs.length);
  Rs.forEach((R, i) => {
    if (R.h !== h || R.w !== w) throw new ValueError(`decode: rles[${i}] has size [${R.h}, ${R.w}], rles[0] [${h}, ${w}]`);
    out.set(rleDecode(R), i * a);
  });
  return new Tensor(out, [h, w, Rs.length], 'uint8', [1, h, a]);
}

/** Foreground areas (pycocotools `mask.area`; uint32 like the C code). */
export function area(rle: RLE): number;
export function area(rles: readonly RLE[]): number[];
export function area(rles: RLE | readonly RLE[]): number | number[] {
  if (Array.isArray(rles)) return rlesFromList(rles, 'area: rles').map(rleArea);
  return rleArea(rleFromObject(rles as RLE));
}

/** Bounding boxes `[x, y, w, h]` (pycocotools `mask.toBbox`). */
export function toBbox(rle: RLE): Bbox;
export function toBbox(rles: readonly RLE[]): Bbox[];
export function toBbox(rles: RLE | readonly RLE[]): Bbox | Bbox[] {
  if (Array.isArray(rles)) return rlesFromList(rles, 'toBbox: rles').map(rleToBbox);
  return rleToBbox(rleFromObject(rles as RLE));
}

/** Union, or intersection when `intersect` is truthy, of RLEs (pycocotools `mask.merge`); see {@link rleMerge}. */
export function merge(rles: readonly RLE[], intersect: boolean | number = false): RLE {
  return rleToObject(rleMerge(rlesFromList(rles, 'merge: rles'), !!intersect));
}

/** Boxes for {@link iou}: a list of `[x, y, w, h]`, or a flat Float64Array of n*4 numbers. */
export type BoxList = readonly (readonly number[] | Float64Array)[] | Float64Array;

type IouOperand = { kind: 'empty' } | { kind: 'rle'; rles: Rle[] } | { kind: 'box'; boxes: Float64Array; n: number };

function iouOperand(objs: readonly RLE[] | BoxList, name: string): IouOperand {
  if (objs instanceof Float64Array) {
    if (objs.length % 4 !== 0) throw new ShapeError(`iou: ${name} boxes must be n*4 numbers, got ${objs.length}`);
    return objs.length === 0 ? { kind: 'empty' } : { kind: 'box', boxes: objs, n: objs.length / 4 };
  }
  if (!Array.isArray(objs)) {
    throw new ValueError(`iou: ${name} must be a list of RLEs, a list of [x, y, w, h] boxes or a Float64Array of boxes`);
  }
  if (objs.length === 0) return { kind: 'empty' };
  const isBox = (o: unknown): boolean => (Array.isArray(o) || o instanceof Float64Array) && o.length === 4;
  if (objs.every(isBox)) {
    const boxes = new Float64Array(4 * objs.length);
    objs.forEach((b, i) => boxes.set(b as ArrayLike<number>, 4 * i));
    return { kind: 'box', boxes, n: objs.length };
  }
  if (objs.every((o) => isObject(o) && !Array.isArray(o))) {
    return { kind: 'rle', rles: rlesFromList(objs as RLE[], `iou: ${name}`) };
  }
  throw new ValueError(`iou: ${name} list can be bounding boxes (Nx4) or RLEs, not a mix`);
}

/**
 * IoU between detections and ground truth (pycocotools `mask.iou`): both RLE
 * lists ({@link rleIou}) or both box lists ({@link bbIou}). Returns
 * `dt.length` rows of `gt.length` values, or `[]` when either is empty.
 * `iscrowd` has one flag per gt.
 */
export function iou(dt: readonly RLE[] | BoxList, gt: readonly RLE[] | BoxList, iscrowd: ArrayLike<number | boolean>): number[][] {
  const D = iouOperand(dt, 'dt');
  const G = iouOperand(gt, 'gt');
  if (D.kind === 'empty' || G.kind === 'empty') return [];
  let o: Float64Array;
  let m: number;
  let n: number;
  if (D.kind === 'rle' && G.kind === 'rle') {
    [m, n] = [D.rles.length, G.rles.length];
    o = rleIou(D.rles, G.rles, iscrowd);
  } else if (D.kind === 'box' && G.kind === 'box') {
    [m, n] = [D.n, G.n];
    o = bbIou(D.boxes, G.boxes, iscrowd);
  } else {
    throw new ValueError('iou: dt and gt should have the same data type, either RLEs or boxes');
  }
  const rows: number[][] = [];
  for (let d = 0; d < m; d++) rows.push(Array.from(o.subarray(d * n, (d + 1) * n)));
  return rows;
}

function checkImageSize(h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) {
    throw new ValueError(`frPyObjects: h and w must be non-negative integers, got h=${h}, w=${w}`);
  }
}

function frUncompressed(obj: Record<string, unknown>, name: string): RLE {
  const size = readSize(obj, name);
  const counts = obj.counts;
  if (typeof counts === 'string') {
    throw new ValueError(`${name}: counts is already a compressed string; use {size, counts} as an RLE directly`);
  }
  if (!Array.isArray(counts)) throw new ValueError(`${name}: 'counts' must be a list of run lengths`);
  const cnts = new Uint32Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!Number.isInteger(c) || c < 0 || c > MAX_PIXELS) {
      throw new ValueError(`${name}: counts[${i}] = ${c} is not a run length (integer in [0, 2^32))`);
    }
    cnts[i] = c;
  }
  return rleToObject({ h: size[0], w: size[1], cnts });
}

function isUncompressedLike(o: unknown): o is Record<string, unknown> {
  return isObject(o) && !Array.isArray(o) && !ArrayBuffer.isView(o) && 'counts' in o && 'size' in o;
}

/**
 * Converts annotation geometry to RLEs (pycocotools `mask.frPyObjects`),
 * dispatching like pycocotools on the first element:
 *
 * - list whose first item has 4 numbers, or a Float64Array of n*4: boxes
 *   `[x, y, w, h]`, one RLE each, rasterised as polygons (pycocotools wants a
 *   numpy array here; plain arrays are accepted);
 * - list whose first item has more than 4 numbers: polygons `[x0, y0, x1, ...]`,
 *   one RLE each (merge them for an object's mask);
 * - list of `{size, counts: number[]}`: uncompressed RLEs, one RLE each;
 * - one `{size, counts: number[]}`: one RLE.
 *
 * For uncompressed RLE `h` and `w` are ignored (its own `size` is used) and
 * counts are kept as given, zero-length runs included.
 */
export function frPyObjects(obj: UncompressedRLE, h: number, w: number): RLE;
export function frPyObjects(obj: readonly (readonly number[])[] | Float64Array | readonly UncompressedRLE[], h: number, w: number): RLE[];
export function frPyObjects(obj: unknown, h: number, w: number): RLE | RLE[] {
  if (obj instanceof Float64Array) {
    checkImageSize(h, w);
    if (obj.length % 4 !== 0) throw new ShapeError(`frPyObjects: boxes must be n*4 numbers, got ${obj.length}`);
    const out: RLE[] = [];
    for (let i = 0; i < obj.length; i += 4) out.push(rleToObject(rleFrBbox(obj.subarray(i, i + 4), h, w)));
    return out;
  }
  if (Array.isArray(obj)) {
    if (obj.length === 0) throw new ValueError('frPyObjects: empty list (pycocotools raises IndexError)');
    const first: unknown = obj[0];
    if (Array.isArray(first) || ArrayBuffer.isView(first)) {
      checkImageSize(h, w);
      const len = (first as ArrayLike<number>).length;
      if (len === 4) {
        return obj.map((b, i) => {
          if (!(Array.isArray(b) || ArrayBuffer.isView(b)) || (b as ArrayLike<number>).length !== 4) {
            throw new ShapeError(`frPyObjects: boxes[${i}] is not [x, y, w, h] (boxes must be Nx4)`);
          }
          return rleToObject(rleFrBbox(b as ArrayLike<number>, h, w));
        });
      }
      if (len > 4) {
        return obj.map((p, i) => {
          if (!(Array.isArray(p) || ArrayBuffer.isView(p))) throw new ValueError(`frPyObjects: polygons[${i}] is not a list of coordinates`);
          return rleToObject(rleFrPoly(p as ArrayLike<number>, h, w));
        });
      }
      throw new ValueError(`frPyObjects: first item has ${len} numbers; boxes have 4, polygons more than 4`);
    }
    if (isUncompressedLike(first)) {
      return obj.map((r, i) => {
        if (!isUncompressedLike(r)) throw new ValueError(`frPyObjects: item ${i} is not an uncompressed RLE {size, counts}`);
        return frUncompressed(r, `frPyObjects: obj[${i}]`);
      });
    }
    throw new ValueError('frPyObjects: input type is not supported (expected polygons, boxes or uncompressed RLEs)');
  }
  if (isUncompressedLike(obj)) return frUncompressed(obj, 'frPyObjects');
  throw new ValueError('frPyObjects: input type is not supported (expected polygons, boxes or uncompressed RLEs)');
}

// ---------------------------------------------------------------------------
// Layout helpers for JS data (row-major, like ImageData and canvas)

/** Transposes a row-major h x w mask (`data[y*w + x]`) to column-major (`out[y + x*h]`). */
export function rowMajorToColumnMajor(data: ArrayLike<number>, h: number, w: number): Uint8Array {
  checkSize(h, w, 'rowMajorToColumnMajor');
  if (data.length !== h * w) throw new ShapeError(`rowMajorToColumnMajor: data has ${data.length} elements, expected h*w = ${h * w}`);
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y + x * h] = data[y * w + x];
  return out;
}

/** Transposes a column-major h x w mask (`data[y + x*h]`, pycocotools' layout) to row-major (`out[y*w + x]`). */
export function columnMajorToRowMajor(data: ArrayLike<number>, h: number, w: number): Uint8Array {
  checkSize(h, w, 'columnMajorToRowMajor');
  if (data.length !== h * w) throw new ShapeError(`columnMajorToRowMajor: data has ${data.length} elements, expected h*w = ${h * w}`);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = data[y + x * h];
  return out;
}

/** Encodes a **row-major** h x w mask (`mask[y*w + x]`, non-zero = foreground) without copying it. */
export function binaryMaskToRle(mask: ArrayLike<number>, h: number, w: number): RLE {
  checkSize(h, w, 'binaryMaskToRle');
  if (mask.length !== h * w) throw new ShapeError(`binaryMaskToRle: mask has ${mask.length} elements, expected h*w = ${h * w}`);
  return rleToObject({ h, w, cnts: encodeStrided(mask, 0, h, w, w, 1) });
}

/** RGBA pixels as in a canvas `ImageData`: row-major, 4 bytes per pixel. */
export interface ImageDataLike {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/**
 * A binary mask from RGBA pixels: foreground where `data[4*p + channel] > threshold`.
 * Defaults read alpha (`channel` 3, `threshold` 0), for shapes painted on a
 * transparent canvas; for an opaque black/white mask image use `{ channel: 0, threshold: 127 }`.
 * Returns a row-major uint8 Tensor [H, W], which {@link encode} reads correctly.
 */
export function maskFromImageData(img: ImageDataLike, opts: { channel?: number; threshold?: number } = {}): Tensor {
  const { channel = 3, threshold = 0 } = opts;
  if (!Number.isInteger(channel) || channel < 0 || channel > 3) throw new ValueError(`maskFromImageData: channel must be 0..3, got ${channel}`);
  if (!isObject(img) || img.data == null) throw new ValueError('maskFromImageData: expected {data, width, height}');
  checkSize(img.height, img.width, 'maskFromImageData');
  const n = img.width * img.height;
  if (img.data.length !== 4 * n) {
    throw new ShapeError(`maskFromImageData: data has ${img.data.length} bytes, expected 4*width*height = ${4 * n}`);
  }
  const out = new Uint8Array(n);
  const d = img.data;
  for (let p = 0; p < n; p++) out[p] = d[4 * p + channel] > threshold ? 1 : 0;
  return new Tensor(out, [img.height, img.width], 'uint8');
}

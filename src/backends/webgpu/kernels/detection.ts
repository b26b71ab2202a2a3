/**
 * Detection ops on the GPU: roiAlign and roiPool (per-roi geometry from the CPU
 * op's exported helpers, sampling on the device), and the IoU suppression mask
 * of NMS (torchvision's CUDA scheme: 32-box blocks, one bit per pair; the greedy
 * pass over the mask runs on the CPU in {@link NmsMaskScan}).
 */
import { NmsMaskScan, nmsSortOrder, resolveNms } from '../../../ops/nms';
import { resolveRoiAlign, resolveRoiPool, roiAlignGeometry, roiPoolWindows, type RoiAlignOptions, type RoiBoxes, type RoiPoolOptions } from '../../../ops/roi';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, unitsPerChunk } from '../program';
import { GPUTensor } from '../tensor';

/** Boxes for the RoI ops: as the CPU op takes them, or a `[K, 5]` GPU tensor (read back: the geometry is built on the CPU). */
export type GPURoiBoxes = RoiBoxes | GPUTensor;

async function cpuBoxes(boxes: GPURoiBoxes): Promise<RoiBoxes> {
  return boxes instanceof GPUTensor ? boxes.read() : boxes;
}

// C is the channel stride of the feature map and the output, CB the channels of the bound block; the
// binding X starts at channel c0 of image img0 and holds images [img0, img0 + nImg); the table T and Y start at roi k0.
const roiParams = params({
  C: 'u32', CB: 'u32', H: 'u32', W: 'u32', PH: 'u32', PW: 'u32', k0: 'u32', img0: 'u32', nImg: 'u32', total: 'u32',
  xShift: 'u32', yShift: 'u32', tShift: 'u32',
});

const HEAD = `${FLAT_MAIN}
  let bins = p.PH * p.PW;
  let bin = e % bins;
  let ph = bin / p.PW;
  let pw = bin % p.PW;
  let c = (e / bins) % p.CB;
  let k = p.k0 + e / (bins * p.CB);`;

/**
 * torchvision's roi_align forward: bin (ph, pw) of roi k averages grid_h x
 * grid_w bilinear samples; samples beyond [-1, size] count but add nothing,
 * ones in [-1, 0] read the first row/column, ones past size-1 the last.
 * Geo rows: (batch, startY, binH, gridH, startX, binW, gridW, unused).
 */
const alignShader = `${roiParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Geo: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${FLAT_MAIN}
  // One thread per (roi, bin, 4 channels): the sample geometry is computed once for four channels.
  let bins = p.PH * p.PW;
  let quads = (p.CB + 3u) / 4u;
  let bin = e % bins;
  let ph = bin / p.PW;
  let pw = bin % p.PW;
  let c0 = ((e / bins) % quads) * 4u;
  let k = p.k0 + e / (bins * quads);
  let g = p.tShift + 8u * (k - p.k0);
  let img = u32(Geo[g]);
  if (img < p.img0 || img >= p.img0 + p.nImg) { return; }
  let plane = p.H * p.W;
  let base = p.xShift + ((img - p.img0) * p.C + c0) * plane;
  // Channels past the block read channel c0 again; their sums are not written.
  let off = vec4u(0u, select(0u, plane, c0 + 1u < p.CB), select(0u, 2u * plane, c0 + 2u < p.CB), select(0u, 3u * plane, c0 + 3u < p.CB));
  let gh = i32(Geo[g + 3u]);
  let gw = i32(Geo[g + 6u]);
  let binH = Geo[g + 2u];
  let binW = Geo[g + 5u];
  let oy = Geo[g + 1u] + f32(ph) * binH;
  let ox = Geo[g + 4u] + f32(pw) * binW;
  let fgh = f32(gh);
  let fgw = f32(gw);
  let fH = f32(p.H);
  let fW = f32(p.W);
  var sum = vec4f(0.0);
  for (var iy = 0; iy < gh; iy++) {
    var y = oy + (f32(iy) + 0.5) * binH / fgh;
    if (y < -1.0 || y > fH) { continue; }
    y = max(y, 0.0);
    var y0 = u32(y);
    var y1 = y0 + 1u;
    if (y0 >= p.H - 1u) { y0 = p.H - 1u; y1 = y0; y = f32(y0); }
    let ly = y - f32(y0);
    let hy = 1.0 - ly;
    for (var ix = 0; ix < gw; ix++) {
      var x = ox + (f32(ix) + 0.5) * binW / fgw;
      if (x < -1.0 || x > fW) { continue; }
      x = max(x, 0.0);
      var x0 = u32(x);
      var x1 = x0 + 1u;
      if (x0 >= p.W - 1u) { x0 = p.W - 1u; x1 = x0; x = f32(x0); }
      let lx = x - f32(x0);
      let hx = 1.0 - lx;
      let a = base + y0 * p.W + x0;
      let b = base + y0 * p.W + x1;
      let c = base + y1 * p.W + x0;
      let d = base + y1 * p.W + x1;
      let va = vec4f(X[a + off.x], X[a + off.y], X[a + off.z], X[a + off.w]);
      let vb = vec4f(X[b + off.x], X[b + off.y], X[b + off.z], X[b + off.w]);
      let vc = vec4f(X[c + off.x], X[c + off.y], X[c + off.z], X[c + off.w]);
      let vd = vec4f(X[d + off.x], X[d + off.y], X[d + off.z], X[d + off.w]);
      sum += hy * hx * va + hy * lx * vb + ly * hx * vc + ly * lx * vd;
    }
  }
  let mean = sum / f32(max(gh * gw, 1));
  let o = p.yShift + ((k - p.k0) * p.C + c0) * bins + bin;
  Y[o] = mean.x;
  if (c0 + 1u < p.CB) { Y[o + bins] = mean.y; }
  if (c0 + 2u < p.CB) { Y[o + 2u * bins] = mean.z; }
  if (c0 + 3u < p.CB) { Y[o + 3u * bins] = mean.w; }
}
`;

/** torchvision's roi_pool: max over the bin's window, 0 for an empty one. Win rows: (batch, hs, he, ws, we) per bin, stride 5. */
const poolShader = `${roiParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Win: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${HEAD}
  let wi = p.tShift + 5u * ((k - p.k0) * bins + bin);
  let img = u32(Win[wi]);
  if (img < p.img0 || img >= p.img0 + p.nImg) { return; }
  let base = p.xShift + ((img - p.img0) * p.C + c) * p.H * p.W;
  let hs = Win[wi + 1u];
  let he = Win[wi + 2u];
  let ws = Win[wi + 3u];
  let we = Win[wi + 4u];
  var m = 0.0;
  if (he > hs && we > ws) {
    m = X[base + u32(hs) * p.W + u32(ws)];
    for (var h = hs; h < he; h++) {
      for (var w = ws; w < we; w++) { m = max(m, X[base + u32(h) * p.W + u32(w)]); }
    }
  }
  Y[p.yShift + ((k - p.k0) * p.C + c) * bins + bin] = m;
}
`;

/**
 * Binds as much of the feature map as fits: all of it, whole images, or a
 * block of channels of one image (rois of other images skip the dispatch);
 * outputs and the roi table split over rois.
 */
async function runRoi(
  b: WebGPUBackend,
  op: string,
  code: string,
  /** Channels one thread handles (its dispatch covers ceil(C / lanes) channel groups). */
  lanes: number,
  x: GPUInput,
  /** Per-roi rows of `stride` elements (geometry or windows). */
  table: Tensor,
  stride: number,
  plan: {
    batch: number; channels: number; height: number; width: number; numRois: number; pooledHeight: number; pooledWidth: number;
    batchIndex: Int32Array; outShape: readonly number[];
  },
): Promise<GPUTensor> {
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const { batch: N, channels: C, numRois: K } = plan;
    const bins = plan.pooledHeight * plan.pooledWidth;
    const plane = plan.height * plan.width;
    if (K * C * bins === 0) return out;
    const T = b.upload(table);
    temps.push(T);
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    const maxFloats = Math.floor(maxBytes / 4);
    const cb = unitsPerChunk(op, C, [plane * 4, bins * 4], maxBytes, "channel plane (or one roi's bins of a channel)");
    const ni = cb === C ? Math.max(1, Math.min(N, Math.floor(maxFloats / Math.max(1, C * plane)))) : 1;
    unitsPerChunk(op, 1, [stride * 4], maxBytes, 'roi table row');
    const kc = Math.min(K, 1 + Math.floor((maxFloats - cb * bins) / (C * bins)), Math.floor(maxFloats / stride));
    const list: Dispatch[] = [];
    for (let i0 = 0; i0 < N; i0 += ni) {
      const nic = Math.min(ni, N - i0);
      for (let c0 = 0; c0 < C; c0 += cb) {
        const cbc = Math.min(cb, C - c0);
        const xs = b.slice(X, (i0 * C + c0) * plane, ((nic - 1) * C + cbc) * plane);
        for (let k0 = 0; k0 < K; k0 += kc) {
          const kcc = Math.min(kc, K - k0);
          if (!plan.batchIndex.subarray(k0, k0 + kcc).some((i) => i >= i0 && i < i0 + nic)) continue;
          const ys = b.slice(out, (k0 * C + c0) * bins, ((kcc - 1) * C + cbc) * bins);
          const ts = b.slice(T, k0 * stride, kcc * stride);
          const threads = kcc * Math.ceil(cbc / lanes) * bins;
          list.push({
            code,
            uniforms: roiParams.pack({
              C, CB: cbc, H: plan.height, W: plan.width, PH: plan.pooledHeight, PW: plan.pooledWidth, k0, img0: i0, nImg: nic,
              total: threads, xShift: xs.shift, yShift: ys.shift, tShift: ts.shift,
            }),
            bindings: [xs.slice, ts.slice, ys.slice],
            workgroups: Math.ceil(threads / 256),
          });
        }
      }
    }
    await b.run(list);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** GPU {@link roiAlign}: `[K, C, ph, pw]`; sample geometry from {@link roiAlignGeometry}. */
export async function roiAlignGPU(b: WebGPUBackend, x: GPUInput, boxes: GPURoiBoxes, opts: RoiAlignOptions): Promise<GPUTensor> {
  const plan = resolveRoiAlign(x.shape, await cpuBoxes(boxes), opts, 'float32');
  const geo = new Float32Array(8 * plan.numRois);
  for (let k = 0; k < plan.numRois; k++) {
    const { y, x: gx } = roiAlignGeometry(plan, k, plan.samplingRatio, plan.aligned);
    geo.set([plan.batchIndex[k], y.start, y.binSize, y.grid, gx.start, gx.binSize, gx.grid], 8 * k);
  }
  return runRoi(b, 'roi_align', alignShader, 4, x, new Tensor(geo, [geo.length], 'float32'), 8, plan);
}

/** GPU {@link roiPool}: windows from {@link roiPoolWindows}. */
export async function roiPoolGPU(b: WebGPUBackend, x: GPUInput, boxes: GPURoiBoxes, opts: RoiPoolOptions): Promise<GPUTensor> {
  const plan = resolveRoiPool(x.shape, await cpuBoxes(boxes), opts, 'float32');
  const bins = plan.pooledHeight * plan.pooledWidth;
  const win = new Int32Array(4 * bins);
  const table = new Int32Array(5 * bins * plan.numRois);
  for (let k = 0; k < plan.numRois; k++) {
    roiPoolWindows(plan, k, false, win);
    for (let i = 0; i < bins; i++) table.set([plan.batchIndex[k], win[4 * i], win[4 * i + 1], win[4 * i + 2], win[4 * i + 3]], 5 * (k * bins + i));
  }
  return runRoi(b, 'roi_pool', poolShader, 1, x, new Tensor(table, [table.length], 'int32'), 5 * bins, plan);
}

// Dispatch: rows [row0, row0 + total / width) of the mask, against the boxes of 32-box column
// blocks [col0, col0 + width); mask rows are `stride` words apart. Gone holds the words of the
// suppressed-box bitmap from word goneWord on, as far as the chunk's rows reach.
const nmsParams = params({
  n: 'u32', row0: 'u32', col0: 'u32', width: 'u32', stride: 'u32', total: 'u32', thr: 'f32', goneWord: 'u32',
  rShift: 'u32', cShift: 'u32', mShift: 'u32',
});

/**
 * One thread per (row i, 32-column block): bit j of the word is set when box i
 * suppresses box j > i (IoU > threshold), with the CPU kernel's operation
 * order and min/max argument order. Boxes are in visiting (score) order. Rows
 * of boxes already suppressed are never read, so they are not computed.
 */
const nmsShader = `${nmsParams.wgsl}
@group(0) @binding(1) var<storage, read> R: array<vec4f>;
@group(0) @binding(2) var<storage, read> C: array<vec4f>;
@group(0) @binding(3) var<storage, read> Gone: array<u32>;
@group(0) @binding(4) var<storage, read_write> Mask: array<u32>;
${FLAT_MAIN}
  let r = e / p.width;
  let i = p.row0 + r;
  if (((Gone[(i >> 5u) - p.goneWord] >> (i & 31u)) & 1u) != 0u) { return; }
  let blk = p.col0 + e % p.width;
  let a = R[p.rShift + r];
  let areaA = (a.z - a.x) * (a.w - a.y);
  var bits = 0u;
  let j0 = max(blk * 32u, i + 1u);
  let j1 = min(blk * 32u + 32u, p.n);
  for (var j = j0; j < j1; j++) {
    let c = C[p.cShift + j - p.col0 * 32u];
    let w = max(select(a.z, c.z, c.z < a.z) - select(a.x, c.x, a.x < c.x), 0.0);
    let h = max(select(a.w, c.w, c.w < a.w) - select(a.y, c.y, a.y < c.y), 0.0);
    let inter = w * h;
    let areaC = (c.z - c.x) * (c.w - c.y);
    if (inter / (areaA + areaC - inter) > p.thr) { bits |= 1u << (j - blk * 32u); }
  }
  Mask[p.mShift + r * p.stride + e % p.width] = bits;
}
`;

/** Mask bytes read back at a time: bounds the memory NMS holds on either side. */
const NMS_CHUNK_BYTES = 16 * 2 ** 20;

/**
 * The largest float32 <= v, so that for every float32 IoU, `iou > v` and
 * `iou > floorToFloat32(v)` agree (the CPU compares float32 IoUs with the
 * double threshold).
 */
function floorToFloat32(v: number): number {
  const f = Math.fround(v);
  if (!(f > v)) return f;
  const bits = new Uint32Array(new Float32Array([f]).buffer);
  bits[0] = f > 0 ? bits[0] - 1 : f === 0 ? 0x80000001 : bits[0] + 1;
  return new Float32Array(bits.buffer)[0];
}

/**
 * GPU {@link nms}: the score sort and the greedy pass run on the CPU, the
 * O(N^2) IoU mask on the device. Returns the kept indices as a CPU int32
 * tensor (its length depends on the data). IoU is float32 with WGSL's
 * division (2.5 ulp), so a pair whose IoU lies within a few ulps of the
 * threshold may be decided differently from the CPU; float64 boxes are rounded,
 * and devices that flush denormals treat a threshold below 1.2e-38 in magnitude as 0.
 *
 * The mask is computed and read back in chunks of rows (at most a binding or
 * 16 MiB, or one row), each from its first row's column block on, and scanned
 * in row order ({@link NmsMaskScan}); a chunk starts at the next box not yet
 * suppressed, and rows suppressed by earlier chunks are skipped. Within a chunk,
 * dispatches bind the row boxes, the column boxes and the mask by ranges that fit.
 */
export async function nmsGPU(b: WebGPUBackend, boxes: GPUInput, scores: GPUInput, iouThreshold: number): Promise<Tensor> {
  const op = 'nms';
  const cpuB = boxes instanceof GPUTensor ? await boxes.read() : boxes;
  const cpuS = scores instanceof GPUTensor ? await scores.read() : scores;
  const plan = resolveNms(cpuB, cpuS, iouThreshold);
  const n = plan.numBoxes;
  if (n === 0) return new Tensor(new Int32Array(0), [0], 'int32');
  const order = nmsSortOrder(plan.scores.data as Float32Array | Float64Array);
  const src = plan.boxes.data;
  const sorted = new Float32Array(4 * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < 4; c++) sorted[4 * r + c] = src[4 * order[r] + c];
  const blocks = Math.ceil(n / 32);
  const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
  unitsPerChunk(op, 1, [32 * 16], maxBytes, 'column block of 32 boxes');
  const maxWords = Math.floor(maxBytes / 4);
  const chunkWords = Math.floor(Math.min(NMS_CHUNK_BYTES, maxBytes) / 4);
  const thr = floorToFloat32(plan.iouThreshold);
  const scan = new NmsMaskScan(order, blocks);
  const B = b.upload(new Tensor(sorted, [n, 4], 'float32'));
  try {
    for (let r0 = scan.next; r0 < n; r0 = scan.next) {
      const col0 = r0 >>> 5;
      const stride = blocks - col0;
      const rows = Math.min(n - r0, Math.max(1, Math.floor(chunkWords / stride)));
      // Column blocks whose boxes fit a binding; then as many rows as the row boxes and the mask range allow.
      const width = Math.min(stride, Math.floor(maxWords / 128));
      const band = Math.min(Math.floor(maxWords / 4), 1 + Math.floor((maxWords - width) / stride));
      const goneBits = new Int32Array(scan.removed.buffer, 4 * col0, ((r0 + rows - 1) >>> 5) + 1 - col0);
      const gone = b.upload(new Tensor(goneBits, [goneBits.length], 'int32'));
      const mask = b.empty([rows, stride], 'int32', op);
      try {
        const list: Dispatch[] = [];
        for (let ra = r0; ra < r0 + rows; ra += band) {
          const rc = Math.min(band, r0 + rows - ra);
          const rs = b.slice(B, 4 * ra, 4 * rc);
          for (let c0 = col0; c0 < blocks; c0 += width) {
            const wc = Math.min(width, blocks - c0);
            const cs = b.slice(B, 128 * c0, 4 * Math.min(n - 32 * c0, 32 * wc));
            const ms = b.slice(mask, (ra - r0) * stride + c0 - col0, (rc - 1) * stride + wc);
            list.push({
              code: nmsShader,
              uniforms: nmsParams.pack({
                n, row0: ra, col0: c0, width: wc, stride, total: rc * wc, thr, goneWord: col0, rShift: rs.shift / 4, cShift: cs.shift / 4, mShift: ms.shift,
              }),
              bindings: [rs.slice, cs.slice, b.slice(gone).slice, ms.slice],
              workgroups: Math.ceil((rc * wc) / 256),
            });
          }
        }
        await b.run(list);
        const bits = await mask.read();
        scan.scan(new Uint32Array(bits.data.buffer, bits.data.byteOffset, bits.numel), rows, stride, col0);
      } finally {
        gone.dispose();
        mask.dispose();
      }
    }
    return scan.result();
  } finally {
    B.dispose();
  }
}

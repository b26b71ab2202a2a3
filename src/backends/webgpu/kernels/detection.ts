/**
 * Detection ops on the GPU: roiAlign and roiPool (per-roi geometry from the CPU
 * op's exported helpers, sampling on the device), and the IoU suppression mask
 * of NMS (torchvision's CUDA scheme: 32-box blocks, one bit per pair; the greedy
 * pass over the mask runs on the CPU in {@link NmsMaskScan}).
 */
import { NmsMaskScan, nmsSortOrder, resolveNms } from '../../../ops/nms';
import { AxisWeights, resolveRoiAlign, resolveRoiPool, roiAlignSamples, roiPoolWindows, type RoiAlignOptions, type RoiBoxes, type RoiPoolOptions } from '../../../ops/roi';
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
// binding X starts at channel c0 of image img0 and holds images [img0, img0 + nImg); the table T and Y start
// at roi k0; roi_align's weight entries are bound from entry eBase on. X holds rows [rowLo, rowHi) of its
// planes: all of them, or a band of one plane too big for a binding, whose results combine with what the
// bands before it (`first` is 0) left in Y.
const roiParams = params({
  C: 'u32', CB: 'u32', H: 'u32', W: 'u32', PH: 'u32', PW: 'u32', k0: 'u32', img0: 'u32', nImg: 'u32', total: 'u32',
  xShift: 'u32', yShift: 'u32', tShift: 'u32', eBase: 'u32', eShift: 'u32', rowLo: 'u32', rowHi: 'u32', first: 'u32',
  // -inf, which WGSL cannot write as a constant.
  negInf: 'f32',
});

const HEAD = `${FLAT_MAIN}
  let bins = p.PH * p.PW;
  let bin = e % bins;
  let ph = bin / p.PW;
  let pw = bin % p.PW;
  let c = (e / bins) % p.CB;
  let k = p.k0 + e / (bins * p.CB);`;

/** Channels one roi_align thread handles: the weights it reads serve all of them. */
const ALIGN_LANES = 8;

/**
 * torchvision's roi_align forward: bin (ph, pw) of roi k averages grid_h x
 * grid_w bilinear samples. A bilinear weight is a y part times an x part, so
 * the bin's sum is `sum_r wy[r] * sum_c wx[c] * X[r, c]` over the rows and
 * columns its samples touch, each weight the sum over samples of what they
 * give it (the CPU op's {@link AxisWeights}: samples outside [-1, size] give
 * nothing, repeated rows are merged). A 2x2-sampled bin reads 2-3 rows and
 * columns instead of four taps for each of four samples.
 * Head rows (4 + PH + PW int32): batch, sample count (float bits), then the
 * entry ranges of each bin row and column: `[yStart[ph], yStart[ph + 1])`,
 * `[xStart[pw], xStart[pw + 1])`. Entries: (row or column, weight bits).
 * One thread per (roi, bin, {@link ALIGN_LANES} channels), as vec4 groups.
 */
function alignShader(): string {
  const groups = Array.from({ length: ALIGN_LANES / 4 }, (_, g) => g);
  const lanes = (g: number) => [0, 1, 2, 3].map((l) => 4 * g + l);
  // Channels past the block read channel c0 again; their sums are not written.
  const offsets = groups.map((g) => `let off${g} = vec4u(${lanes(g).map((c) => (c === 0 ? '0u' : `select(0u, ${c}u * plane, c0 + ${c}u < p.CB)`)).join(', ')});`);
  const loads = groups.map((g) => `acc${g} += wx * vec4f(${'xyzw'.split('').map((l) => `X[a + off${g}.${l}]`).join(', ')});`);
  const stores = groups.flatMap((g) =>
    lanes(g).map((c, l) => {
      const at = c === 0 ? 'o' : `o + ${c}u * bins`;
      const store = `Y[${at}] = select(Y[${at}], 0.0, p.first != 0u) + sum${g}.${'xyzw'[l]} / count;`;
      return c === 0 ? store : `if (c0 + ${c}u < p.CB) { ${store} }`;
    }),
  );
  const each = (f: (g: number) => string) => groups.map(f).join(' ');
  return `${roiParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Head: array<i32>;
@group(0) @binding(3) var<storage, read> E: array<vec2i>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${FLAT_MAIN}
  let bins = p.PH * p.PW;
  let runs = (p.CB + ${ALIGN_LANES - 1}u) / ${ALIGN_LANES}u;
  let bin = e % bins;
  let ph = bin / p.PW;
  let pw = bin % p.PW;
  let c0 = ((e / bins) % runs) * ${ALIGN_LANES}u;
  let k = p.k0 + e / (bins * runs);
  let h = p.tShift + (4u + p.PH + p.PW) * (k - p.k0);
  let img = u32(Head[h]);
  if (img < p.img0 || img >= p.img0 + p.nImg) { return; }
  let plane = (p.rowHi - p.rowLo) * p.W;
  let base = p.xShift + ((img - p.img0) * p.C + c0) * plane;
  ${offsets.join('\n  ')}
  let e0 = p.eShift - p.eBase;
  let y0 = u32(Head[h + 2u + ph]) + e0;
  let y1 = u32(Head[h + 3u + ph]) + e0;
  let x0 = u32(Head[h + 3u + p.PH + pw]) + e0;
  let x1 = u32(Head[h + 4u + p.PH + pw]) + e0;
  ${each((g) => `var sum${g} = vec4f(0.0);`)}
  for (var r = y0; r < y1; r++) {
    let ey = E[r];
    if (u32(ey.x) < p.rowLo || u32(ey.x) >= p.rowHi) { continue; }
    let row = base + (u32(ey.x) - p.rowLo) * p.W;
    ${each((g) => `var acc${g} = vec4f(0.0);`)}
    for (var c = x0; c < x1; c++) {
      let ex = E[c];
      let a = row + u32(ex.x);
      let wx = bitcast<f32>(ex.y);
      ${loads.join('\n      ')}
    }
    let wy = bitcast<f32>(ey.y);
    ${each((g) => `sum${g} += wy * acc${g};`)}
  }
  let count = bitcast<f32>(Head[h + 1u]);
  let o = p.yShift + ((k - p.k0) * p.C + c0) * bins + bin;
  ${stores.join('\n  ')}
}
`;
}

/** torchvision's roi_pool: max over the bin's window, 0 for an empty one. Win rows: (batch, hs, he, ws, we) per bin, stride 5. */
const poolShader = `${roiParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Win: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${HEAD}
  let wi = p.tShift + 5u * ((k - p.k0) * bins + bin);
  let img = u32(Win[wi]);
  if (img < p.img0 || img >= p.img0 + p.nImg) { return; }
  let lo = i32(p.rowLo);
  let base = i32(p.xShift + ((img - p.img0) * p.C + c) * (p.rowHi - p.rowLo) * p.W) - lo * i32(p.W);
  let hs = Win[wi + 1u];
  let he = Win[wi + 2u];
  let ws = Win[wi + 3u];
  let we = Win[wi + 4u];
  let o = p.yShift + ((k - p.k0) * p.C + c) * bins + bin;
  // An empty window gives 0; a band the window misses leaves -inf for the bands after it.
  if (he <= hs || we <= ws) { Y[o] = 0.0; return; }
  var m = select(Y[o], p.negInf, p.first != 0u);
  for (var h = max(hs, lo); h < min(he, i32(p.rowHi)); h++) {
    for (var w = ws; w < we; w++) { m = max(m, X[u32(base + h * i32(p.W) + w)]); }
  }
  Y[o] = m;
}
`;

/**
 * Binds as much of the feature map as fits: all of it, whole images, a
 * block of channels of one image (rois of other images skip the dispatch), or
 * bands of rows of one channel plane, each dispatch combining its part of
 * every bin with the bands before; outputs and the roi tables split over rois.
 */
async function runRoi(
  b: WebGPUBackend,
  op: string,
  code: string,
  /** Channels one thread handles (its dispatch covers ceil(C / lanes) channel groups). */
  lanes: number,
  x: GPUInput,
  /** Per-roi rows of `stride` elements (roi_align's heads or roi_pool's windows). */
  table: Tensor,
  stride: number,
  /** roi_align's weight entries (int32 pairs) and where each roi's start (`K + 1` offsets, in pairs). */
  entries: { table: Tensor; start: Int32Array } | null,
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
    const E = entries ? b.upload(entries.table) : null;
    temps.push(T, ...(E ? [E] : []));
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    const maxFloats = Math.floor(maxBytes / 4);
    // A plane too big for a binding runs one channel at a time in bands of rows.
    const band = plane * 4 <= maxBytes ? plan.height : unitsPerChunk(op, plan.height, [plan.width * 4], maxBytes, 'row of a channel plane');
    const cb = unitsPerChunk(op, band < plan.height ? 1 : C, [band * plan.width * 4, bins * 4], maxBytes, "channel plane (or one roi's bins of a channel)");
    const ni = cb === C ? Math.max(1, Math.min(N, Math.floor(maxFloats / Math.max(1, C * plane)))) : 1;
    unitsPerChunk(op, 1, [stride * 4], maxBytes, 'roi table row');
    const kc = Math.min(K, 1 + Math.floor((maxFloats - cb * bins) / (C * bins)), Math.floor(maxFloats / stride));
    const list: Dispatch[] = [];
    for (let i0 = 0; i0 < N; i0 += ni) {
      const nic = Math.min(ni, N - i0);
      for (let c0 = 0; c0 < C; c0 += cb) {
        const cbc = Math.min(cb, C - c0);
        for (let r0 = 0; r0 < plan.height; r0 += band) {
          const rows = Math.min(band, plan.height - r0);
          const xs = rows === plan.height ? b.slice(X, (i0 * C + c0) * plane, ((nic - 1) * C + cbc) * plane) : b.slice(X, (i0 * C + c0) * plane + r0 * plan.width, rows * plan.width);
          for (let k0 = 0, kcc = 0; k0 < K; k0 += kcc) {
            kcc = Math.min(kc, K - k0);
            if (entries) kcc = entryRun(op, entries.start, k0, kcc, maxFloats);
            if (!plan.batchIndex.subarray(k0, k0 + kcc).some((i) => i >= i0 && i < i0 + nic)) continue;
            const ys = b.slice(out, (k0 * C + c0) * bins, ((kcc - 1) * C + cbc) * bins);
            const ts = b.slice(T, k0 * stride, kcc * stride);
            const eBase = entries ? entries.start[k0] : 0;
            // At least one pair is bound (an empty binding is invalid); the table ends with a spare one.
            const es = E && entries ? b.slice(E, 2 * eBase, 2 * Math.max(1, entries.start[k0 + kcc] - eBase)) : null;
            const threads = kcc * Math.ceil(cbc / lanes) * bins;
            list.push({
              code,
              uniforms: roiParams.pack({
                C, CB: cbc, H: plan.height, W: plan.width, PH: plan.pooledHeight, PW: plan.pooledWidth, k0, img0: i0, nImg: nic,
                total: threads, xShift: xs.shift, yShift: ys.shift, tShift: ts.shift, eBase, eShift: es ? es.shift / 2 : 0,
                rowLo: r0, rowHi: r0 + rows, first: r0 === 0 ? 1 : 0, negInf: -Infinity,
              }),
              bindings: [xs.slice, ts.slice, ...(es ? [es.slice] : []), ys.slice],
              workgroups: Math.ceil(threads / 256),
            });
          }
        }
      }
    }
    await b.run(list);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * How many rois from `k0` (at most `most`) have weight entries (`start`: per-roi
 * offsets in int32 pairs) that fit one binding; a roi whose entries alone do not fit throws.
 */
function entryRun(op: string, start: Int32Array, k0: number, most: number, maxFloats: number): number {
  unitsPerChunk(op, 1, [8 * (start[k0 + 1] - start[k0])], 4 * maxFloats, "roi's sampling weights");
  let lo = 1;
  for (let hi = most; lo < hi; ) {
    const mid = Math.ceil((lo + hi) / 2);
    if (2 * (start[k0 + mid] - start[k0]) <= maxFloats) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** GPU {@link roiAlign}: `[K, C, ph, pw]`; per-bin row and column weights from the CPU op's {@link AxisWeights}. */
export async function roiAlignGPU(b: WebGPUBackend, x: GPUInput, boxes: GPURoiBoxes, opts: RoiAlignOptions): Promise<GPUTensor> {
  const plan = resolveRoiAlign(x.shape, await cpuBoxes(boxes), opts, 'float32');
  const { numRois: K, pooledHeight: PH, pooledWidth: PW } = plan;
  const stride = 4 + PH + PW;
  const head = new Int32Array(stride * K);
  const headBits = new Float32Array(head.buffer);
  const ay = new AxisWeights(PH, plan.height);
  const ax = new AxisWeights(PW, plan.width);
  const start = new Int32Array(K + 1);
  const parts: Int32Array[] = [];
  for (let k = 0; k < K; k++) {
    const h = stride * k;
    head[h] = plan.batchIndex[k];
    headBits[h + 1] = 1;
    start[k + 1] = start[k];
    const samples = roiAlignSamples(plan, k);
    if (!samples) {
      // No samples: every bin's range is empty and its output 0.
      head.fill(start[k], h + 2, h + stride);
      continue;
    }
    headBits[h + 1] = Math.fround(samples.y.grid * samples.x.grid);
    ay.fill(samples.y, Math.fround);
    ax.fill(samples.x, Math.fround);
    const ny = ay.binStart[PH];
    const nx = ax.binStart[PW];
    // Entries: (row or column, weight as float32 bits), y's then x's.
    const part = new Int32Array(2 * (ny + nx));
    const partWeights = new Float32Array(part.buffer);
    for (const [axis, n, at] of [[ay, ny, 0], [ax, nx, ny]] as const) {
      for (let j = 0; j < n; j++) {
        part[2 * (at + j)] = axis.idx[j];
        partWeights[2 * (at + j) + 1] = axis.w[j];
      }
    }
    for (let q = 0; q <= PH; q++) head[h + 2 + q] = start[k] + ay.binStart[q];
    for (let q = 0; q <= PW; q++) head[h + 3 + PH + q] = start[k] + ny + ax.binStart[q];
    parts.push(part);
    start[k + 1] = start[k] + ny + nx;
  }
  const entries = new Int32Array(2 * start[K] + 2);
  let at = 0;
  for (const part of parts) {
    entries.set(part, at);
    at += part.length;
  }
  return runRoi(
    b, 'roi_align', alignShader(), ALIGN_LANES, x, new Tensor(head, [head.length], 'int32'), stride,
    { table: new Tensor(entries, [entries.length], 'int32'), start }, plan,
  );
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
  return runRoi(b, 'roi_pool', poolShader, 1, x, new Tensor(table, [table.length], 'int32'), 5 * bins, null, plan);
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

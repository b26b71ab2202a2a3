/**
 * interpolate (nearest, nearest-exact, linear, bilinear, bicubic) on the GPU.
 * The per-axis source indices and weights come from the CPU op's
 * {@link interpolationTaps} (uploaded per call as 16 or 32 bytes per output
 * row and column, plus the row weights when rows go in runs), so both backends
 * use identical coordinates; the GPU only does the separable weighted gather.
 * A thread writes several columns, and when upsampling a run of rows that read
 * the same source rows, so that most loads are shared. Planes above a storage
 * binding run in bands of output rows, bound with the input rows their taps
 * read, and in blocks of columns where the horizontal taps exceed a binding.
 */
import { interpolate, interpolationTaps, resolveInterpolate, type AxisTaps, type InterpolateOptions } from '../../../ops/interpolate';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { f32Bits, FLAT_MAIN, params, rowBands, unitsPerChunk, type BufferSlice } from '../program';
import type { GPUTensor } from '../tensor';

const interpParams = params({
  inH: 'u32', inW: 'u32', outW: 'u32', rows: 'u32', entries: 'u32', cols: 'u32', groups: 'u32', col0: 'u32', iy0: 'u32', xShift: 'u32', yShift: 'u32', total: 'u32',
});

/**
 * Longest run of output rows one thread writes: long enough to share its loads
 * over an upsampling's runs, short enough that a tall run (a one-row input)
 * still spreads over threads.
 */
const MAX_RUN = 16;

/**
 * Output columns one thread writes, sharing its vertical taps (and in a run
 * the weights' loads): for linear and nearest 4 measured up to twice as fast as
 * 1 on SwiftShader (8 no faster); bicubic's 16 input loads per output leave a
 * row alone little to share, and there 4 measured slower than 1.
 */
function colsPerThread(th: number, tw: number, runs: boolean): number {
  return runs || th * tw < 16 ? 4 : 1;
}

const LANES = ['x', 'y', 'z', 'w'];

/** WGSL for lane `i` of the vec4s `${v}0`, `${v}1`. */
function lane(v: string, i: number): string {
  return `${v}${i >> 2}.${LANES[i & 3]}`;
}

/** vec4s that an entry of `lanes` i32 lanes takes. */
function vecs(lanes: number): number {
  return Math.ceil(lanes / 4);
}

/** `entries` entries of `lanes` lanes each as vec4s of i32, lane `l` of entry `k` being `value(k, l)`. */
function packVec4s(entries: number, lanes: number, value: (k: number, l: number) => number): Tensor {
  const per = 4 * vecs(lanes);
  const packed = new Int32Array(per * entries);
  for (let k = 0; k < entries; k++) for (let l = 0; l < lanes; l++) packed[per * k + l] = value(k, l);
  return new Tensor(packed, [packed.length], 'int32');
}

/** Outputs `[o0, o1)` of one axis' taps as `[index..., weight bits...]` each. */
function packTaps({ taps, index, weight }: AxisTaps, out: number, o0: number, o1: number): Tensor {
  return packVec4s(o1 - o0, 2 * taps, (k, l) => (l < taps ? index[l * out + o0 + k] : f32Bits(weight[(l - taps) * out + o0 + k])));
}

/** Runs of consecutive output rows in `[r0, r1)` whose vertical taps read the same source rows (upsampling by f gives runs of about f). */
function rowRuns({ taps, index }: AxisTaps, out: number, r0: number, r1: number): [number, number][] {
  const same = (a: number, b: number) => {
    for (let t = 0; t < taps; t++) if (index[t * out + a] !== index[t * out + b]) return false;
    return true;
  };
  const runs: [number, number][] = [];
  for (let a = r0; a < r1; ) {
    let e = a + 1;
    while (e < r1 && e - a < MAX_RUN && same(a, e)) e++;
    runs.push([a, e]);
    a = e;
  }
  return runs;
}

/** WGSL loading entry `index` of `table` (entries of `lanes` lanes) as `${v}0`, `${v}1`... */
function loadEntry(v: string, table: string, index: string, lanes: number): string {
  return Array.from({ length: vecs(lanes) }, (_, i) => `  let ${v}${i} = ${table}[${vecs(lanes)}u * ${index} + ${i}u];`).join('\n');
}

/**
 * One thread per entry of `VT` and group of {@link colsPerThread} columns of
 * a tile: the `rows` rows of the dispatch's band (all rows when it spans
 * several planes) by columns `[col0, col0 + cols)`. With `runs`, an entry is a
 * run of output rows with the same vertical taps (see {@link rowRuns}),
 * `[first, end, index...]` relative to the band, and `HW` holds the band rows'
 * vertical weights; without, an entry is one row, `[index..., weight
 * bits...]`. `WT` holds the tile columns' horizontal taps, `[index..., weight
 * bits...]`; X is bound from input row `iy0`. For each of its columns the
 * thread sums each source row over the horizontal taps once, then blends those
 * sums for every row of its entry: the CPU kernel's order of operations, with
 * the input and tap loads shared by a run and the vertical taps by the columns.
 * A thread's columns are `groups` apart, so that neighbouring threads write
 * neighbouring outputs. Tap counts are 1, 2 or 4, so the taps unroll.
 */
function shader(th: number, tw: number, runs: boolean): string {
  const vyIndex = runs ? 2 : 0;
  const columns = Array.from({ length: colsPerThread(th, tw, runs) }, (_, j) => j);
  const rows = Array.from({ length: th }, (_, t) => `  let row${t} = base + (u32(${lane('vy', vyIndex + t)}) - p.iy0) * p.inW;`);
  const sums = columns.map((j) => {
    const vx = `vx${j}_`;
    const lines = [`  let c${j} = g + ${j}u * p.groups;`, loadEntry(vx, 'WT', `min(c${j}, p.cols - 1u)`, 2 * tw)];
    for (let t = 0; t < th; t++) {
      const terms = Array.from({ length: tw }, (_, tx) => {
        const x = `X[row${t} + u32(${lane(vx, tx)})]`;
        return tw === 1 ? x : `${x} * bitcast<f32>(${lane(vx, tw + tx)})`;
      });
      lines.push(`  let s${j}_${t} = ${terms.join(' + ')};`);
    }
    return lines.join('\n');
  });
  const store = (j: number, weight: (t: number) => string) => {
    const value = th === 1 ? `s${j}_0` : Array.from({ length: th }, (_, t) => `s${j}_${t} * ${weight(t)}`).join(' + ');
    return j === 0 ? `Y[y + c0] = ${value};` : `if (c${j} < p.cols) { Y[y + c${j}] = ${value}; }`;
  };
  // A row alone stores each column before summing the next, which keeps the live values and loads in flight few.
  const body = runs
    ? `${sums.join('\n')}
  var y = p.yShift + (pl * p.rows + u32(vy0.x)) * p.outW + p.col0;
  for (var k = u32(vy0.x); k < u32(vy0.y); k++) {
    ${th === 1 ? '' : 'let hw = HW[k];'}
    ${columns.map((j) => store(j, (t) => `hw[${t}]`)).join('\n    ')}
    y += p.outW;
  }`
    : `  let y = p.yShift + (pl * p.rows + entry) * p.outW + p.col0;
${columns.map((j) => `${sums[j]}\n  ${store(j, (t) => `bitcast<f32>(${lane('vy', th + t)})`)}`).join('\n')}`;
  return `${interpParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> VT: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> WT: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${runs && th > 1 ? `@group(0) @binding(5) var<storage, read> HW: array<vec${th}<f32>>;` : ''}
${FLAT_MAIN}
  let tile = p.entries * p.groups;
  let pl = e / tile;
  let entry = (e % tile) / p.groups;
  let g = e % p.groups;
  let base = p.xShift + pl * p.inH * p.inW;
${loadEntry('vy', 'VT', 'entry', runs ? 2 + th : 2 * th)}
${rows.join('\n')}
${body}
}
`;
}

/** GPU {@link interpolate}; `'area'` (adaptive average pooling) runs on the CPU through the backend's fallback. */
export async function interpolateGPU(b: WebGPUBackend, x: GPUInput, opts: InterpolateOptions): Promise<GPUTensor> {
  const op = 'interpolate';
  const plan = resolveInterpolate(x.shape, opts);
  if (plan.mode === 'area') return b.cpuFallback('interpolate(area)', (t: Tensor) => interpolate(t, opts), x);
  const th = interpolationTaps(plan.mode, plan.inH, plan.outH, plan.scaleH, plan.alignCorners, 'float32', plan.nearestSizeShortcuts);
  const tw = interpolationTaps(plan.mode, plan.inW, plan.outW, plan.scaleW, plan.alignCorners, 'float32', plan.nearestSizeShortcuts);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const planes = plan.n * plan.c;
    const inPlane = plan.inH * plan.inW;
    const outPlane = plan.outH * plan.outW;
    if (planes * outPlane === 0) return out;
    // A row's vertical taps take as many vec4s in either table layout (tap counts 1, 2, 4).
    const hv = vecs(2 * th.taps);
    const wv = vecs(2 * tw.taps);
    // The tables are uploaded in the pieces the dispatches bind, since they may exceed a binding or even a buffer.
    const table = (t: Tensor) => {
      const g = b.upload(t);
      temps.push(g);
      return b.slice(g).slice;
    };
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    // Input rows [lo, hi) that the vertical taps of output rows [r0, r1) read.
    const inRows = (r0: number, r1: number) => {
      let lo = plan.inH;
      let hi = 0;
      for (let t = 0; t < th.taps; t++) {
        for (let o = r0; o < r1; o++) {
          lo = Math.min(lo, th.index[t * plan.outH + o]);
          hi = Math.max(hi, th.index[t * plan.outH + o] + 1);
        }
      }
      return [lo, hi];
    };
    // A band's vertical tables are planned at one entry per row, the most they hold with or without runs.
    const bandBytes = (r0: number, r1: number) => {
      const [lo, hi] = inRows(r0, r1);
      return [(hi - lo) * plan.inW * 4, (r1 - r0) * plan.outW * 4, (r1 - r0) * hv * 16, (r1 - r0) * th.taps * 4];
    };
    const whole = Math.max(inPlane * 4, outPlane * 4, plan.outH * hv * 16, plan.outH * th.taps * 4, plan.outW * wv * 16) <= maxBytes;
    const per = whole ? unitsPerChunk(op, planes, [inPlane * 4, outPlane * 4], maxBytes, 'channel plane') : 1;
    const bands = whole ? [[0, plan.outH]] : rowBands(op, plan.outH, bandBytes, maxBytes, 'output row (with the input rows it reads)');
    // The horizontal taps take 4 or 8 times an output row's bytes, so they may need column blocks.
    const colStep = Math.min(plan.outW, Math.floor(maxBytes / (16 * wv)));
    const colBlocks = [];
    for (let col0 = 0; col0 < plan.outW; col0 += colStep) {
      const cols = Math.min(colStep, plan.outW - col0);
      colBlocks.push({ col0, cols, ws: table(packTaps(tw, plan.outW, col0, col0 + cols)) });
    }
    const list: Dispatch[] = [];
    for (const [r0, r1] of bands) {
      const [lo, hi] = whole ? [0, plan.inH] : inRows(r0, r1);
      const rows = r1 - r0;
      const runs = rowRuns(th, plan.outH, r0, r1);
      // On SwiftShader runs break even at 1.2 (bicubic) to 1.5 rows (bilinear) on average:
      // below, the loop and the weights' loads cost more than the shared loads save.
      const useRuns = 2 * rows >= 3 * runs.length;
      const code = shader(th.taps, tw.taps, useRuns);
      const vt = useRuns
        ? table(packVec4s(runs.length, 2 + th.taps, (k, l) => (l < 2 ? runs[k][l] - r0 : th.index[(l - 2) * plan.outH + runs[k][0]])))
        : table(packTaps(th, plan.outH, r0, r1));
      const hw: BufferSlice[] = [];
      if (useRuns && th.taps > 1) {
        const weights = new Float32Array(rows * th.taps);
        for (let k = 0; k < rows; k++) for (let t = 0; t < th.taps; t++) weights[k * th.taps + t] = th.weight[t * plan.outH + r0 + k];
        hw.push(table(new Tensor(weights, [weights.length], 'float32')));
      }
      const entries = useRuns ? runs.length : rows;
      for (let p0 = 0; p0 < planes; p0 += per) {
        const pc = Math.min(per, planes - p0);
        const xs = b.slice(X, p0 * inPlane + lo * plan.inW, pc * (hi - lo) * plan.inW);
        const ys = b.slice(out, p0 * outPlane + r0 * plan.outW, pc * rows * plan.outW);
        for (const { col0, cols, ws } of colBlocks) {
          const groups = Math.ceil(cols / colsPerThread(th.taps, tw.taps, useRuns));
          const total = pc * entries * groups;
          list.push({
            code,
            uniforms: interpParams.pack({ inH: plan.inH, inW: plan.inW, outW: plan.outW, rows, entries, cols, groups, col0, iy0: lo, xShift: xs.shift, yShift: ys.shift, total }),
            bindings: [xs.slice, vt, ws, ys.slice, ...hw],
            workgroups: Math.ceil(total / 256),
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

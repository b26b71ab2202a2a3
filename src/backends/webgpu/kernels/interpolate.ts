/**
 * interpolate (nearest, nearest-exact, linear, bilinear, bicubic) on the GPU.
 * The per-axis source indices and weights come from the CPU op's
 * {@link interpolationTaps} (16 or 32 bytes per output row and column, uploaded
 * per call), so both backends use identical coordinates; the GPU only does the
 * separable weighted gather. A thread writes several columns of a row, sharing
 * the row's vertical taps. Planes above a storage binding run in bands of
 * output rows, bound with the input rows their taps read, and in blocks of
 * columns where the horizontal taps exceed a binding.
 */
import { interpolate, interpolationTaps, resolveInterpolate, type AxisTaps, type InterpolateOptions } from '../../../ops/interpolate';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, rowBands, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

const interpParams = params({
  inH: 'u32', inW: 'u32', outW: 'u32', rows: 'u32', cols: 'u32', groups: 'u32', col0: 'u32', iy0: 'u32', xShift: 'u32', yShift: 'u32', total: 'u32',
});

/**
 * Output columns one thread writes, sharing its vertical taps: for linear and
 * nearest 4 measured up to twice as fast as 1 on SwiftShader (8 no faster);
 * bicubic's 16 input loads per output leave little to share, and 4 measured
 * slower than 1.
 */
function colsPerThread(th: number, tw: number): number {
  return th * tw < 16 ? 4 : 1;
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

const f32Bits = (() => {
  const bits = new Int32Array(1);
  const f = new Float32Array(bits.buffer);
  return (v: number) => {
    f[0] = v;
    return bits[0];
  };
})();

/** Outputs `[o0, o1)` of one axis' taps as `[index..., weight bits...]` each. */
function packTaps({ taps, index, weight }: AxisTaps, out: number, o0: number, o1: number): Tensor {
  return packVec4s(o1 - o0, 2 * taps, (k, l) => (l < taps ? index[l * out + o0 + k] : f32Bits(weight[(l - taps) * out + o0 + k])));
}

/** WGSL loading entry `index` of `table` (entries of `lanes` lanes) as `${v}0`, `${v}1`... */
function loadEntry(v: string, table: string, index: string, lanes: number): string {
  return Array.from({ length: vecs(lanes) }, (_, i) => `  let ${v}${i} = ${table}[${vecs(lanes)}u * ${index} + ${i}u];`).join('\n');
}

/**
 * One thread per row and group of {@link colsPerThread} columns of a tile:
 * the `rows` rows of the dispatch's band (all rows when it spans several
 * planes) by columns `[col0, col0 + cols)`. `HT` holds the band rows' vertical
 * taps, `WT` the tile columns' horizontal ones, `[index..., weight bits...]`
 * each; X is bound from input row `iy0`. For each of its columns the thread
 * sums each source row over the horizontal taps, then blends those sums: the
 * CPU kernel's order of operations. It stores each column before summing the
 * next, which keeps the live values and loads in flight few. A thread's
 * columns are `groups` apart, so that neighbouring threads write neighbouring
 * outputs. Tap counts are 1, 2 or 4, so the taps unroll.
 */
function shader(th: number, tw: number): string {
  const columns = Array.from({ length: colsPerThread(th, tw) }, (_, j) => j);
  const rows = Array.from({ length: th }, (_, t) => `  let row${t} = base + (u32(${lane('vy', t)}) - p.iy0) * p.inW;`);
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
  const store = (j: number) => {
    const value = th === 1 ? `s${j}_0` : Array.from({ length: th }, (_, t) => `s${j}_${t} * bitcast<f32>(${lane('vy', th + t)})`).join(' + ');
    return j === 0 ? `Y[y + c0] = ${value};` : `if (c${j} < p.cols) { Y[y + c${j}] = ${value}; }`;
  };
  return `${interpParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> HT: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> WT: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${FLAT_MAIN}
  let tile = p.rows * p.groups;
  let pl = e / tile;
  let r = (e % tile) / p.groups;
  let g = e % p.groups;
  let base = p.xShift + pl * p.inH * p.inW;
${loadEntry('vy', 'HT', 'r', 2 * th)}
${rows.join('\n')}
  let y = p.yShift + (pl * p.rows + r) * p.outW + p.col0;
${columns.map((j) => `${sums[j]}\n  ${store(j)}`).join('\n')}
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
    const bandBytes = (r0: number, r1: number) => {
      const [lo, hi] = inRows(r0, r1);
      return [(hi - lo) * plan.inW * 4, (r1 - r0) * plan.outW * 4, (r1 - r0) * hv * 16];
    };
    const whole = Math.max(inPlane * 4, outPlane * 4, plan.outH * hv * 16, plan.outW * wv * 16) <= maxBytes;
    const per = whole ? unitsPerChunk(op, planes, [inPlane * 4, outPlane * 4], maxBytes, 'channel plane') : 1;
    const bands = whole ? [[0, plan.outH]] : rowBands(op, plan.outH, bandBytes, maxBytes, 'output row (with the input rows it reads)');
    // The horizontal taps take 4 or 8 times an output row's bytes, so they may need column blocks.
    const colStep = Math.min(plan.outW, Math.floor(maxBytes / (16 * wv)));
    const colBlocks = [];
    for (let col0 = 0; col0 < plan.outW; col0 += colStep) {
      const cols = Math.min(colStep, plan.outW - col0);
      colBlocks.push({ col0, cols, ws: table(packTaps(tw, plan.outW, col0, col0 + cols)) });
    }
    const code = shader(th.taps, tw.taps);
    const list: Dispatch[] = [];
    for (const [r0, r1] of bands) {
      const [lo, hi] = whole ? [0, plan.inH] : inRows(r0, r1);
      const rows = r1 - r0;
      const hs = table(packTaps(th, plan.outH, r0, r1));
      for (let p0 = 0; p0 < planes; p0 += per) {
        const pc = Math.min(per, planes - p0);
        const xs = b.slice(X, p0 * inPlane + lo * plan.inW, pc * (hi - lo) * plan.inW);
        const ys = b.slice(out, p0 * outPlane + r0 * plan.outW, pc * rows * plan.outW);
        for (const { col0, cols, ws } of colBlocks) {
          const groups = Math.ceil(cols / colsPerThread(th.taps, tw.taps));
          const total = pc * rows * groups;
          list.push({
            code,
            uniforms: interpParams.pack({ inH: plan.inH, inW: plan.inW, outW: plan.outW, rows, cols, groups, col0, iy0: lo, xShift: xs.shift, yShift: ys.shift, total }),
            bindings: [xs.slice, hs, ws, ys.slice],
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

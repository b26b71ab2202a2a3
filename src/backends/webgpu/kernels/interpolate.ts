/**
 * interpolate (nearest, nearest-exact, linear, bilinear, bicubic) on the GPU.
 * The per-axis source indices and weights come from the CPU op's
 * {@link interpolationTaps} (16 or 32 bytes per output row and column, uploaded
 * per call), so both backends use identical coordinates; the GPU only does the
 * separable weighted gather. Planes above a storage binding run in bands of
 * output rows, bound with the input rows their taps read, and in blocks of
 * columns where the horizontal taps exceed a binding.
 */
import { interpolate, interpolationTaps, resolveInterpolate, type AxisTaps, type InterpolateOptions } from '../../../ops/interpolate';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, rowBands, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

const interpParams = params({
  inH: 'u32', inW: 'u32', outW: 'u32', rows: 'u32', cols: 'u32', col0: 'u32', iy0: 'u32', xShift: 'u32', yShift: 'u32', total: 'u32',
});

const LANES = ['x', 'y', 'z', 'w'];

/** vec4s per output in the packed tap table: indices then float bits, `[i, w, -, -]`, `[i0, i1, w0, w1]` or `[i0..i3][w0..w3]`. */
function vecsPerOutput(taps: number): number {
  return taps === 4 ? 2 : 1;
}

/** WGSL for tap `t` of `taps` read from vec4s `v0`, `v1`: [index, weight]. */
function tapExpr(v: string, taps: number, t: number): [string, string] {
  if (taps === 4) return [`${v}0.${LANES[t]}`, `bitcast<f32>(${v}1.${LANES[t]})`];
  return [`${v}0.${LANES[t]}`, `bitcast<f32>(${v}0.${LANES[taps + t]})`];
}

/**
 * Packs one axis' taps (`index[t * out + o]`, `weight[...]`) for outputs
 * `[o0, o1)` as {@link vecsPerOutput} vec4s each, of i32, weights as float32
 * bits, so a thread loads each axis' taps with one or two reads.
 */
function packTaps({ taps, index, weight }: AxisTaps, out: number, o0: number, o1: number): Int32Array {
  const per = 4 * vecsPerOutput(taps);
  const packed = new Int32Array(per * (o1 - o0));
  const bits = new Int32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let o = o0; o < o1; o++) {
    for (let t = 0; t < taps; t++) {
      f[0] = weight[t * out + o];
      packed[per * (o - o0) + t] = index[t * out + o];
      packed[per * (o - o0) + (taps === 4 ? 4 : taps) + t] = bits[0];
    }
  }
  return packed;
}

/**
 * One thread per output of a tile: the `rows` rows of the dispatch's band (all
 * rows when it spans several planes) by columns `[col0, col0 + cols)`. X is
 * bound from input row `iy0`; `HT` holds the band's vertical taps, `WT` the
 * tile columns' horizontal ones. Each vertical tap's row is summed over the
 * horizontal taps first, then the rows are blended: the CPU kernel's order of
 * operations. The loops are unrolled here (tap counts are 1, 2 or 4).
 */
function shader(th: number, tw: number): string {
  const rows: string[] = [];
  for (let ty = 0; ty < th; ty++) {
    const [iy, wy] = tapExpr('vy', th, ty);
    const terms = Array.from({ length: tw }, (_, tx) => {
      const [ix, wx] = tapExpr('vx', tw, tx);
      return tw === 1 ? `X[row${ty} + u32(${ix})]` : `X[row${ty} + u32(${ix})] * ${wx}`;
    });
    rows.push(`  let row${ty} = base + (u32(${iy}) - p.iy0) * p.inW;`);
    rows.push(th === 1 ? `  acc = ${terms.join(' + ')};` : `  acc += (${terms.join(' + ')}) * ${wy};`);
  }
  return `${interpParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> HT: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> WT: array<vec4<i32>>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
${FLAT_MAIN}
  let tile = p.rows * p.cols;
  let pl = e / tile;
  let r = (e % tile) / p.cols;
  let c = e % p.cols;
  let base = p.xShift + pl * p.inH * p.inW;
  let hv = ${vecsPerOutput(th)}u * r;
  let wv = ${vecsPerOutput(tw)}u * c;
  let vy0 = HT[hv];
  ${th === 4 ? 'let vy1 = HT[hv + 1u];' : ''}
  let vx0 = WT[wv];
  ${tw === 4 ? 'let vx1 = WT[wv + 1u];' : ''}
  var acc = 0.0;
${rows.join('\n')}
  Y[p.yShift + (pl * p.rows + r) * p.outW + p.col0 + c] = acc;
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
    const hv = vecsPerOutput(th.taps);
    const wv = vecsPerOutput(tw.taps);
    // The tables are uploaded in the pieces the dispatches bind, since they may exceed a binding or even a buffer.
    const taps = (axis: AxisTaps, out: number, o0: number, o1: number) => {
      const t = b.upload(new Tensor(packTaps(axis, out, o0, o1), [4 * vecsPerOutput(axis.taps) * (o1 - o0)], 'int32'));
      temps.push(t);
      return b.slice(t);
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
      colBlocks.push({ col0, cols, ws: taps(tw, plan.outW, col0, col0 + cols) });
    }
    const code = shader(th.taps, tw.taps);
    const list: Dispatch[] = [];
    for (const [r0, r1] of bands) {
      const [lo, hi] = whole ? [0, plan.inH] : inRows(r0, r1);
      const rows = r1 - r0;
      const hs = taps(th, plan.outH, r0, r1);
      for (let p0 = 0; p0 < planes; p0 += per) {
        const pc = Math.min(per, planes - p0);
        const xs = b.slice(X, p0 * inPlane + lo * plan.inW, pc * (hi - lo) * plan.inW);
        const ys = b.slice(out, p0 * outPlane + r0 * plan.outW, pc * rows * plan.outW);
        for (const { col0, cols, ws } of colBlocks) {
          const total = pc * rows * cols;
          list.push({
            code,
            uniforms: interpParams.pack({ inH: plan.inH, inW: plan.inW, outW: plan.outW, rows, cols, col0, iy0: lo, xShift: xs.shift, yShift: ys.shift, total }),
            bindings: [xs.slice, hs.slice, ws.slice, ys.slice],
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

/**
 * interpolate (nearest, nearest-exact, linear, bilinear, bicubic) on the GPU.
 * The per-axis source indices and weights come from the CPU op's
 * {@link interpolationTaps} (a few KB, uploaded per call), so both backends use
 * identical coordinates; the GPU only does the separable weighted gather.
 */
import { interpolate, interpolationTaps, resolveInterpolate, type InterpolateOptions } from '../../../ops/interpolate';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

const interpParams = params({ inH: 'u32', inW: 'u32', outH: 'u32', outW: 'u32', xShift: 'u32', yShift: 'u32', total: 'u32' });

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
 * Packs one axis' taps (`index[t * out + o]`, `weight[...]`) per output as
 * {@link vecsPerOutput} vec4s of i32, weights as float32 bits, so a thread
 * loads each axis' taps with one or two reads.
 */
function packTaps(taps: number, index: Int32Array, weight: Float64Array, out: number): Int32Array {
  const per = 4 * vecsPerOutput(taps);
  const packed = new Int32Array(per * out);
  const bits = new Int32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let o = 0; o < out; o++) {
    for (let t = 0; t < taps; t++) {
      f[0] = weight[t * out + o];
      packed[per * o + t] = index[t * out + o];
      packed[per * o + (taps === 4 ? 4 : taps) + t] = bits[0];
    }
  }
  return packed;
}

/**
 * One thread per output. Each vertical tap's row is summed over the
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
    rows.push(`  let row${ty} = base + u32(${iy}) * p.inW;`);
    rows.push(th === 1 ? `  acc = ${terms.join(' + ')};` : `  acc += (${terms.join(' + ')}) * ${wy};`);
  }
  return `${interpParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Taps: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${FLAT_MAIN}
  let outPlane = p.outH * p.outW;
  let pl = e / outPlane;
  let oh = (e % outPlane) / p.outW;
  let ow = e % p.outW;
  let base = p.xShift + pl * p.inH * p.inW;
  let hv = ${vecsPerOutput(th)}u * oh;
  let wv = ${vecsPerOutput(th)}u * p.outH + ${vecsPerOutput(tw)}u * ow;
  let vy0 = Taps[hv];
  ${th === 4 ? 'let vy1 = Taps[hv + 1u];' : ''}
  let vx0 = Taps[wv];
  ${tw === 4 ? 'let vx1 = Taps[wv + 1u];' : ''}
  var acc = 0.0;
${rows.join('\n')}
  Y[p.yShift + e] = acc;
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
    const hTaps = packTaps(th.taps, th.index, th.weight, plan.outH);
    const wTaps = packTaps(tw.taps, tw.index, tw.weight, plan.outW);
    const table = new Int32Array(hTaps.length + wTaps.length);
    table.set(hTaps);
    table.set(wTaps, hTaps.length);
    const T = b.upload(new Tensor(table, [table.length], 'int32'));
    temps.push(T);
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    unitsPerChunk(op, 1, [table.length * 4], maxBytes, 'tap table');
    const per = unitsPerChunk(op, planes, [inPlane * 4, outPlane * 4], maxBytes, 'channel plane');
    const code = shader(th.taps, tw.taps);
    const list: Dispatch[] = [];
    for (let p0 = 0; p0 < planes; p0 += per) {
      const pc = Math.min(per, planes - p0);
      const xs = b.slice(X, p0 * inPlane, pc * inPlane);
      const ys = b.slice(out, p0 * outPlane, pc * outPlane);
      list.push({
        code,
        uniforms: interpParams.pack({ inH: plan.inH, inW: plan.inW, outH: plan.outH, outW: plan.outW, xShift: xs.shift, yShift: ys.shift, total: pc * outPlane }),
        bindings: [xs.slice, b.slice(T).slice, ys.slice],
        workgroups: Math.ceil((pc * outPlane) / 256),
      });
    }
    await b.run(list);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

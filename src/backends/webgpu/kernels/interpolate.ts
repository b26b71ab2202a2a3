/**
 * interpolate (nearest, nearest-exact, linear, bilinear, bicubic) on the GPU.
 * The per-axis source indices and weights come from the CPU op's
 * {@link interpolationTaps} (a few KB, uploaded per call), so both backends use
 * identical coordinates; the GPU only does the separable weighted gather.
 */
import { interpolate, interpolationTaps, resolveInterpolate, type InterpolateOptions } from '../../../ops/interpolate';
import { Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_WORKGROUP, params, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

const interpParams = params({ inH: 'u32', inW: 'u32', outH: 'u32', outW: 'u32', xShift: 'u32', yShift: 'u32', total: 'u32' });

/**
 * Taps are laid out as the CPU gives them (`index[t * out + o]`), H first then
 * W, in one index and one weight buffer. Each vertical tap's row is summed
 * first, then the rows are blended: the CPU kernel's order of operations.
 */
function shader(th: number, tw: number): string {
  const weighted = th > 1 || tw > 1;
  return `${interpParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> TapIdx: array<i32>;
${weighted ? '@group(0) @binding(3) var<storage, read> TapW: array<f32>;' : ''}
@group(0) @binding(${weighted ? 4 : 3}) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  ${FLAT_WORKGROUP}
  let e = wid * 256u + li;
  if (e >= p.total) { return; }
  let outPlane = p.outH * p.outW;
  let pl = e / outPlane;
  let oh = (e % outPlane) / p.outW;
  let ow = e % p.outW;
  let base = p.xShift + pl * p.inH * p.inW;
  let wOff = ${th}u * p.outH;
  var acc = 0.0;
  for (var ty = 0u; ty < ${th}u; ty++) {
    let row = base + u32(TapIdx[ty * p.outH + oh]) * p.inW;
    var s = 0.0;
    for (var tx = 0u; tx < ${tw}u; tx++) {
      let t = wOff + tx * p.outW + ow;
      ${tw === 1 ? 's = X[row + u32(TapIdx[t])];' : 's += X[row + u32(TapIdx[t])] * TapW[t];'}
    }
    ${th === 1 ? 'acc = s;' : 'acc += s * TapW[ty * p.outH + oh];'}
  }
  Y[p.yShift + e] = acc;
}
`;
}

/** GPU {@link interpolate}; `'area'` (adaptive average pooling) runs on the CPU through the backend's fallback. */
export async function interpolateGPU(b: WebGPUBackend, x: GPUInput, opts: InterpolateOptions): Promise<GPUTensor> {
  const op = 'interpolate';
  const plan = resolveInterpolate(x.shape, opts);
  if (plan.mode === 'area') return b.cpuFallback('interpolate(area)', (t: Tensor) => interpolate(t, opts), x);
  const th = interpolationTaps(plan.mode, plan.inH, plan.outH, plan.scaleH, plan.alignCorners, 'float32', plan.spatialDims);
  const tw = interpolationTaps(plan.mode, plan.inW, plan.outW, plan.scaleW, plan.alignCorners, 'float32', plan.spatialDims);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const planes = plan.n * plan.c;
    const inPlane = plan.inH * plan.inW;
    const outPlane = plan.outH * plan.outW;
    if (planes * outPlane === 0) return out;
    const idx = new Int32Array(th.index.length + tw.index.length);
    idx.set(th.index);
    idx.set(tw.index, th.index.length);
    const wts = new Float32Array(idx.length);
    wts.set(th.weight);
    wts.set(tw.weight, th.weight.length);
    const I = b.upload(new Tensor(idx, [idx.length], 'int32'));
    const Wt = b.upload(new Tensor(wts, [wts.length], 'float32'));
    temps.push(I, Wt);
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    unitsPerChunk(op, 1, [idx.length * 4], maxBytes, 'tap table');
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
        bindings: th.taps > 1 || tw.taps > 1 ? [xs.slice, b.slice(I).slice, b.slice(Wt).slice, ys.slice] : [xs.slice, b.slice(I).slice, ys.slice],
        workgroups: Math.ceil((pc * outPlane) / 256),
      });
    }
    await b.run(list);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * maxPool2d (with indices), avgPool2d and maxUnpool2d on the GPU, one thread
 * per output element, with the CPU ops' resolvers and window rules.
 */
import { IndexError } from '../../../tensor';
import {
  resolveAvgPool2d,
  resolveMaxPool2d,
  resolveMaxUnpool2d,
  type AvgPool2dOptions,
  type MaxPool2dOptions,
  type MaxUnpool2dOptions,
} from '../../../ops/pool';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, rowBands, unitsPerChunk, type BufferSlice } from '../program';
import type { GPUTensor } from '../tensor';

const poolParams = params({
  H: 'u32', W: 'u32', outH: 'u32', outW: 'u32', kH: 'u32', kW: 'u32', sH: 'u32', sW: 'u32',
  pH: 'i32', pW: 'i32', dH: 'u32', dW: 'u32', countIncludePad: 'u32', divisor: 'i32',
  oh0: 'u32', bandH: 'u32', ih0: 'u32', xShift: 'u32', yShift: 'u32', iShift: 'u32', total: 'u32',
  // -inf for empty windows; WGSL rejects infinite constants, so it arrives as a uniform.
  negInf: 'f32',
});
type PoolValues = Parameters<typeof poolParams.pack>[0];
type PoolGeometry = Omit<PoolValues, 'oh0' | 'bandH' | 'ih0' | 'xShift' | 'yShift' | 'iShift' | 'total' | 'negInf'>;

/**
 * A dispatch computes output rows `[oh0, oh0 + bandH)` of its planes (all rows
 * when it spans several) with X bound from input row `ih0`, so `base + off`
 * reads the whole-plane offset `off` and indices stay offsets into the plane.
 */
const HEAD = `${FLAT_MAIN}
  let band = p.bandH * p.outW;
  let pl = e / band;
  let oh = p.oh0 + (e % band) / p.outW;
  let ow = e % p.outW;
  let base = i32(p.xShift + pl * p.H * p.W) - i32(p.ih0 * p.W);`;

/**
 * Window start moved forward by whole dilation steps into the input, end
 * clipped (torch's CPU rule). `v > m || isnan(v)` keeps the first maximum and
 * lets NaN win; NaN is tested on the bits because WGSL compilers may assume
 * comparisons never see NaN.
 */
function maxShader(withIndices: boolean): string {
  return `${poolParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${withIndices ? '@group(0) @binding(3) var<storage, read_write> I: array<i32>;' : ''}
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
${HEAD}
  var h0 = i32(oh * p.sH) - p.pH;
  let h1 = min(h0 + i32((p.kH - 1u) * p.dH) + 1, i32(p.H));
  while (h0 < 0) { h0 += i32(p.dH); }
  var w0 = i32(ow * p.sW) - p.pW;
  let w1 = min(w0 + i32((p.kW - 1u) * p.dW) + 1, i32(p.W));
  while (w0 < 0) { w0 += i32(p.dW); }
  var m = p.negInf;
  var mi = h0 * i32(p.W) + w0;
  for (var ih = h0; ih < h1; ih += i32(p.dH)) {
    for (var iw = w0; iw < w1; iw += i32(p.dW)) {
      let off = ih * i32(p.W) + iw;
      let v = X[u32(base + off)];
      if (v > m || isNan(v)) { m = v; mi = off; }
    }
  }
  Y[p.yShift + e] = m;
  ${withIndices ? 'I[p.iShift + e] = mi;' : ''}
}
`;
}

/** torch's divisor rules (see the CPU avgPool2d); sums in row-major window order. */
const avgShader = `${poolParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${HEAD}
  var h0 = i32(oh * p.sH) - p.pH;
  var h1 = min(h0 + i32(p.kH), i32(p.H) + p.pH);
  let padH = h1 - h0;
  h0 = max(h0, 0);
  h1 = min(h1, i32(p.H));
  var w0 = i32(ow * p.sW) - p.pW;
  var w1 = min(w0 + i32(p.kW), i32(p.W) + p.pW);
  let padW = w1 - w0;
  w0 = max(w0, 0);
  w1 = min(w1, i32(p.W));
  if (h0 >= h1 || w0 >= w1) { Y[p.yShift + e] = 0.0; return; }
  var divisor = p.divisor;
  if (divisor == 0) { divisor = select((h1 - h0) * (w1 - w0), padH * padW, p.countIncludePad != 0u); }
  var acc = 0.0;
  for (var ih = h0; ih < h1; ih++) {
    for (var iw = w0; iw < w1; iw++) { acc += X[u32(base + ih * i32(p.W) + iw)]; }
  }
  Y[p.yShift + e] = acc / f32(divisor);
}
`;

/**
 * Dispatches `code` over runs of whole planes when a plane fits every binding,
 * else plane by plane in bands of output rows, each bound with just the input
 * rows its windows reach.
 */
function poolDispatches(b: WebGPUBackend, op: string, code: string, planes: number, X: GPUTensor, outs: GPUTensor[], values: PoolGeometry): Dispatch[] {
  const { H, W, outH, outW, kH, sH, pH, dH } = values;
  const inPlane = H * W;
  const outPlane = outH * outW;
  const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
  // Input rows [lo, hi) that the windows of output rows [r0, r1) overlap.
  const inRows = (r0: number, r1: number) => {
    const lo = Math.max(0, r0 * sH - pH);
    return [lo, Math.max(lo, Math.min(H, (r1 - 1) * sH - pH + dH * (kH - 1) + 1))];
  };
  const bandBytes = (r0: number, r1: number) => {
    const [lo, hi] = inRows(r0, r1);
    return [(hi - lo) * W * 4, (r1 - r0) * outW * 4];
  };
  const whole = Math.max(inPlane, outPlane) * 4 <= maxBytes;
  const per = whole ? unitsPerChunk(op, planes, [inPlane * 4, outPlane * 4], maxBytes, 'channel plane') : 1;
  const bands = whole ? [[0, outH]] : rowBands(op, outH, bandBytes, maxBytes, 'output row (with the input rows it reads)');
  const list: Dispatch[] = [];
  for (let p0 = 0; p0 < planes; p0 += per) {
    const pc = Math.min(per, planes - p0);
    for (const [r0, r1] of bands) {
      const [lo, hi] = whole ? [0, H] : inRows(r0, r1);
      const total = pc * (r1 - r0) * outW;
      const xs = b.slice(X, p0 * inPlane + lo * W, pc * (hi - lo) * W);
      const os = outs.map((o) => b.slice(o, p0 * outPlane + r0 * outW, total));
      list.push({
        code,
        uniforms: poolParams.pack({ ...values, oh0: r0, bandH: r1 - r0, ih0: lo, negInf: -Infinity, xShift: xs.shift, yShift: os[0].shift, iShift: os[1]?.shift ?? 0, total }),
        bindings: [xs.slice, ...os.map((o) => o.slice)],
        workgroups: Math.ceil(total / 256),
      });
    }
  }
  return list;
}

export async function maxPool2dGPU(b: WebGPUBackend, x: GPUInput, opts: MaxPool2dOptions): Promise<GPUTensor | { output: GPUTensor; indices: GPUTensor }> {
  const op = 'max_pool2d';
  const plan = resolveMaxPool2d(x.shape, opts);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const idx = plan.returnIndices ? b.empty(plan.outShape, 'int32', op) : null;
    const outs = idx ? [out, idx] : [out];
    const values = {
      H: plan.inH, W: plan.inW, outH: plan.outH, outW: plan.outW, kH: plan.kH, kW: plan.kW, sH: plan.sH, sW: plan.sW,
      pH: plan.pH, pW: plan.pW, dH: plan.dH, dW: plan.dW, countIncludePad: 0, divisor: 0,
    };
    await b.run(poolDispatches(b, op, maxShader(idx !== null), plan.n * plan.c, X, outs, values));
    return idx ? { output: out, indices: idx } : out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

export async function avgPool2dGPU(b: WebGPUBackend, x: GPUInput, opts: AvgPool2dOptions): Promise<GPUTensor> {
  const op = 'avg_pool2d';
  const plan = resolveAvgPool2d(x.shape, opts);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const values = {
      H: plan.inH, W: plan.inW, outH: plan.outH, outW: plan.outW, kH: plan.kH, kW: plan.kW, sH: plan.sH, sW: plan.sW,
      pH: plan.pH, pW: plan.pW, dH: 1, dW: 1, countIncludePad: plan.countIncludePad ? 1 : 0, divisor: plan.divisorOverride ?? 0,
    };
    await b.run(poolDispatches(b, op, avgShader, plan.n * plan.c, X, [out], values));
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

const unpoolParams = params({
  outPlane: 'u32', inN: 'u32', i0: 'u32', outN: 'u32', o0: 'u32', xShift: 'u32', iShift: 'u32', wShift: 'u32', yShift: 'u32', total: 'u32',
});

/**
 * A maxUnpool2d step over input ordinals `[i0, i0 + inN)` of its planes that
 * sees, of each output plane, only the band `[o0, o0 + outN)` (bound at `o`);
 * targets outside it are left to the band's own dispatches. The winner buffer
 * starts at zero, which is right also for a target only ordinal 0 hits.
 */
function unpoolShader(bindings: string, body: string): string {
  return `${unpoolParams.wgsl}
@group(0) @binding(1) var<storage, read> I: array<i32>;
${bindings}
${FLAT_MAIN}
  let t = I[p.iShift + e];
  let ordinal = i32(p.i0 + e % p.inN);
  let inBand = t >= i32(p.o0) && t < i32(p.o0 + p.outN);
  let o = (e / p.inN) * p.outN + u32(t) - p.o0;
${body}
}
`;
}

/**
 * Scatter step: for each output position, the largest ordinal that targets it
 * (atomicMax), so a later duplicate index wins as on the CPU. Out-of-range
 * indices set the error flag instead.
 */
const unpoolScatter = unpoolShader(
  `@group(0) @binding(2) var<storage, read_write> Win: array<atomic<i32>>;
@group(0) @binding(3) var<storage, read_write> Err: array<atomic<i32>>;`,
  `  if (t < 0 || t >= i32(p.outPlane)) { atomicMax(&Err[0], 1); return; }
  if (inBand) { atomicMax(&Win[p.wShift + o], ordinal); }`,
);

/**
 * Write step, over the same inputs rather than over the outputs, so that X is
 * read only where it is bound: each winner stores its value.
 */
const unpoolWrite = unpoolShader(
  `@group(0) @binding(2) var<storage, read> Win: array<i32>;
@group(0) @binding(3) var<storage, read> X: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;`,
  '  if (inBand && Win[p.wShift + o] == ordinal) { Y[p.yShift + o] = X[p.xShift + e]; }',
);

const zeroParams = params({ shift: 'u32', total: 'u32' });

/** Float and int zeros share their bits, so one kernel clears both the output and the winners. */
const zeroShader = `${zeroParams.wgsl}
@group(0) @binding(1) var<storage, read_write> Out: array<u32>;
${FLAT_MAIN}
  Out[p.shift + e] = 0u;
}
`;

/**
 * GPU {@link maxUnpool2d}. Runs of whole planes when a plane fits every
 * binding; else each output plane in bands, every band fed by all chunks of
 * its plane's indices, so no binding holds more than a band or a chunk. Index
 * validity is checked on the device and read back (one small download), so a
 * bad index rejects with the CPU op's IndexError.
 */
export async function maxUnpool2dGPU(b: WebGPUBackend, x: GPUInput, indices: GPUInput, opts: MaxUnpool2dOptions): Promise<GPUTensor> {
  const op = 'max_unpool2d';
  const plan = resolveMaxUnpool2d(x.shape, indices.shape, opts);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const I = b.input(op, 'indices', indices, temps, 'int32');
    const out = b.empty(plan.outShape, 'float32', op);
    const planes = plan.n * plan.c;
    const inPlane = plan.inH * plan.inW;
    const outPlane = plan.outH * plan.outW;
    if (planes * outPlane === 0) return out;
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    const maxElems = Math.floor(maxBytes / 4);
    const whole = Math.max(inPlane, outPlane) <= maxElems;
    const per = whole ? unitsPerChunk(op, planes, [inPlane * 4, outPlane * 4], maxBytes, 'channel plane') : 1;
    const outStep = whole ? outPlane : maxElems;
    const inStep = whole ? inPlane : maxElems;
    const win = b.empty([per * Math.min(outPlane, outStep)], 'int32', op);
    const err = b.filled([1], 0, op);
    temps.push(win, err);
    const zero = (s: { slice: BufferSlice; shift: number }, count: number): Dispatch => ({
      code: zeroShader,
      uniforms: zeroParams.pack({ shift: s.shift, total: count }),
      bindings: [s.slice],
      workgroups: Math.ceil(count / 256),
    });
    const list: Dispatch[] = [];
    for (let p0 = 0; p0 < planes; p0 += per) {
      const pc = Math.min(per, planes - p0);
      for (let o0 = 0; o0 < outPlane; o0 += outStep) {
        const outN = Math.min(outStep, outPlane - o0);
        const ws = b.slice(win, 0, pc * outN);
        const ys = b.slice(out, p0 * outPlane + o0, pc * outN);
        list.push(zero(ws, pc * outN), zero(ys, pc * outN));
        // Chunks run in order, so a later chunk's winner overwrites an earlier one's, as a later duplicate does on the CPU.
        for (let i0 = 0; i0 < inPlane; i0 += inStep) {
          const inN = Math.min(inStep, inPlane - i0);
          const is = b.slice(I, p0 * inPlane + i0, pc * inN);
          const xs = b.slice(X, p0 * inPlane + i0, pc * inN);
          const uniforms = unpoolParams.pack({ outPlane, inN, i0, outN, o0, xShift: xs.shift, iShift: is.shift, wShift: ws.shift, yShift: ys.shift, total: pc * inN });
          const workgroups = Math.ceil((pc * inN) / 256);
          list.push(
            { code: unpoolScatter, uniforms, bindings: [is.slice, ws.slice, b.slice(err).slice], workgroups },
            { code: unpoolWrite, uniforms, bindings: [is.slice, ws.slice, xs.slice, ys.slice], workgroups },
          );
        }
      }
    }
    await b.run(list);
    const flag = (await err.read()).data[0];
    if (flag !== 0) {
      out.dispose();
      const bad = Array.from((await I.read()).data).find((t) => t < 0 || t >= outPlane);
      throw new IndexError(`${op}(): Found an invalid max index: ${bad} (output volumes are of size ${plan.outH}x${plan.outW})`);
    }
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * sigmoidFocalLoss and binaryCrossEntropyWithLogits on the GPU: an elementwise
 * pass, then for 'sum' / 'mean' a two-pass reduction (strided partial sums,
 * then one thread over the partials; no workgroup barriers).
 */
import {
  resolveBinaryCrossEntropyWithLogits,
  resolveSigmoidFocalLoss,
  type Reduction,
} from '../../../ops/losses';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, FLAT_WORKGROUP, params, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

const lossParams = params({ total: 'u32', alpha: 'f32', gamma: 'f32', xShift: 'u32', tShift: 'u32', yShift: 'u32' });

/**
 * `ce = (1 - t) x + max(-x, 0) + log(1 + exp(-|x|))` (WGSL has no log1p: below
 * 1e-7 relative the last term loses digits, an absolute error under 1e-7).
 * Focal: `ce * (1 - p_t)^gamma * alpha_t`, with `1 - p_t = p (1 - t) + sigmoid(-x) t`
 * and `0^gamma` spelled out (WGSL's pow is undefined at 0).
 */
function lossShader(focal: boolean): string {
  return `${lossParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
${FLAT_MAIN}
  let x = X[p.xShift + e];
  let t = T[p.tShift + e];
  var v = (1.0 - t) * x + max(-x, 0.0) + log(1.0 + exp(-abs(x)));
  ${
    focal
      ? `let q = sigmoid(x) * (1.0 - t) + sigmoid(-x) * t;
  if (p.gamma != 0.0) { v = v * select(pow(q, p.gamma), 0.0, q <= 0.0); }
  if (p.alpha >= 0.0) { v = v * (p.alpha * t + (1.0 - p.alpha) * (1.0 - t)); }`
      : ''
  }
  Y[p.yShift + e] = v;
}
`;
}

const sumParams = params({ n: 'u32', threads: 'u32', scale: 'f32' });
const PARTIALS = 4096;

/** Pass 1: thread i sums elements i, i + threads, ...; pass 2 (threads = 1) sums the partials and scales. */
const sumShader = `${sumParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  ${FLAT_WORKGROUP}
  let i = wid * 256u + li;
  if (i >= p.threads) { return; }
  var s = 0.0;
  for (var j = i; j < p.n; j += p.threads) { s += X[j]; }
  Y[i] = s * p.scale;
}
`;

/** A 0-d tensor: the sum of `t` times `scale` (mean: 1/n, NaN for an empty mean as on the CPU). */
async function reduceSum(b: WebGPUBackend, op: string, t: GPUTensor, scale: number): Promise<GPUTensor> {
  const n = t.numel;
  unitsPerChunk(op, 1, [n * 4], b.limits.maxBindingBytes, 'loss tensor');
  const partial = b.empty([PARTIALS], 'float32', op);
  const out = b.empty([], 'float32', op);
  try {
    await b.run([
      { code: sumShader, uniforms: sumParams.pack({ n, threads: PARTIALS, scale: 1 }), bindings: [b.slice(t).slice, b.slice(partial).slice], workgroups: PARTIALS / 256 },
      { code: sumShader, uniforms: sumParams.pack({ n: PARTIALS, threads: 1, scale }), bindings: [b.slice(partial).slice, b.slice(out).slice], workgroups: 1 },
    ]);
  } finally {
    partial.dispose();
  }
  return out;
}

export interface GPUSigmoidFocalLossOptions {
  alpha?: number;
  gamma?: number;
  reduction?: Reduction;
}

export interface GPUBinaryCrossEntropyWithLogitsOptions {
  reduction?: Reduction;
}

async function elementwiseLoss(
  b: WebGPUBackend,
  op: string,
  x: GPUInput,
  target: GPUInput,
  plan: { shape: number[]; numel: number; reduction: Reduction; outShape: number[] },
  focal: { alpha: number; gamma: number } | null,
): Promise<GPUTensor> {
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const T = b.input(op, 'target', target, temps);
    const perElem = b.empty(plan.shape, 'float32', op);
    if (plan.reduction !== 'none') temps.push(perElem);
    const n = plan.numel;
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    const per = unitsPerChunk(op, Math.max(n, 1), [4], maxBytes, 'element');
    const code = lossShader(focal !== null);
    const list: Dispatch[] = [];
    for (let e0 = 0; e0 < n; e0 += per) {
      const c = Math.min(per, n - e0);
      const xs = b.slice(X, e0, c);
      const ts = b.slice(T, e0, c);
      const ys = b.slice(perElem, e0, c);
      list.push({
        code,
        uniforms: lossParams.pack({ total: c, alpha: focal?.alpha ?? 0, gamma: focal?.gamma ?? 0, xShift: xs.shift, tShift: ts.shift, yShift: ys.shift }),
        bindings: [xs.slice, ts.slice, ys.slice],
        workgroups: Math.ceil(c / 256),
      });
    }
    await b.run(list);
    if (plan.reduction === 'none') return perElem;
    return await reduceSum(b, op, perElem, plan.reduction === 'mean' ? 1 / n : 1);
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** GPU {@link sigmoidFocalLoss} (same options and checks; no `grad`). */
export function sigmoidFocalLossGPU(b: WebGPUBackend, inputs: GPUInput, targets: GPUInput, options: GPUSigmoidFocalLossOptions = {}): Promise<GPUTensor> {
  const plan = resolveSigmoidFocalLoss(inputs, targets, options);
  return elementwiseLoss(b, 'sigmoidFocalLoss', inputs, targets, plan, { alpha: plan.alpha, gamma: plan.gamma });
}

/** GPU {@link binaryCrossEntropyWithLogits} without `weight` / `posWeight` (those run on the CPU). */
export function bceWithLogitsGPU(b: WebGPUBackend, input: GPUInput, target: GPUInput, options: GPUBinaryCrossEntropyWithLogitsOptions = {}): Promise<GPUTensor> {
  const plan = resolveBinaryCrossEntropyWithLogits(input, target, options);
  return elementwiseLoss(b, 'binaryCrossEntropyWithLogits', input, target, plan, null);
}

/**
 * pad, softmax / logSoftmax on the GPU: gathers and per-slice reductions,
 * one thread per output element (pad) or per normalised slice (softmax).
 */
import { padIndexMap, resolvePad, type PadOptions } from '../../../ops/pad';
import { resolveSoftmax, type SoftmaxOptions } from '../../../ops/softmax';
import { shapeSize, Tensor } from '../../../tensor';
import type { Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { f32Bits, FLAT_MAIN, params, unitsPerChunk } from '../program';
import type { GPUTensor } from '../tensor';

// e0: flat output index of the dispatch's first element; x0: flat input index where the bound X slice starts.
const padParams = params({ ndim: 'u32', total: 'u32', fill: 'u32', xShift: 'u32', yShift: 'u32', e0: 'u32', x0: 'u32' });

/**
 * Source index per dimension, from the output index and (out, in, before,
 * after) of that dimension, by torch's rules for each mode: constant fills
 * outside the input, replicate clamps, reflect mirrors without repeating the
 * edge, circular wraps over what is left after negative (cropping) pads.
 */
function padShader(mode: string, elem: 'f32' | 'i32'): string {
  const rule: Record<string, string> = {
    constant: 'if (t < 0 || t >= size) { return -1; } return t;',
    replicate: 'return clamp(t, 0, size - 1);',
    reflect: 'if (t < 0) { return -t; } if (t >= size) { return 2 * (size - 1) - t; } return t;',
    circular: `let keptStart = max(-before, 0);
  let kept = size - keptStart - max(-after, 0);
  return keptStart + (((j - max(before, 0)) % kept) + kept) % kept;`,
  };
  return `${padParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<${elem}>;
@group(0) @binding(2) var<storage, read> Dims: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<${elem}>;
fn source(j: i32, size: i32, before: i32, after: i32) -> i32 {
  let t = j - before;
  ${rule[mode]}
}
${FLAT_MAIN}
  var rest = p.e0 + e;
  var src = 0;
  var stride = 1;
  for (var d = i32(p.ndim) - 1; d >= 0; d--) {
    let outSize = u32(Dims[4 * d]);
    let size = Dims[4 * d + 1];
    let j = i32(rest % outSize);
    rest = rest / outSize;
    let s = source(j, size, Dims[4 * d + 2], Dims[4 * d + 3]);
    if (s < 0) { Y[p.yShift + e] = bitcast<${elem}>(p.fill); return; }
    src += s * stride;
    stride *= size;
  }
  Y[p.yShift + e] = X[p.xShift + u32(src) - p.x0];
}
`;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/**
 * GPU {@link pad} for float32 and int32 tensors (any rank for `'constant'`).
 * Tensors above a binding are split: `ds` is the outermost dimension whose rows
 * (the elements after one index of it) fit in output and input; each dispatch
 * covers, for one index of every dimension before `ds`, a run of indices along
 * `ds` whose output fits and whose sources along `ds` span input rows that fit.
 */
export async function padGPU(b: WebGPUBackend, x: GPUInput, pads: readonly number[], options: PadOptions = {}): Promise<GPUTensor> {
  const op = 'pad';
  const dtype = x instanceof Tensor ? (x.dtype === 'float32' || x.dtype === 'float64' ? 'float32' : 'int32') : x.dtype;
  const plan = resolvePad(x.shape, dtype, pads, options);
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps, dtype);
    const out = b.empty(plan.outShape, dtype, op);
    if (shapeSize(plan.outShape) === 0) return out;
    // A 0-d tensor is a 1-element 1-d one here.
    const inShape = X.shape.length === 0 ? [1] : X.shape;
    const outShape = plan.outShape.length === 0 ? [1] : plan.outShape;
    const nd = inShape.length;
    const dims = new Int32Array(4 * nd);
    for (let d = 0; d < nd; d++) dims.set([outShape[d], inShape[d], plan.before[d] ?? 0, plan.after[d] ?? 0], 4 * d);
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    unitsPerChunk(op, 1, [dims.byteLength], maxBytes, 'table of dimensions');
    const D = b.upload(new Tensor(dims, [dims.length], 'int32'));
    temps.push(D);
    // The fill arrives as the element's bits (a u32 uniform); packing wraps a negative int32.
    const fill = dtype === 'float32' ? f32Bits(plan.value) : plan.value;
    const maxFloats = Math.floor(maxBytes / 4);
    const outStride = stridesOf(outShape);
    const inStride = stridesOf(inShape);
    let ds = 0;
    while (outStride[ds] > maxFloats || inStride[ds] > maxFloats) ds++;
    const maps = inShape.slice(0, ds + 1).map((size, d) => padIndexMap(plan.mode, size, plan.before[d] ?? 0, plan.after[d] ?? 0));
    // Runs [a, r) along ds and the source rows [lo, hi] they read (lo > hi: all fill).
    const runs: { a: number; r: number; lo: number; hi: number }[] = [];
    for (let a = 0; a < outShape[ds]; ) {
      let lo = Infinity;
      let hi = -Infinity;
      let r = a;
      for (; r < outShape[ds] && (r - a + 1) * outStride[ds] <= maxFloats; r++) {
        const s = maps[ds][r];
        if (s < 0) continue;
        if ((Math.max(hi, s) - Math.min(lo, s) + 1) * inStride[ds] > maxFloats) break;
        lo = Math.min(lo, s);
        hi = Math.max(hi, s);
      }
      runs.push({ a, r, lo, hi });
      a = r;
    }
    const code = padShader(plan.mode, dtype === 'float32' ? 'f32' : 'i32');
    const list: Dispatch[] = [];
    const prefixes = shapeSize(outShape.slice(0, ds));
    for (let q = 0; q < prefixes; q++) {
      // Flat input index of the source of output index q over the dims before ds (-1: the fill).
      let src = 0;
      for (let d = ds - 1, rest = q; d >= 0 && src >= 0; d--) {
        const s = maps[d][rest % outShape[d]];
        rest = Math.floor(rest / outShape[d]);
        src = s < 0 ? -1 : src + s * inStride[d];
      }
      for (const { a, r, lo, hi } of runs) {
        const e0 = (q * outShape[ds] + a) * outStride[ds];
        const reads = src >= 0 && lo <= hi;
        const x0 = reads ? src + lo * inStride[ds] : 0;
        // A chunk of fill only reads nothing, but X must still be bound.
        const xs = b.slice(X, x0, reads ? (hi - lo + 1) * inStride[ds] : 0);
        const ys = b.slice(out, e0, (r - a) * outStride[ds]);
        list.push({
          code,
          uniforms: padParams.pack({ ndim: nd, total: (r - a) * outStride[ds], fill, xShift: xs.shift, yShift: ys.shift, e0, x0 }),
          bindings: [xs.slice, b.slice(D).slice, ys.slice],
          workgroups: Math.ceil(((r - a) * outStride[ds]) / 256),
        });
      }
    }
    await b.run(list);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

const softmaxParams = params({ size: 'u32', inner: 'u32', total: 'u32', xShift: 'u32', yShift: 'u32', negInf: 'f32' });

/**
 * The per-element steps of softmax, shared by the single-pass and the split
 * kernels so that both compute the same values in the same order: `m` the
 * running max (NaN wins, tested on the bits), `s` the float32 sum of
 * exp(x - m), `ls` its log.
 */
const IS_NAN = `fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn isInf(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u; }`;
const maxStep = (v: string) => `let v = ${v}; if (v > m || isNan(v)) { m = v; }`;
const sumStep = (v: string) => `s += exp(${v} - m);`;
/**
 * An infinite max makes the whole slice NaN on the CPU (inf - inf in the sum);
 * WGSL leaves inf arithmetic to the implementation (SwiftShader gives 0 for
 * the finite entries), so it is spelt out. The NaN is built at run time from
 * `p.negInf`'s bits: a NaN constant is a shader error.
 */
const output = (log: boolean, v: string) =>
  `select(${log ? `${v} - m - ls` : `exp(${v} - m) / s`}, bitcast<f32>(bitcast<u32>(p.negInf) | 0x7fc00000u), isInf(m))`;

/** One thread per slice (outer, inner): max, then the sum, then the outputs. */
function softmaxShader(log: boolean): string {
  const x = (k: string) => `X[p.xShift + ${k}]`;
  return `${softmaxParams.wgsl}
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${IS_NAN}
${FLAT_MAIN}
  let base = (e / p.inner) * p.size * p.inner + e % p.inner;
  var m = p.negInf;
  for (var i = 0u; i < p.size; i++) { ${maxStep(x('base + i * p.inner'))} }
  var s = 0.0;
  for (var i = 0u; i < p.size; i++) { ${sumStep(x('base + i * p.inner'))} }
  ${log ? 'let ls = log(s);' : ''}
  for (var i = 0u; i < p.size; i++) {
    let k = base + i * p.inner;
    Y[p.yShift + k] = ${output(log, x('k'))};
  }
}
`;
}

// A piece: `rows` rows along the normalised dim, `inner` apart, of `total` adjacent slices;
// `first` when its rows start at 0 (the running values start afresh).
const pieceParams = params({
  rows: 'u32', inner: 'u32', total: 'u32', first: 'u32', xShift: 'u32', yShift: 'u32', mShift: 'u32', sShift: 'u32', negInf: 'f32',
});

type SoftmaxPass = 'max' | 'sum' | 'out';
/** How many of X, M, S, Y (in that order) a pass binds. */
const PASS_BINDINGS: Record<SoftmaxPass, number> = { max: 2, sum: 3, out: 4 };

/**
 * One pass of the split softmax over one piece, one thread per slice: the
 * running max M and sum S of each slice are carried from piece to piece in
 * scratch buffers, pieces running in order along the normalised dim.
 */
function softmaxPieceShader(pass: SoftmaxPass, log: boolean): string {
  const x = 'X[p.xShift + r * p.inner + e]';
  const loop = (step: string) => `for (var r = 0u; r < p.rows; r++) { ${step} }`;
  const body: Record<SoftmaxPass, string> = {
    max: `var m = p.negInf;
  if (p.first == 0u) { m = M[p.mShift + e]; }
  ${loop(maxStep(x))}
  M[p.mShift + e] = m;`,
    sum: `let m = M[p.mShift + e];
  var s = 0.0;
  if (p.first == 0u) { s = S[p.sShift + e]; }
  ${loop(sumStep(x))}
  S[p.sShift + e] = s;`,
    out: `let m = M[p.mShift + e];
  let s = S[p.sShift + e];
  ${log ? 'let ls = log(s);' : ''}
  ${loop(`Y[p.yShift + r * p.inner + e] = ${output(log, x)};`)}`,
  };
  const written = { max: 'M', sum: 'S', out: 'Y' }[pass];
  const bound = ['X', 'M', 'S', 'Y'].slice(0, PASS_BINDINGS[pass]);
  return `${pieceParams.wgsl}
${bound.map((v, i) => `@group(0) @binding(${i + 1}) var<storage, ${v === written ? 'read_write' : 'read'}> ${v}: array<f32>;`).join('\n')}
${IS_NAN}
${FLAT_MAIN}
  ${body[pass]}
}
`;
}

/**
 * GPU {@link softmax} / {@link logSoftmax} (float32; the `dtype` option may only be float32).
 * Blocks (the normalised dim and those after it) that fit a binding run in one pass,
 * split over the leading dims; larger ones run in three passes (max, sum, outputs)
 * over pieces of a block: runs of its rows, or parts of one row when a row does not fit.
 */
export async function softmaxGPU(b: WebGPUBackend, op: 'softmax' | 'logSoftmax', x: GPUInput, options: SoftmaxOptions): Promise<GPUTensor> {
  const plan = resolveSoftmax(op, x.shape, x instanceof Tensor ? x.dtype : x.dtype, options);
  const { outer, size, inner } = plan;
  const log = op === 'logSoftmax';
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const out = b.empty(plan.outShape, 'float32', op);
    const block = size * inner;
    if (outer * block === 0) return out;
    const maxFloats = Math.floor((b.limits.maxBindingBytes - b.limits.offsetAlignment) / 4);
    const list: Dispatch[] = [];
    if (block <= maxFloats) {
      const code = softmaxShader(log);
      const per = Math.floor(maxFloats / block);
      for (let o0 = 0; o0 < outer; o0 += per) {
        const oc = Math.min(per, outer - o0);
        const xs = b.slice(X, o0 * block, oc * block);
        const ys = b.slice(out, o0 * block, oc * block);
        list.push({
          code,
          uniforms: softmaxParams.pack({ size, inner, total: oc * inner, xShift: xs.shift, yShift: ys.shift, negInf: -Infinity }),
          bindings: [xs.slice, ys.slice],
          workgroups: Math.ceil((oc * inner) / 256),
        });
      }
    } else {
      const M = b.empty([outer * inner], 'float32', op);
      const S = b.empty([outer * inner], 'float32', op);
      temps.push(M, S);
      const rows = Math.max(1, Math.floor(maxFloats / inner));
      const cols = Math.min(inner, maxFloats);
      const codes = { max: softmaxPieceShader('max', log), sum: softmaxPieceShader('sum', log), out: softmaxPieceShader('out', log) };
      for (let o = 0; o < outer; o++) {
        for (let i0 = 0; i0 < inner; i0 += cols) {
          const ic = Math.min(cols, inner - i0);
          const ms = b.slice(M, o * inner + i0, ic);
          const ss = b.slice(S, o * inner + i0, ic);
          for (const pass of ['max', 'sum', 'out'] as const) {
            for (let k0 = 0; k0 < size; k0 += rows) {
              const kc = Math.min(rows, size - k0);
              const start = (o * size + k0) * inner + i0;
              const xs = b.slice(X, start, (kc - 1) * inner + ic);
              const ys = b.slice(out, start, (kc - 1) * inner + ic);
              list.push({
                code: codes[pass],
                uniforms: pieceParams.pack({
                  rows: kc, inner, total: ic, first: k0 === 0 ? 1 : 0, xShift: xs.shift, yShift: ys.shift, mShift: ms.shift, sShift: ss.shift, negInf: -Infinity,
                }),
                bindings: [xs.slice, ms.slice, ss.slice, ys.slice].slice(0, PASS_BINDINGS[pass]),
                workgroups: Math.ceil(ic / 256),
              });
            }
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

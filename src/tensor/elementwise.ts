import { allocate, floatResultType, promoteTypes, promoteWithScalar, type DType } from './dtype';
import { fmtShape, ShapeError, ValueError } from './errors';
import { full } from './factories';
import { Tensor } from './tensor';

export type TensorLike = Tensor | number;

/** PyTorch broadcasting: align trailing dims; each pair must match or one be 1. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const k = nd - s.length + i;
      const d = s[i];
      if (d === out[k] || d === 1) continue;
      if (out[k] === 1) {
        out[k] = d;
        continue;
      }
      throw new ShapeError(`shapes ${shapes.map(fmtShape).join(', ')} are not broadcastable: size ${out[k]} vs ${d} at dimension ${k}`);
    }
  }
  return out;
}

/**
 * Visits every element of `outShape` in row-major order and calls `body` with the
 * flat offsets of each (already broadcast) operand. The innermost dimension is a
 * tight loop over precomputed strides.
 */
function forEachBroadcast(outShape: readonly number[], operands: Tensor[], body: (o: number, offs: Int32Array) => void): void {
  const nd = outShape.length;
  const views = operands.map((t) => t.expand(outShape));
  const offs = new Int32Array(views.length);
  let n = 1;
  for (const d of outShape) n *= d;
  if (n === 0) return;
  if (nd === 0) {
    views.forEach((v, j) => (offs[j] = v.offset));
    body(0, offs);
    return;
  }
  const last = nd - 1;
  const inner = outShape[last];
  const base = views.map((v) => v.offset);
  const innerStride = views.map((v) => v.strides[last]);
  const idx = new Array<number>(nd).fill(0);
  for (let o = 0; o < n; o += inner) {
    for (let i = 0; i < inner; i++) {
      for (let j = 0; j < views.length; j++) offs[j] = base[j] + i * innerStride[j];
      body(o + i, offs);
    }
    for (let k = last - 1; k >= 0; k--) {
      idx[k]++;
      for (let j = 0; j < views.length; j++) base[j] += views[j].strides[k];
      if (idx[k] < outShape[k]) break;
      for (let j = 0; j < views.length; j++) base[j] -= views[j].strides[k] * outShape[k];
      idx[k] = 0;
    }
  }
}

function asTensor(v: TensorLike, dtype: DType): Tensor {
  return v instanceof Tensor ? v : full([], v, { dtype });
}

function resultType(a: TensorLike, b: TensorLike): DType {
  if (a instanceof Tensor && b instanceof Tensor) return promoteTypes(a.dtype, b.dtype);
  if (a instanceof Tensor) return promoteWithScalar(a.dtype, b as number);
  if (b instanceof Tensor) return promoteWithScalar(b.dtype, a);
  return Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
}

function binary(name: string, a: TensorLike, b: TensorLike, outDtype: DType, computeDtype: DType, f: (x: number, y: number) => number): Tensor {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new ValueError(`${name}(): at least one argument must be a Tensor`);
  const ta = asTensor(a, computeDtype);
  const tb = asTensor(b, computeDtype);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const out = allocate(outDtype, shape.reduce((p, d) => p * d, 1));
  const da = ta.data;
  const db = tb.data;
  forEachBroadcast(shape, [ta, tb], (o, offs) => {
    out[o] = f(da[offs[0]], db[offs[1]]);
  });
  return new Tensor(out, shape, outDtype);
}

function arithmetic(name: string, f: (x: number, y: number) => number) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const dt = resultType(a, b);
    return binary(name, a, b, dt, dt, f);
  };
}

function comparison(name: string, f: (x: number, y: number) => boolean) {
  return (a: TensorLike, b: TensorLike): Tensor => binary(name, a, b, 'bool', resultType(a, b), (x, y) => (f(x, y) ? 1 : 0));
}

/** `a + b` with broadcasting and type promotion. */
export const add = arithmetic('add', (x, y) => x + y);
/** `a - b` with broadcasting and type promotion. */
export const sub = arithmetic('sub', (x, y) => x - y);
/** `a * b` with broadcasting and type promotion. */
export const mul = arithmetic('mul', (x, y) => x * y);
/** Elementwise maximum; NaN propagates like `torch.maximum`. */
export const maximum = arithmetic('maximum', (x, y) => (x !== x || y !== y ? NaN : Math.max(x, y)));
/** Elementwise minimum; NaN propagates like `torch.minimum`. */
export const minimum = arithmetic('minimum', (x, y) => (x !== x || y !== y ? NaN : Math.min(x, y)));

/** True division (`torch.div`): integer inputs give float32. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const dt = floatResultType(resultType(a, b));
  return binary('div', a, b, dt, dt, (x, y) => x / y);
}

/** `a ** b`; integer inputs give float32 unless both are integer tensors. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const dt = resultType(a, b);
  return binary('pow', a, b, dt, dt, Math.pow);
}

export const eq = comparison('eq', (x, y) => x === y);
export const ne = comparison('ne', (x, y) => x !== y);
export const lt = comparison('lt', (x, y) => x < y);
export const le = comparison('le', (x, y) => x <= y);
export const gt = comparison('gt', (x, y) => x > y);
export const ge = comparison('ge', (x, y) => x >= y);

/** `cond ? a : b` elementwise with broadcasting over all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const dt = resultType(a, b);
  const ta = asTensor(a, dt);
  const tb = asTensor(b, dt);
  const shape = broadcastShapes(cond.shape, ta.shape, tb.shape);
  const out = allocate(dt, shape.reduce((p, d) => p * d, 1));
  const dc = cond.data;
  const da = ta.data;
  const db = tb.data;
  forEachBroadcast(shape, [cond, ta, tb], (o, offs) => {
    out[o] = dc[offs[0]] !== 0 ? da[offs[1]] : db[offs[2]];
  });
  return new Tensor(out, shape, dt);
}

function unary(x: Tensor, outDtype: DType, f: (v: number) => number): Tensor {
  const src = x.contiguous().data;
  const out = allocate(outDtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return new Tensor(out, x.shape, outDtype);
}

function floatUnary(f: (v: number) => number) {
  return (x: Tensor): Tensor => unary(x, floatResultType(x.dtype), f);
}

export const exp = floatUnary(Math.exp);
export const log = floatUnary(Math.log);
export const sqrt = floatUnary(Math.sqrt);
export const tanh = floatUnary(Math.tanh);
/** Logistic sigmoid, evaluated without overflow for large |x|. */
export const sigmoid = floatUnary((v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))));

export function neg(x: Tensor): Tensor {
  return unary(x, x.dtype === 'bool' ? 'int32' : x.dtype, (v) => -v);
}

export function abs(x: Tensor): Tensor {
  return unary(x, x.dtype, Math.abs);
}

export function relu(x: Tensor): Tensor {
  return unary(x, x.dtype, (v) => (v > 0 || v !== v ? v : 0));
}

/** Clamps into [min, max]; either bound may be omitted. NaN stays NaN, like torch. */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw new ValueError("clamp(): at least one of 'min' or 'max' must not be undefined");
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  const dt = min !== undefined && !Number.isInteger(min) ? promoteWithScalar(x.dtype, min) : max !== undefined ? promoteWithScalar(x.dtype, max) : x.dtype;
  return unary(x, dt, (v) => (v !== v ? v : v < lo ? lo : v > hi ? hi : v));
}

export function logicalNot(x: Tensor): Tensor {
  return unary(x, 'bool', (v) => (v === 0 ? 1 : 0));
}

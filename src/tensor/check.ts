import { isFloatDType, type DType } from './dtype';
import { DTypeError, fmtShape, ShapeError, ValueError } from './errors';
import { Tensor } from './tensor';

/**
 * Argument checks shared by every op and both backends. Each throws a typed
 * error whose message starts with the op name and names the argument.
 */

export function expectTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}(): argument '${name}' must be a Tensor, got ${describe(x)}`);
}

export function expectNdim(op: string, name: string, x: Tensor, allowed: readonly number[], what?: string): void {
  if (!allowed.includes(x.ndim)) {
    const exp = what ?? `${allowed.join('-D or ')}-D`;
    throw new ShapeError(`${op}(): Expected ${exp} tensor for argument '${name}', but got ${x.ndim}-D input of size ${fmtShape(x.shape)}`);
  }
}

export function expectFloat(op: string, name: string, x: Tensor): void {
  if (!isFloatDType(x.dtype)) {
    throw new DTypeError(`${op}(): argument '${name}' must be float32 or float64, got ${x.dtype}`);
  }
}

export function expectDType(op: string, name: string, x: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(x.dtype)) {
    throw new DTypeError(`${op}(): argument '${name}' must have dtype ${allowed.join(' or ')}, got ${x.dtype}`);
  }
}

export function expectSameDType(op: string, names: [string, string], a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`${op}(): expected '${names[0]}' (${a.dtype}) and '${names[1]}' (${b.dtype}) to have the same dtype`);
  }
}

export function expectShape(op: string, name: string, x: Tensor, shape: readonly number[]): void {
  if (x.ndim !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}(): argument '${name}' must have shape ${fmtShape(shape)}, got ${fmtShape(x.shape)}`);
  }
}

export interface IntOptions {
  min?: number;
  max?: number;
}

export function expectInt(op: string, name: string, v: unknown, { min = -Infinity, max = Infinity }: IntOptions = {}): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = min > -Infinity ? (max < Infinity ? ` in [${min}, ${max}]` : ` >= ${min}`) : '';
    throw new ValueError(`${op}(): argument '${name}' must be an integer${range}, got ${describe(v)}`);
  }
  return v;
}

export function expectNumber(op: string, name: string, v: unknown, { finite = true } = {}): number {
  if (typeof v !== 'number' || (finite && !Number.isFinite(v))) {
    throw new ValueError(`${op}(): argument '${name}' must be a ${finite ? 'finite ' : ''}number, got ${describe(v)}`);
  }
  return v;
}

/** `k` or `[kh, kw]` → `[kh, kw]`, each an integer within bounds (torch's `_pair`). */
export function pair(op: string, name: string, v: number | readonly number[], bounds: IntOptions = {}): [number, number] {
  const arr = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(arr) || arr.length !== 2) {
    throw new ValueError(`${op}(): argument '${name}' must be an integer or a pair of integers, got ${describe(v)}`);
  }
  return [expectInt(op, name, arr[0], bounds), expectInt(op, name, arr[1], bounds)];
}

/** One value per option key that must be given, else a clear error. */
export function required<T>(op: string, name: string, v: T | undefined): T {
  if (v === undefined) throw new ValueError(`${op}(): missing required argument '${name}'`);
  return v;
}

/**
 * Accepts `C x H x W` (unbatched) or `N x C x H x W` like PyTorch, returning a
 * 4-D view and a function that restores the caller's rank on the output.
 */
export function batched4d(op: string, name: string, x: Tensor): { x4: Tensor; unbatch: (y: Tensor) => Tensor } {
  expectNdim(op, name, x, [3, 4], `3D (unbatched) or 4D (batched)`);
  if (x.ndim === 4) return { x4: x, unbatch: (y) => y };
  return { x4: x.unsqueeze(0), unbatch: (y) => y.squeeze(0) };
}

export function describe(v: unknown): string {
  if (v instanceof Tensor) return `Tensor of shape ${fmtShape(v.shape)} (${v.dtype})`;
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

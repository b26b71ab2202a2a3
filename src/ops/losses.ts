/**
 * Loss functions with PyTorch 1.13 / torchvision 0.14 semantics, each with an
 * optional gradient with respect to its input.
 *
 * Every loss computes in float64 and rounds once to the output dtype, so a
 * float32 result is within an ulp or two of the exact value; torch computes in
 * float32 and can differ from it by a few ulps of the result, plus an absolute
 * term of about 1e-7 times the input magnitude where torch's float32 formulas
 * cancel (log-sum-exp of large logits, `log(1 + exp(-x))` for large x).
 * Reductions accumulate in float64. See docs/ops-losses.md for the formulas.
 *
 * Gradient convention: with `{ grad: true }` a loss returns `{ loss, grad }`,
 * `grad` being d(loss)/d(input) for 'mean' and 'sum', and d(sum(loss))/d(input)
 * for 'none' (torch's `loss.backward(torch.ones_like(loss))`). `grad` has the
 * input's shape and dtype.
 */
import {
  allocate,
  broadcastShapes,
  DTypeError,
  expectTensor,
  fmtShape,
  IndexError,
  isFloatDType,
  promoteTypes,
  shapeSize,
  ShapeError,
  sum,
  Tensor,
  ValueError,
  type DType,
  type TypedArray,
} from '../tensor';

export type Reduction = 'none' | 'mean' | 'sum';

/** What the resolvers need to know of a tensor (a CPU `Tensor` or a `GPUTensor`). */
export interface TensorInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** The result of a loss called with `{ grad: true }`. */
export interface LossWithGrad {
  /** The reduced loss (0-d) or, for 'none', the per-element loss. */
  loss: Tensor;
  /** d(loss)/d(input) ('mean', 'sum') or d(sum(loss))/d(input) ('none'); the input's shape and dtype. */
  grad: Tensor;
}

export interface LossOptions {
  /** 'none' keeps the per-element (per-sample) loss; 'mean' and 'sum' reduce it. */
  reduction?: Reduction;
  /** Also return the gradient with respect to the input. */
  grad?: boolean;
}

/** Options that ask for the gradient: the loss returns `{ loss, grad }`. */
export type WithGrad<O> = O & { grad: true };
/** Options without the gradient: the loss returns a Tensor. */
export type NoGrad<O> = O & { grad?: false };

/** Normalised options shared by every plan. */
export interface LossPlan {
  reduction: Reduction;
  /** Shape of the returned loss: `[]` when reduced. */
  outShape: number[];
  /** dtype of the returned loss. */
  dtype: DType;
}

/** A loss computed element by element over `shape` (the BCE family, focal and the pointwise losses). */
export interface ElementwiseLossPlan extends LossPlan {
  /** Shape of the unreduced loss. */
  shape: number[];
  numel: number;
}

const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

function resolveReduction(op: string, r: unknown, fallback: Reduction): Reduction {
  if (r === undefined) return fallback;
  if (!REDUCTIONS.includes(r as Reduction)) {
    throw new ValueError(`${op}(): ${String(r)} is not a valid value for reduction; expected 'none', 'mean' or 'sum'`);
  }
  return r as Reduction;
}

function expectFloatInfo(op: string, name: string, t: TensorInfo): void {
  if (!isFloatDType(t.dtype)) throw new DTypeError(`${op}(): argument '${name}' must be float32 or float64, got ${t.dtype}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Whether `from` broadcasts to exactly `to` (torch's in-place broadcasting rule). */
function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  const lead = to.length - from.length;
  return from.every((d, i) => d === 1 || d === to[lead + i]);
}

function expectBroadcastsTo(op: string, name: string, t: TensorInfo, shape: readonly number[]): void {
  if (!broadcastsTo(t.shape, shape)) {
    throw new ShapeError(`${op}(): argument '${name}' of shape ${fmtShape(t.shape)} must broadcast to the input shape ${fmtShape(shape)}`);
  }
}

function elementwisePlan(shape: readonly number[], reduction: Reduction, dtype: DType): ElementwiseLossPlan {
  return { shape: [...shape], numel: shapeSize(shape), reduction, outShape: reduction === 'none' ? [...shape] : [], dtype };
}

/** Float values of `t` broadcast to `shape`, dense row-major (no copy when already so). */
function denseAs(t: Tensor, shape: readonly number[]): TypedArray {
  return (sameShape(t.shape, shape) ? t : t.expand(shape)).contiguous().data;
}

/** The 0-d result of 'sum' (`acc`) or 'mean' (`acc / count`; NaN for 0 / 0). */
function finishReduced(plan: LossPlan, acc: number, count: number): Tensor {
  const out = allocate(plan.dtype, 1);
  out[0] = plan.reduction === 'mean' ? acc / count : acc;
  return new Tensor(out, [], plan.dtype);
}

function result(loss: Tensor, grad: Tensor | null): Tensor | LossWithGrad {
  return grad ? { loss, grad } : loss;
}

function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

// ---------------------------------------------------------------------------
// binary_cross_entropy

/** torch's backward clamps p (1 - p) at a float `1e-12`, also in float64. */
const BCE_GRAD_EPS = Math.fround(1e-12);

export interface BinaryCrossEntropyOptions extends LossOptions {
  /** Rescales each element's loss; must broadcast to the input shape. */
  weight?: Tensor;
}

/**
 * Checks and normalises `binaryCrossEntropy` arguments (shared with the WebGPU
 * backend). `target` must have the input's shape, `weight` broadcast to it.
 */
export function resolveBinaryCrossEntropy(
  input: TensorInfo,
  target: TensorInfo,
  options: { weight?: TensorInfo; reduction?: Reduction } = {},
): ElementwiseLossPlan {
  const op = 'binaryCrossEntropy';
  expectFloatInfo(op, 'input', input);
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${op}(): Using a target size (${fmtShape(target.shape)}) that is different to the input size (${fmtShape(input.shape)}) is not supported`);
  }
  if (options.weight) {
    expectFloatInfo(op, 'weight', options.weight);
    expectBroadcastsTo(op, 'weight', options.weight, input.shape);
  }
  return elementwisePlan(input.shape, resolveReduction(op, options.reduction, 'mean'), promoteTypes(input.dtype, target.dtype));
}

/**
 * Binary cross entropy between probabilities `input` and targets of the same
 * shape, as `torch.nn.functional.binary_cross_entropy`:
 * `-w * (t * max(log p, -100) + (1 - t) * max(log(1 - p), -100))`.
 * Inputs outside [0, 1] (or NaN) are a ValueError; targets are not checked.
 * The gradient is torch's `w * (p - t) / max(p * (1 - p), 1e-12)` (1e-12 rounded to float32).
 * Default reduction 'mean'. float32 vs torch: rtol 1e-6, atol 2e-7 * max(1, max|input|).
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: WithGrad<BinaryCrossEntropyOptions>): LossWithGrad;
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: NoGrad<BinaryCrossEntropyOptions>): Tensor;
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: BinaryCrossEntropyOptions): Tensor | LossWithGrad;
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BinaryCrossEntropyOptions = {}): Tensor | LossWithGrad {
  const op = 'binaryCrossEntropy';
  expectTensor(op, 'input', input);
  expectTensor(op, 'target', target);
  if (options.weight !== undefined) expectTensor(op, 'weight', options.weight);
  const plan = resolveBinaryCrossEntropy(input, target, options);
  const { numel: n, reduction } = plan;
  const x = input.contiguous().data;
  const t = target.contiguous().data;
  const w = options.weight ? denseAs(options.weight, plan.shape) : null;
  const none = reduction === 'none';
  const out = none ? allocate(plan.dtype, n) : null;
  const g = options.grad ? allocate(input.dtype, n) : null;
  const scale = reduction === 'mean' ? 1 / n : 1;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const p = x[i];
    if (!(p >= 0 && p <= 1)) {
      throw new ValueError(`${op}(): all elements of 'input' should be between 0 and 1, got ${p} at flat index ${i}`);
    }
    const ti = t[i];
    const wi = w ? w[i] : 1;
    // Same expression order as torch so that p = 1, t = 1 gives -0.
    const v = wi * ((ti - 1) * Math.max(Math.log1p(-p), -100) - ti * Math.max(Math.log(p), -100));
    if (out) out[i] = v;
    else acc += v;
    if (g) g[i] = ((wi * (p - ti)) / Math.max((1 - p) * p, BCE_GRAD_EPS)) * scale;
  }
  const loss = out ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, n);
  return result(loss, g && new Tensor(g, input.shape, input.dtype));
}

// ---------------------------------------------------------------------------
// binary_cross_entropy_with_logits

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive term, broadcast against the input (usually one per class, along the last dim). */
  posWeight?: Tensor;
}

/** Checks and normalises `binaryCrossEntropyWithLogits` arguments (shared with the WebGPU backend). */
export function resolveBinaryCrossEntropyWithLogits(
  input: TensorInfo,
  target: TensorInfo,
  options: { weight?: TensorInfo; posWeight?: TensorInfo; reduction?: Reduction } = {},
): ElementwiseLossPlan {
  const op = 'binaryCrossEntropyWithLogits';
  expectFloatInfo(op, 'input', input);
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${op}(): Target size (${fmtShape(target.shape)}) must be the same as input size (${fmtShape(input.shape)})`);
  }
  for (const [name, t] of [['weight', options.weight], ['posWeight', options.posWeight]] as const) {
    if (!t) continue;
    expectFloatInfo(op, name, t);
    expectBroadcastsTo(op, name, t, input.shape);
  }
  return elementwisePlan(input.shape, resolveReduction(op, options.reduction, 'mean'), promoteTypes(input.dtype, target.dtype));
}

/**
 * Sigmoid + binary cross entropy on logits, as
 * `torch.nn.functional.binary_cross_entropy_with_logits`:
 * `w * ((1 - t) * x + (1 + (pw - 1) * t) * log(1 + exp(-x)))`, evaluated with
 * `log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|))`, so it is exact for any
 * finite logit (|x| = 1000 included). Gradient `w * ((1 + (pw - 1) t) sigmoid(x) - pw t)`.
 * Default reduction 'mean'. float32 vs torch: rtol 1e-6, atol 2e-7 * max(1, max|input|).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: WithGrad<BinaryCrossEntropyWithLogitsOptions>): LossWithGrad;
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: NoGrad<BinaryCrossEntropyWithLogitsOptions>): Tensor;
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: BinaryCrossEntropyWithLogitsOptions): Tensor | LossWithGrad;
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BinaryCrossEntropyWithLogitsOptions = {}): Tensor | LossWithGrad {
  const op = 'binaryCrossEntropyWithLogits';
  expectTensor(op, 'input', input);
  expectTensor(op, 'target', target);
  if (options.weight !== undefined) expectTensor(op, 'weight', options.weight);
  if (options.posWeight !== undefined) expectTensor(op, 'posWeight', options.posWeight);
  const plan = resolveBinaryCrossEntropyWithLogits(input, target, options);
  const { numel: n, reduction } = plan;
  const x = input.contiguous().data;
  const t = target.contiguous().data;
  const w = options.weight ? denseAs(options.weight, plan.shape) : null;
  const pw = options.posWeight ? denseAs(options.posWeight, plan.shape) : null;
  const out = reduction === 'none' ? allocate(plan.dtype, n) : null;
  const g = options.grad ? allocate(input.dtype, n) : null;
  const scale = reduction === 'mean' ? 1 / n : 1;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const ti = t[i];
    const pwi = pw ? pw[i] : 1;
    const lw = 1 + (pwi - 1) * ti;
    const wi = w ? w[i] : 1;
    const e = Math.exp(-Math.abs(xi));
    // (1 - t) x + lw log(1 + exp(-x)), with log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)).
    const v = wi * ((1 - ti) * xi + lw * (Math.max(-xi, 0) + Math.log1p(e)));
    if (out) out[i] = v;
    else acc += v;
    if (g) g[i] = wi * (lw * (xi >= 0 ? 1 / (1 + e) : e / (1 + e)) - pwi * ti) * scale;
  }
  const loss = out ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, n);
  return result(loss, g && new Tensor(g, input.shape, input.dtype));
}

// ---------------------------------------------------------------------------
// sigmoid_focal_loss

export interface SigmoidFocalLossOptions extends LossOptions {
  /** Weight of positives in [0, 1] (negatives get 1 - alpha); a negative value turns weighting off. Default 0.25. */
  alpha?: number;
  /** Focusing exponent >= 0 on (1 - p_t). Default 2. */
  gamma?: number;
}

export interface SigmoidFocalLossPlan extends ElementwiseLossPlan {
  alpha: number;
  gamma: number;
}

/** Checks and normalises `sigmoidFocalLoss` arguments (shared with the WebGPU backend). */
export function resolveSigmoidFocalLoss(
  inputs: TensorInfo,
  targets: TensorInfo,
  options: { alpha?: number; gamma?: number; reduction?: Reduction } = {},
): SigmoidFocalLossPlan {
  const op = 'sigmoidFocalLoss';
  expectFloatInfo(op, 'inputs', inputs);
  if (!sameShape(inputs.shape, targets.shape)) {
    throw new ShapeError(`${op}(): 'targets' of shape ${fmtShape(targets.shape)} must have the shape of 'inputs' ${fmtShape(inputs.shape)}`);
  }
  const alpha = options.alpha ?? 0.25;
  const gamma = options.gamma ?? 2;
  if (typeof alpha !== 'number' || Number.isNaN(alpha) || alpha > 1) {
    throw new ValueError(`${op}(): argument 'alpha' must be a number <= 1 (negative disables it), got ${String(alpha)}`);
  }
  if (typeof gamma !== 'number' || !(gamma >= 0) || !Number.isFinite(gamma)) {
    throw new ValueError(`${op}(): argument 'gamma' must be a finite number >= 0, got ${String(gamma)}`);
  }
  const plan = elementwisePlan(inputs.shape, resolveReduction(op, options.reduction, 'none'), promoteTypes(inputs.dtype, targets.dtype));
  return { ...plan, alpha, gamma };
}

/**
 * `torchvision.ops.sigmoid_focal_loss` (RetinaNet, Lin et al. 2017):
 * `alpha_t * bce_with_logits(x, t) * (1 - p_t) ** gamma` with `p = sigmoid(x)`,
 * `p_t = p t + (1 - p)(1 - t)`, `alpha_t = alpha t + (1 - alpha)(1 - t)`, the
 * alpha factor applied only when `alpha >= 0`. Default reduction 'none'.
 * `1 - p_t` is evaluated as `p (1 - t) + sigmoid(-x) t`, so saturated logits
 * keep full relative precision. Where `1 - p_t` is exactly 0 the modulating
 * factor's derivative is taken as its limit 0 (torch gives NaN there for 0 < gamma < 1).
 * float32 vs torch: rtol 1e-6, atol 2e-7 * max(1, max|input|).
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options: WithGrad<SigmoidFocalLossOptions>): LossWithGrad;
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options?: NoGrad<SigmoidFocalLossOptions>): Tensor;
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options?: SigmoidFocalLossOptions): Tensor | LossWithGrad;
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, options: SigmoidFocalLossOptions = {}): Tensor | LossWithGrad {
  const op = 'sigmoidFocalLoss';
  expectTensor(op, 'inputs', inputs);
  expectTensor(op, 'targets', targets);
  const plan = resolveSigmoidFocalLoss(inputs, targets, options);
  const { numel: n, reduction, alpha, gamma } = plan;
  const x = inputs.contiguous().data;
  const t = targets.contiguous().data;
  const out = reduction === 'none' ? allocate(plan.dtype, n) : null;
  const g = options.grad ? allocate(inputs.dtype, n) : null;
  const scale = reduction === 'mean' ? 1 / n : 1;
  const useAlpha = alpha >= 0;
  const square = gamma === 2;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const ti = t[i];
    // One exp gives sigmoid(x), sigmoid(-x) and log(1 + exp(-|x|)).
    const e = Math.exp(-Math.abs(xi));
    const r = 1 / (1 + e);
    const p = xi >= 0 ? r : e * r;
    const q = xi >= 0 ? e * r : r;
    const ce = Math.max(xi, 0) - xi * ti + Math.log1p(e);
    const m = p * (1 - ti) + q * ti;
    const mod = square ? m * m : Math.pow(m, gamma);
    const at = useAlpha ? alpha * ti + (1 - alpha) * (1 - ti) : 1;
    const v = at * ce * mod;
    if (out) out[i] = v;
    else acc += v;
    if (g) {
      // d(m^gamma)/dx = gamma m^(gamma-1) * p q (1 - 2t); its limit is 0 where m = 0.
      const dmod = m === 0 || gamma === 0 ? 0 : (square ? 2 * m : gamma * Math.pow(m, gamma - 1)) * p * q * (1 - 2 * ti);
      g[i] = at * ((p - ti) * mod + ce * dmod) * scale;
    }
  }
  const loss = out ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, n);
  return result(loss, g && new Tensor(g, inputs.shape, inputs.dtype));
}

// ---------------------------------------------------------------------------
// cross_entropy

export interface CrossEntropyOptions extends LossOptions {
  /** One rescaling weight per class, shape `[C]`. */
  weight?: Tensor;
  /** Class-index targets equal to this contribute nothing (may be a valid class). Default -100. */
  ignoreIndex?: number;
  /** In [0, 1]: mixes the target with the uniform distribution over classes. Default 0. */
  labelSmoothing?: number;
}

export interface CrossEntropyPlan extends LossPlan {
  /** Batch count, classes, and positions per batch element (product of the spatial dims). */
  n: number;
  c: number;
  s: number;
  /** Class-index targets (int32/uint8) or probability targets (float, input's shape). */
  probTarget: boolean;
  ignoreIndex: number;
  labelSmoothing: number;
}

/**
 * Checks and normalises `crossEntropy` arguments. Input `[C]` (unbatched),
 * `[N, C]` or `[N, C, d1, ..., dk]`; class-index targets `[]`, `[N]` or
 * `[N, d1, ..., dk]`; probability targets have the input's shape.
 */
export function resolveCrossEntropy(
  input: TensorInfo,
  target: TensorInfo,
  options: { weight?: TensorInfo; ignoreIndex?: number; labelSmoothing?: number; reduction?: Reduction } = {},
): CrossEntropyPlan {
  const op = 'crossEntropy';
  expectFloatInfo(op, 'input', input);
  if (input.shape.length === 0) throw new ShapeError(`${op}(): 'input' must have at least 1 dimension (classes), got a 0-D tensor`);
  const reduction = resolveReduction(op, options.reduction, 'mean');
  const unbatched = input.shape.length === 1;
  const c = unbatched ? input.shape[0] : input.shape[1];
  const n = unbatched ? 1 : input.shape[0];
  const spatial = unbatched ? [] : input.shape.slice(2);
  const s = shapeSize(spatial);
  const probTarget = isFloatDType(target.dtype);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`${op}(): argument 'ignoreIndex' must be an integer, got ${ignoreIndex}`);
  const labelSmoothing = options.labelSmoothing ?? 0;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ValueError(`${op}(): label_smoothing must be between 0.0 and 1.0. Got: ${String(labelSmoothing)}`);
  }
  let lossShape: number[];
  if (probTarget) {
    if (!sameShape(target.shape, input.shape)) {
      throw new ShapeError(`${op}(): probability 'target' (float) must have the input's shape ${fmtShape(input.shape)}, got ${fmtShape(target.shape)}`);
    }
    if (ignoreIndex !== -100) throw new ValueError(`${op}(): ignore_index is not supported for floating point (probability) target`);
    lossShape = unbatched ? [] : [n, ...spatial];
  } else {
    if (target.dtype !== 'int32' && target.dtype !== 'uint8') {
      throw new DTypeError(`${op}(): class-index 'target' must be int32 or uint8 (or a float tensor of class probabilities), got ${target.dtype}`);
    }
    lossShape = unbatched ? [] : [n, ...spatial];
    if (!sameShape(target.shape, lossShape)) {
      throw new ShapeError(`${op}(): Expected target size ${fmtShape(lossShape)} for input of size ${fmtShape(input.shape)}, got ${fmtShape(target.shape)}`);
    }
  }
  if (options.weight) {
    expectFloatInfo(op, 'weight', options.weight);
    if (!sameShape(options.weight.shape, [c])) {
      throw new ShapeError(`${op}(): weight tensor should be defined either for all ${c} classes or no classes but got weight tensor of shape: ${fmtShape(options.weight.shape)}`);
    }
  }
  const dtype = probTarget ? promoteTypes(input.dtype, target.dtype) : input.dtype;
  return { n, c, s, probTarget, ignoreIndex, labelSmoothing, reduction, outShape: reduction === 'none' ? lossShape : [], dtype };
}

/** Positions processed together: per-position temporaries stay in cache and the class loop reads runs. */
const CE_TILE = 256;

/**
 * Cross entropy of logits over the class dim (dim 1, or dim 0 unbatched), as
 * `torch.nn.functional.cross_entropy`, with class-index or class-probability targets.
 *
 * Class indices, per position with target y (eps = labelSmoothing, w = weight or 1):
 * `(1 - eps) * w_y * (-logp_y) + eps / C * sum_c w_c * (-logp_c)`, 0 where
 * `y == ignoreIndex`; 'mean' divides the sum by `sum of w_y` over non-ignored
 * positions (NaN when all are ignored, 'sum' then 0). A target outside [0, C)
 * that is not `ignoreIndex` is an IndexError.
 * Probabilities: `-sum_c w_c t'_c logp_c` with `t' = (1 - eps) t + eps / C`;
 * 'mean' divides by the number of positions (N * d1 * ... * dk).
 * float32 vs torch: rtol 1e-6, atol 2e-7 * max(1, max|input|).
 */
export function crossEntropy(input: Tensor, target: Tensor, options: WithGrad<CrossEntropyOptions>): LossWithGrad;
export function crossEntropy(input: Tensor, target: Tensor, options?: NoGrad<CrossEntropyOptions>): Tensor;
export function crossEntropy(input: Tensor, target: Tensor, options?: CrossEntropyOptions): Tensor | LossWithGrad;
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor | LossWithGrad {
  const op = 'crossEntropy';
  expectTensor(op, 'input', input);
  expectTensor(op, 'target', target);
  if (options.weight !== undefined) expectTensor(op, 'weight', options.weight);
  const plan = resolveCrossEntropy(input, target, options);
  const { n, c, s, reduction, ignoreIndex, labelSmoothing: eps } = plan;
  const positions = n * s;
  const x = input.contiguous().data;
  const t = target.contiguous().data;
  const w = new Float64Array(c).fill(1);
  if (options.weight) w.set(options.weight.contiguous().data);
  let wSum = 0;
  for (let k = 0; k < c; k++) wSum += w[k];

  // Class targets: validate all up front and find the 'mean' denominator.
  let denom = positions;
  if (!plan.probTarget) {
    denom = 0;
    for (let i = 0; i < positions; i++) {
      const y = t[i];
      if (y === ignoreIndex) continue;
      if (y < 0 || y >= c) throw new IndexError(`${op}(): Target ${y} is out of bounds (classes: ${c}) at position ${i}`);
      denom += w[y];
    }
  }
  const scale = reduction === 'mean' ? 1 / denom : 1;
  const out = reduction === 'none' ? allocate(plan.dtype, positions) : null;
  const g = options.grad ? allocate(input.dtype, input.numel) : null;

  // A tile is `cnt` positions; element (class k, position j) sits at base + k * cs + j * ss.
  // [N, C, S]: tiles run along S within one sample (ss = 1, cs = S). [N, C] / [C]: along N (ss = C, cs = 1).
  const cs = s === 1 ? 1 : s;
  const ss = s === 1 ? c : 1;
  const outer = s === 1 ? 1 : n;
  const perOuter = s === 1 ? positions : s;
  const lse = new Float64Array(CE_TILE);
  const invSum = new Float64Array(CE_TILE);
  const tmp = new Float64Array(CE_TILE);
  const loss = new Float64Array(CE_TILE);
  const pCoef = new Float64Array(CE_TILE);
  const yCoef = new Float64Array(CE_TILE);
  const rowScale = new Float64Array(CE_TILE);
  const ys = new Int32Array(CE_TILE);
  let acc = 0;
  for (let o = 0; o < outer; o++) {
    for (let j0 = 0; j0 < perOuter; j0 += CE_TILE) {
      const cnt = Math.min(CE_TILE, perOuter - j0);
      const base = o * c * s + j0 * ss;
      const pos0 = o * perOuter + j0;
      // log-sum-exp over classes
      lse.fill(-Infinity, 0, cnt);
      for (let k = 0; k < c; k++) {
        const b = base + k * cs;
        for (let j = 0; j < cnt; j++) {
          const v = x[b + j * ss];
          if (v > lse[j]) lse[j] = v;
        }
      }
      // With a gradient, exp(x - max) is kept in g and later scaled into the softmax.
      tmp.fill(0, 0, cnt);
      for (let k = 0; k < c; k++) {
        const b = base + k * cs;
        if (g) {
          for (let j = 0; j < cnt; j++) {
            const ev = Math.exp(x[b + j * ss] - lse[j]);
            g[b + j * ss] = ev;
            tmp[j] += ev;
          }
        } else {
          for (let j = 0; j < cnt; j++) tmp[j] += Math.exp(x[b + j * ss] - lse[j]);
        }
      }
      for (let j = 0; j < cnt; j++) {
        lse[j] += Math.log(tmp[j]);
        invSum[j] = 1 / tmp[j];
      }

      if (plan.probTarget) {
        // loss_j = sum_k w_k t'_k (lse_j - x_kj); grad_kj = p_kj * sum_k w_k t'_k - w_k t'_kj
        loss.fill(0, 0, cnt);
        tmp.fill(0, 0, cnt);
        for (let k = 0; k < c; k++) {
          const b = base + k * cs;
          const wk = w[k];
          for (let j = 0; j < cnt; j++) {
            const wt = wk * ((1 - eps) * t[b + j * ss] + eps / c);
            loss[j] += wt * (lse[j] - x[b + j * ss]);
            tmp[j] += wt;
          }
        }
        if (g) {
          for (let k = 0; k < c; k++) {
            const b = base + k * cs;
            const wk = w[k];
            for (let j = 0; j < cnt; j++) {
              const e = b + j * ss;
              g[e] = scale * (g[e] * invSum[j] * tmp[j] - wk * ((1 - eps) * t[e] + eps / c));
            }
          }
        }
      } else {
        // loss_j = (1 - eps) w_y (lse - x_y) + eps/C sum_k w_k (lse - x_k);
        // grad_kj = rowScale * ((1 - eps) w_y (p_k - [k = y]) + eps/C (W p_k - w_k)).
        for (let j = 0; j < cnt; j++) {
          const y = t[pos0 + j];
          if (y === ignoreIndex) {
            ys[j] = -1;
            loss[j] = 0;
            rowScale[j] = 0;
          } else {
            ys[j] = y;
            loss[j] = (1 - eps) * w[y] * (lse[j] - x[base + y * cs + j * ss]);
            rowScale[j] = scale;
          }
        }
        if (eps > 0) {
          tmp.fill(0, 0, cnt);
          for (let k = 0; k < c; k++) {
            const b = base + k * cs;
            const wk = w[k];
            for (let j = 0; j < cnt; j++) tmp[j] += wk * (lse[j] - x[b + j * ss]);
          }
          for (let j = 0; j < cnt; j++) if (ys[j] >= 0) loss[j] += (eps / c) * tmp[j];
        }
        if (g) {
          for (let j = 0; j < cnt; j++) {
            const wy = ys[j] >= 0 ? w[ys[j]] : 0;
            pCoef[j] = rowScale[j] * ((1 - eps) * wy + (eps / c) * wSum);
            yCoef[j] = rowScale[j] * (1 - eps) * wy;
          }
          for (let k = 0; k < c; k++) {
            const b = base + k * cs;
            const wk = (eps / c) * w[k];
            for (let j = 0; j < cnt; j++) {
              const e = b + j * ss;
              const v = pCoef[j] * invSum[j] * g[e] - rowScale[j] * wk;
              g[e] = ys[j] === k ? v - yCoef[j] : v;
            }
          }
        }
      }
      if (out) for (let j = 0; j < cnt; j++) out[pos0 + j] = loss[j];
      else for (let j = 0; j < cnt; j++) acc += loss[j];
    }
  }
  const lossT = out ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, denom);
  return result(lossT, g && new Tensor(g, input.shape, input.dtype));
}

// ---------------------------------------------------------------------------
// Dice

export interface DiceLossOptions extends LossOptions {
  /** Exponent of the denominator terms: 1 (Sørensen-Dice / F1, default) or 2 (V-Net). Must be >= 1. */
  p?: number;
  /** Smoothing added to numerator and denominator. Default 1. */
  eps?: number;
  /** Input `[N, C, ...]`: one Dice per class, averaged over classes. Default false (binary). */
  multiclass?: boolean;
  /** Input holds logits: sigmoid (binary) or softmax over dim 1 (multiclass) first. Default false. */
  fromLogits?: boolean;
}

export interface DiceLossPlan extends LossPlan {
  n: number;
  /** Classes (1 for binary) and elements per class per sample. */
  c: number;
  s: number;
  multiclass: boolean;
  /** Multiclass target given as class indices `[N, ...]`. */
  indexTarget: boolean;
  p: number;
  eps: number;
  fromLogits: boolean;
}

/** Checks and normalises `diceLoss` arguments. */
export function resolveDiceLoss(
  input: TensorInfo,
  target: TensorInfo,
  options: { p?: number; eps?: number; multiclass?: boolean; fromLogits?: boolean; reduction?: Reduction } = {},
): DiceLossPlan {
  const op = 'diceLoss';
  expectFloatInfo(op, 'input', input);
  const reduction = resolveReduction(op, options.reduction, 'mean');
  const p = options.p ?? 1;
  const eps = options.eps ?? 1;
  if (typeof p !== 'number' || !(p >= 1) || !Number.isFinite(p)) throw new ValueError(`${op}(): argument 'p' must be a finite number >= 1, got ${String(p)}`);
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new ValueError(`${op}(): argument 'eps' must be a finite number >= 0, got ${String(eps)}`);
  const multiclass = options.multiclass ?? false;
  const fromLogits = options.fromLogits ?? false;
  const minDims = multiclass ? 2 : 1;
  if (input.shape.length < minDims) {
    throw new ShapeError(`${op}(): 'input' must be ${multiclass ? '[N, C, ...]' : '[N, ...]'} (at least ${minDims}-D), got ${fmtShape(input.shape)}`);
  }
  const n = input.shape[0];
  const c = multiclass ? input.shape[1] : 1;
  const s = shapeSize(input.shape.slice(multiclass ? 2 : 1));
  const indexTarget = multiclass && (target.dtype === 'int32' || target.dtype === 'uint8') && target.shape.length === input.shape.length - 1;
  if (indexTarget) {
    const want = [n, ...input.shape.slice(2)];
    if (!sameShape(target.shape, want)) throw new ShapeError(`${op}(): class-index 'target' must have shape ${fmtShape(want)}, got ${fmtShape(target.shape)}`);
  } else if (!sameShape(target.shape, input.shape)) {
    throw new ShapeError(`${op}(): 'target' must have the input's shape ${fmtShape(input.shape)}${multiclass ? ' (or be int32 class indices)' : ''}, got ${fmtShape(target.shape)}`);
  }
  const dtype = indexTarget ? input.dtype : promoteTypes(input.dtype, target.dtype);
  return { n, c, s, multiclass, indexTarget, p, eps, fromLogits, reduction, outShape: reduction === 'none' ? [n] : [], dtype };
}

/**
 * Soft Dice loss (Milletari et al. 2016, V-Net; no torch builtin). For each
 * sample n and class c (binary: one class, the whole sample), over all
 * non-batch (binary) or spatial (multiclass) elements i:
 * `dice = (2 * sum_i q_i t_i + eps) / (sum_i q_i^p + sum_i t_i^p + eps)`, and the
 * per-sample loss is `1 - dice` (binary) or `mean_c (1 - dice_c)` (multiclass),
 * where q is the input, `sigmoid(input)` (binary, fromLogits) or
 * `softmax(input, dim 1)` (multiclass, fromLogits). Multiclass targets are
 * probabilities of the input's shape or class indices `[N, ...]` (one-hot).
 * 'none' gives `[N]`; 'mean' / 'sum' reduce over samples. Defaults: p = 1,
 * eps = 1, reduction 'mean'. float32 vs a float64 reference: rtol 1e-6, atol 2e-7 * max(1, max|input|).
 */
export function diceLoss(input: Tensor, target: Tensor, options: WithGrad<DiceLossOptions>): LossWithGrad;
export function diceLoss(input: Tensor, target: Tensor, options?: NoGrad<DiceLossOptions>): Tensor;
export function diceLoss(input: Tensor, target: Tensor, options?: DiceLossOptions): Tensor | LossWithGrad;
export function diceLoss(input: Tensor, target: Tensor, options: DiceLossOptions = {}): Tensor | LossWithGrad {
  const op = 'diceLoss';
  expectTensor(op, 'input', input);
  expectTensor(op, 'target', target);
  const plan = resolveDiceLoss(input, target, options);
  const { n, c, s, p, eps, fromLogits, multiclass, indexTarget, reduction } = plan;
  const x = input.contiguous().data;
  const t = target.contiguous().data;
  const per = c * s;
  const q = new Float64Array(per);
  const tc = new Float64Array(per);
  const coefT = new Float64Array(c);
  const coefQ = new Float64Array(c);
  const out = allocate(plan.dtype, n);
  const g = options.grad ? allocate(input.dtype, input.numel) : null;
  const sampleScale = reduction === 'mean' ? 1 / n : 1;
  let acc = 0;
  for (let b = 0; b < n; b++) {
    const base = b * per;
    // q: the prediction as probabilities; tc: the target per (class, position).
    if (fromLogits && multiclass) {
      for (let j = 0; j < s; j++) {
        let mx = -Infinity;
        for (let k = 0; k < c; k++) if (x[base + k * s + j] > mx) mx = x[base + k * s + j];
        let se = 0;
        for (let k = 0; k < c; k++) {
          const e = Math.exp(x[base + k * s + j] - mx);
          q[k * s + j] = e;
          se += e;
        }
        for (let k = 0; k < c; k++) q[k * s + j] /= se;
      }
    } else if (fromLogits) {
      for (let i = 0; i < per; i++) q[i] = sigmoid64(x[base + i]);
    } else {
      for (let i = 0; i < per; i++) q[i] = x[base + i];
    }
    if (indexTarget) {
      tc.fill(0);
      for (let j = 0; j < s; j++) {
        const y = t[b * s + j];
        if (!(y >= 0 && y < c)) throw new IndexError(`${op}(): Target ${y} is out of bounds (classes: ${c}) at sample ${b}, position ${j}`);
        tc[y * s + j] = 1;
      }
    } else {
      for (let i = 0; i < per; i++) tc[i] = t[base + i];
    }
    let lossB = 0;
    for (let k = 0; k < c; k++) {
      let inter = 0;
      let sq = 0;
      let st = 0;
      for (let i = k * s, end = i + s; i < end; i++) {
        const qi = q[i];
        const ti = tc[i];
        inter += qi * ti;
        sq += p === 1 ? qi : p === 2 ? qi * qi : Math.pow(qi, p);
        st += p === 1 ? ti : p === 2 ? ti * ti : Math.pow(ti, p);
      }
      const num = 2 * inter + eps;
      const den = sq + st + eps;
      lossB += 1 - num / den;
      // d(1 - num/den)/dq_i = -(2 t_i den - num p q_i^(p-1)) / den^2, averaged over classes.
      const f = sampleScale / c / (den * den);
      coefT[k] = -2 * den * f;
      coefQ[k] = num * f;
    }
    lossB /= c;
    out[b] = lossB;
    acc += lossB;
    if (!g) continue;
    // dL/dq into tc (no longer needed as the target afterwards), then through sigmoid / softmax.
    for (let k = 0; k < c; k++) {
      for (let i = k * s, end = i + s; i < end; i++) {
        const dpow = p === 1 ? 1 : p === 2 ? 2 * q[i] : p * Math.pow(q[i], p - 1);
        tc[i] = coefT[k] * tc[i] + coefQ[k] * dpow;
      }
    }
    if (fromLogits && multiclass) {
      for (let j = 0; j < s; j++) {
        let dot = 0;
        for (let k = 0; k < c; k++) dot += q[k * s + j] * tc[k * s + j];
        for (let k = 0; k < c; k++) g[base + k * s + j] = q[k * s + j] * (tc[k * s + j] - dot);
      }
    } else if (fromLogits) {
      for (let i = 0; i < per; i++) g[base + i] = tc[i] * q[i] * (1 - q[i]);
    } else {
      for (let i = 0; i < per; i++) g[base + i] = tc[i];
    }
  }
  const loss = reduction === 'none' ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, n);
  return result(loss, g && new Tensor(g, input.shape, input.dtype));
}

// ---------------------------------------------------------------------------
// Pointwise regression losses: mse, l1, smooth L1, Huber, log-cosh

const MSE = 0;
const L1 = 1;
const SMOOTH_L1 = 2;
const HUBER = 3;
const LOG_COSH = 4;
type PointwiseKind = typeof MSE | typeof L1 | typeof SMOOTH_L1 | typeof HUBER | typeof LOG_COSH;

/**
 * Checks and normalises a pointwise regression loss (`mseLoss`, `l1Loss`,
 * `smoothL1Loss`, `huberLoss`, `logCoshLoss`). Like torch, `input` and `target`
 * broadcast against each other (torch warns when their sizes differ); the loss
 * has dtype `promote(input, target)`.
 */
export function resolvePointwiseLoss(op: string, input: TensorInfo, target: TensorInfo, options: { reduction?: Reduction } = {}): ElementwiseLossPlan {
  expectFloatInfo(op, 'input', input);
  let shape: number[];
  try {
    shape = broadcastShapes(input.shape, target.shape);
  } catch {
    throw new ShapeError(`${op}(): 'input' of shape ${fmtShape(input.shape)} and 'target' of shape ${fmtShape(target.shape)} are not broadcastable`);
  }
  return elementwisePlan(shape, resolveReduction(op, options.reduction, 'mean'), promoteTypes(input.dtype, target.dtype));
}

function pointwiseLoss(op: string, kind: PointwiseKind, param: number, input: Tensor, target: Tensor, options: LossOptions): Tensor | LossWithGrad {
  const plan = resolvePointwiseLoss(op, input, target, options);
  const { numel: n, reduction, shape } = plan;
  const x = denseAs(input, shape);
  const t = denseAs(target, shape);
  const out = reduction === 'none' ? allocate(plan.dtype, n) : null;
  // A broadcast input gets its gradient summed back to its shape afterwards.
  const broadcast = !sameShape(input.shape, shape);
  const g = options.grad ? allocate(broadcast ? 'float64' : input.dtype, n) : null;
  const scale = reduction === 'mean' ? 1 / n : 1;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - t[i];
    const a = Math.abs(d);
    let v: number;
    let dv: number;
    switch (kind) {
      case MSE:
        v = d * d;
        dv = 2 * d;
        break;
      case L1:
        v = a;
        dv = d > 0 ? 1 : d < 0 ? -1 : d;
        break;
      case SMOOTH_L1:
        v = a < param ? (0.5 * d * d) / param : a - 0.5 * param;
        // torch's backward order: at beta = 0, d = 0 gives -1.
        dv = d <= -param ? -1 : d >= param ? 1 : d / param;
        break;
      case HUBER:
        v = a < param ? 0.5 * d * d : param * (a - 0.5 * param);
        dv = d <= -param ? -param : d >= param ? param : d;
        break;
      default:
        // log(cosh d) = log1p(2 sinh(d/2)^2) keeps relative precision near 0; the asymptotic form avoids overflow.
        if (a < 20) {
          const sh = Math.sinh(0.5 * a);
          v = Math.log1p(2 * sh * sh);
        } else {
          v = a - Math.LN2 + Math.log1p(Math.exp(-2 * a));
        }
        dv = Math.tanh(d);
    }
    if (out) out[i] = v;
    else acc += v;
    if (g) g[i] = dv * scale;
  }
  const loss = out ? new Tensor(out, plan.outShape, plan.dtype) : finishReduced(plan, acc, n);
  if (!g) return loss;
  return { loss, grad: broadcast ? reduceGradTo(new Tensor(g, shape, 'float64'), input) : new Tensor(g, input.shape, input.dtype) };
}

/** Sums a gradient over the dims `input` was broadcast along, back to its shape and dtype. */
function reduceGradTo(grad: Tensor, input: Tensor): Tensor {
  const lead = grad.ndim - input.ndim;
  const dims = grad.shape.map((_, d) => d).filter((d) => d < lead || (input.shape[d - lead] === 1 && grad.shape[d] !== 1));
  return sum(grad, { dim: dims, keepdim: true }).reshape([...input.shape]).to(input.dtype);
}

function checkPair(op: string, input: Tensor, target: Tensor): void {
  expectTensor(op, 'input', input);
  expectTensor(op, 'target', target);
}

/**
 * Mean squared error `(x - t)^2`, as `torch.nn.functional.mse_loss`; gradient `2 (x - t)`.
 * Default reduction 'mean' ('mean' of zero elements is NaN). float32 vs torch: rtol 1e-6, atol 2e-7 * max(1, max|input|) (the same for every pointwise loss).
 */
export function mseLoss(input: Tensor, target: Tensor, options: WithGrad<LossOptions>): LossWithGrad;
export function mseLoss(input: Tensor, target: Tensor, options?: NoGrad<LossOptions>): Tensor;
export function mseLoss(input: Tensor, target: Tensor, options?: LossOptions): Tensor | LossWithGrad;
export function mseLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor | LossWithGrad {
  checkPair('mseLoss', input, target);
  return pointwiseLoss('mseLoss', MSE, 0, input, target, options);
}

/** Absolute error `|x - t|`, as `torch.nn.functional.l1_loss`; gradient `sign(x - t)` (0 at 0). */
export function l1Loss(input: Tensor, target: Tensor, options: WithGrad<LossOptions>): LossWithGrad;
export function l1Loss(input: Tensor, target: Tensor, options?: NoGrad<LossOptions>): Tensor;
export function l1Loss(input: Tensor, target: Tensor, options?: LossOptions): Tensor | LossWithGrad;
export function l1Loss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor | LossWithGrad {
  checkPair('l1Loss', input, target);
  return pointwiseLoss('l1Loss', L1, 0, input, target, options);
}

export interface SmoothL1LossOptions extends LossOptions {
  /** Threshold between the quadratic and linear parts, >= 0 (0 is L1). Default 1. */
  beta?: number;
}

/**
 * `torch.nn.functional.smooth_l1_loss`: with `z = |x - t|`, `0.5 z^2 / beta` if
 * `z < beta` else `z - 0.5 beta`; beta = 0 is L1, negative beta a ValueError.
 * Gradient `-1` if `d <= -beta`, `1` if `d >= beta`, else `d / beta` (torch's order).
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: WithGrad<SmoothL1LossOptions>): LossWithGrad;
export function smoothL1Loss(input: Tensor, target: Tensor, options?: NoGrad<SmoothL1LossOptions>): Tensor;
export function smoothL1Loss(input: Tensor, target: Tensor, options?: SmoothL1LossOptions): Tensor | LossWithGrad;
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor | LossWithGrad {
  const op = 'smoothL1Loss';
  checkPair(op, input, target);
  const beta = options.beta ?? 1;
  if (typeof beta !== 'number' || !(beta >= 0)) throw new ValueError(`${op}(): smooth_l1_loss does not support negative values for beta; got ${String(beta)}`);
  return pointwiseLoss(op, SMOOTH_L1, beta, input, target, options);
}

export interface HuberLossOptions extends LossOptions {
  /** Threshold between the quadratic and linear parts, > 0. Default 1. */
  delta?: number;
}

/**
 * `torch.nn.functional.huber_loss`: with `z = |x - t|`, `0.5 z^2` if `z < delta`
 * else `delta (z - 0.5 delta)`; delta <= 0 is a ValueError. Gradient `clamp(d, -delta, delta)`.
 */
export function huberLoss(input: Tensor, target: Tensor, options: WithGrad<HuberLossOptions>): LossWithGrad;
export function huberLoss(input: Tensor, target: Tensor, options?: NoGrad<HuberLossOptions>): Tensor;
export function huberLoss(input: Tensor, target: Tensor, options?: HuberLossOptions): Tensor | LossWithGrad;
export function huberLoss(input: Tensor, target: Tensor, options: HuberLossOptions = {}): Tensor | LossWithGrad {
  const op = 'huberLoss';
  checkPair(op, input, target);
  const delta = options.delta ?? 1;
  if (typeof delta !== 'number' || !(delta > 0)) throw new ValueError(`${op}(): huber_loss does not support non-positive values for delta; got ${String(delta)}`);
  return pointwiseLoss(op, HUBER, delta, input, target, options);
}

/**
 * Log-cosh loss `log(cosh(x - t))` (no torch builtin), evaluated stably for any
 * |x - t| (`|d| + log1p(exp(-2|d|)) - log 2` for large |d|); gradient `tanh(x - t)`.
 */
export function logCoshLoss(input: Tensor, target: Tensor, options: WithGrad<LossOptions>): LossWithGrad;
export function logCoshLoss(input: Tensor, target: Tensor, options?: NoGrad<LossOptions>): Tensor;
export function logCoshLoss(input: Tensor, target: Tensor, options?: LossOptions): Tensor | LossWithGrad;
export function logCoshLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor | LossWithGrad {
  checkPair('logCoshLoss', input, target);
  return pointwiseLoss('logCoshLoss', LOG_COSH, 0, input, target, options);
}

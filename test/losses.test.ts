import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abs,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  diceLoss,
  Generator,
  huberLoss,
  l1Loss,
  logCoshLoss,
  mseLoss,
  rand,
  randint,
  randn,
  sigmoidFocalLoss,
  smoothL1Loss,
  Tensor,
  tensor,
  VisionOpsError,
  type DType,
  type LossWithGrad,
} from '../src';
import { expectClose, loadFixture, type Tolerance } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

type AnyLoss = (input: Tensor, target: Tensor, options?: Record<string, unknown>) => Tensor | LossWithGrad;

/** The losses under the torch worker's handler names (scripts/fixtures/gen_losses.py). */
const LOSSES: Record<string, AnyLoss> = {
  bce: binaryCrossEntropy as AnyLoss,
  bce_with_logits: binaryCrossEntropyWithLogits as AnyLoss,
  cross_entropy: crossEntropy as AnyLoss,
  sigmoid_focal_loss: sigmoidFocalLoss as AnyLoss,
  dice_loss: diceLoss as AnyLoss,
  mse_loss: mseLoss as AnyLoss,
  l1_loss: l1Loss as AnyLoss,
  smooth_l1_loss: smoothL1Loss as AnyLoss,
  huber_loss: huberLoss as AnyLoss,
  log_cosh_loss: logCoshLoss as AnyLoss,
};

/**
 * Tolerance against torch. We compute in float64 and round once; torch computes
 * float32 inputs in float32, so elementwise results differ by a few float32 ulps
 * (rtol 1e-6, about 8 ulps) plus an absolute term where torch's float32 formulas
 * cancel (log-sum-exp, log(1 + exp(-x)), log(1 - p)): a few ulps of the input
 * magnitude, 2e-7 * max(1, max|input|). Sums accumulate in float64 here and
 * pairwise in float32 in torch, inside the same rtol at these sizes. float64
 * inputs: both sides round at every step, rtol 1e-12 and atol 1e-14 * scale.
 */
function lossTolerance(input: Tensor): Tolerance {
  let scale = 1;
  const d = input.contiguous().data;
  for (let i = 0; i < d.length; i++) if (Number.isFinite(d[i]) && Math.abs(d[i]) > scale) scale = Math.abs(d[i]);
  return input.dtype === 'float32' ? { rtol: 1e-6, atol: 2e-7 * scale } : { rtol: 1e-12, atol: 1e-14 * scale };
}

interface Expected {
  loss: Tensor;
  grad: Tensor;
}

interface LossCase {
  loss: string;
  name: string;
  input: Tensor;
  target: Tensor;
  options: Record<string, unknown>;
  expected?: Expected;
  error?: string;
  torchError?: string | null;
  deviation?: string;
}

function expectMatches(got: LossWithGrad, expected: Expected, input: Tensor, label: string): void {
  const tol = lossTolerance(input);
  expect(got.loss.dtype, `${label} loss dtype`).toBe(expected.loss.dtype);
  expect(got.grad.dtype, `${label} grad dtype`).toBe(expected.grad.dtype);
  expectClose(got.loss, expected.loss, tol, `${label} loss`);
  expectClose(got.grad, expected.grad, tol, `${label} grad`);
}

describe('losses vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<LossCase>('losses');
  const ok = cases.filter((c) => c.expected);
  const bad = cases.filter((c) => !c.expected);

  it.each(ok.map((c) => [`${c.loss}: ${c.name}`, c] as const))('%s', (label, c) => {
    const fn = LOSSES[c.loss];
    const withGrad = fn(c.input, c.target, { ...c.options, grad: true }) as LossWithGrad;
    expectMatches(withGrad, c.expected!, c.input, label);
    // Without `grad` the same loss comes back as a bare tensor.
    const plain = fn(c.input, c.target, c.options);
    expect(plain).toBeInstanceOf(Tensor);
    expect(Array.from((plain as Tensor).contiguous().data)).toEqual(Array.from(withGrad.loss.contiguous().data));
  });

  it.each(bad.map((c) => [`${c.loss}: ${c.name}`, c] as const))('%s throws', (_, c) => {
    if (c.deviation) expect(c.torchError).toBeNull();
    else expect(c.torchError, 'torch raised too').toBeTruthy();
    let thrown: unknown;
    try {
      LOSSES[c.loss](c.input, c.target, c.options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(VisionOpsError);
    expect((thrown as Error).name).toBe(c.error);
  });

  it('covers every loss, reduction and both dtypes', () => {
    for (const name of Object.keys(LOSSES)) {
      for (const reduction of ['none', 'mean', 'sum']) {
        for (const dtype of ['float32', 'float64']) {
          expect(
            ok.some((c) => c.loss === name && (c.options.reduction ?? (name === 'sigmoid_focal_loss' ? 'none' : 'mean')) === reduction && c.input.dtype === dtype),
            `${name} ${reduction} ${dtype}`,
          ).toBe(true);
        }
      }
      expect(bad.some((c) => c.loss === name)).toBe(true);
    }
  });
});

function focalDefault(x: Tensor, t: Tensor): Tensor {
  return sigmoidFocalLoss(x, t, { grad: false });
}

describe('loss API details', () => {
  it('binaryCrossEntropy of p = 1, t = 1 is -0 and of p = 0, t = 1 is 100', () => {
    const l = binaryCrossEntropy(tensor([1, 0]), tensor([1, 1]), { reduction: 'none' });
    expect(Object.is(l.get(0), -0)).toBe(true);
    expect(l.get(1)).toBe(100);
  });

  it('the return type follows the grad option', () => {
    const x = randn([3, 2], { generator: new Generator(1) });
    const y = randn([3, 2], { generator: new Generator(2) });
    // These assignments are also the compile-time check of the overloads.
    const plain: Tensor = huberLoss(x, y, { delta: 0.5 });
    const both: LossWithGrad = huberLoss(x, y, { delta: 0.5, grad: true });
    const off: Tensor = focalDefault(x, y);
    expect(plain).toBeInstanceOf(Tensor);
    expect(both.loss.item()).toBe(plain.item());
    expect(both.grad.shape).toEqual([3, 2]);
    expect(off.shape).toEqual([3, 2]);
  });

  it('pointwise losses promote the loss dtype; the gradient keeps the input dtype', () => {
    const r = mseLoss(tensor([1, 2], undefined, 'float32'), tensor([0.5, 0.25], undefined, 'float64'), { grad: true });
    expect(r.loss.dtype).toBe('float64');
    expect(r.grad.dtype).toBe('float32');
    expect(r.grad.toArray()).toEqual([0.5, 1.75]);
  });

  it('reads strided views', () => {
    const x = randn([4, 3], { generator: new Generator(3), dtype: 'float64' });
    const t = randint(0, 4, [3], { generator: new Generator(4) });
    const a = crossEntropy(x.transpose(0, 1), t, { reduction: 'none', grad: true });
    const b = crossEntropy(x.transpose(0, 1).contiguous(), t, { reduction: 'none', grad: true });
    expectClose(a.loss, b.loss, { rtol: 0, atol: 0 });
    expectClose(a.grad, b.grad, { rtol: 0, atol: 0 });
  });

  it('rejects non-tensors and non-float inputs with typed errors', () => {
    expect(() => mseLoss([1, 2] as unknown as Tensor, tensor([1, 2]))).toThrow(/argument 'input' must be a Tensor/);
    expect(() => mseLoss(tensor([1, 2], undefined, 'int32'), tensor([1, 2]))).toThrow(/float32 or float64/);
    expect(() => crossEntropy(randn([2, 3]), tensor([true, false]))).toThrow(/int32 or uint8/);
    expect(() => sigmoidFocalLoss(randn([2]), rand([2]), { gamma: -1 })).toThrow(/gamma/);
    expect(() => sigmoidFocalLoss(randn([2]), rand([2]), { alpha: 2 })).toThrow(/alpha/);
    expect(() => diceLoss(randn([2]), rand([2]), { multiclass: true })).toThrow(/at least 2-D/);
  });
});

// ---------------------------------------------------------------------------
// Differential: random cases against live torch.

type Case = { input: Tensor; target: Tensor; options: Record<string, unknown> };

/** Everything about a case is derived from one seed, so a failure names its seed. */
class Rnd {
  readonly g: Generator;
  constructor(seed: number) {
    this.g = new Generator(seed);
  }
  int(lo: number, hi: number): number {
    return this.g.integer(lo, hi + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.g.integer(0, xs.length)];
  }
  chance(p: number): boolean {
    return this.g.random() < p;
  }
  dtype(): DType {
    return this.chance(0.25) ? 'float32' : 'float64';
  }
  shape(minDims: number, maxDims: number, maxSize = 5): number[] {
    return Array.from({ length: this.int(minDims, maxDims) }, () => this.int(1, maxSize));
  }
  randn(shape: number[], dtype: DType, scale = 1): Tensor {
    const t = randn(shape, { generator: this.g, dtype });
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] *= scale;
    return t;
  }
  rand(shape: number[], dtype: DType): Tensor {
    return rand(shape, { generator: this.g, dtype });
  }
  bits(shape: number[], dtype: DType): Tensor {
    return randint(0, 2, shape, { generator: this.g, dtype });
  }
  /** A shape that broadcasts to `shape`: some leading dims dropped, some dims set to 1. */
  broadcastable(shape: number[]): number[] {
    return shape.slice(this.int(0, shape.length)).map((d) => (this.chance(0.4) ? 1 : d));
  }
  reduction(): string {
    return this.pick(['none', 'mean', 'sum']);
  }
}

const GENERATORS: Record<string, (r: Rnd) => Case> = {
  bce(r) {
    const dt = r.dtype();
    const shape = r.shape(1, 3);
    const input = r.rand(shape, dt);
    // Some probabilities exactly 0 or 1 exercise the -100 clamp and the 1e-12 gradient clamp.
    for (let i = 0; i < input.data.length; i++) if (r.chance(0.1)) input.data[i] = r.int(0, 1);
    const target = r.chance(0.5) ? r.bits(shape, dt) : r.rand(shape, dt);
    const options: Record<string, unknown> = { reduction: r.reduction() };
    if (r.chance(0.5)) options.weight = r.rand(r.broadcastable(shape), dt);
    return { input, target, options };
  },
  bce_with_logits(r) {
    const dt = r.dtype();
    const shape = r.shape(1, 3);
    const input = r.randn(shape, dt, r.pick([1, 5, 50, 1000]));
    const target = r.chance(0.5) ? r.bits(shape, dt) : r.rand(shape, dt);
    const options: Record<string, unknown> = { reduction: r.reduction() };
    if (r.chance(0.4)) options.weight = r.rand(r.broadcastable(shape), dt);
    if (r.chance(0.5)) options.posWeight = abs(r.randn([r.chance(0.2) ? 1 : shape[shape.length - 1]], dt));
    return { input, target, options };
  },
  cross_entropy(r) {
    const dt = r.dtype();
    const c = r.int(1, 6);
    const n = r.int(1, 4);
    const spatial = r.shape(0, 2, 4);
    const unbatched = r.chance(0.1);
    const inShape = unbatched ? [c] : [n, c, ...spatial];
    const input = r.randn(inShape, dt, r.pick([1, 3, 30]));
    const options: Record<string, unknown> = { reduction: r.reduction() };
    if (r.chance(0.5)) options.weight = r.rand([c], dt);
    if (r.chance(0.4)) options.labelSmoothing = r.pick([0.1, 0.5, 1, r.g.random()]);
    let target: Tensor;
    if (r.chance(0.3)) {
      target = r.rand(inShape, dt);
    } else {
      const tShape = unbatched ? [] : [n, ...spatial];
      target = randint(0, c, tShape, { generator: r.g });
      if (r.chance(0.5)) {
        const ignore = r.chance(0.5) ? -100 : r.int(0, c - 1);
        if (ignore !== -100) options.ignoreIndex = ignore;
        for (let i = 0; i < target.data.length; i++) if (r.chance(0.3)) target.data[i] = ignore;
      }
    }
    return { input, target, options };
  },
  sigmoid_focal_loss(r) {
    const dt = r.dtype();
    const shape = r.shape(1, 3);
    const gamma = r.pick([0, 1, 2, 1 + 3 * r.g.random(), 0.2 + 0.7 * r.g.random()]);
    // 0 < gamma < 1 has a NaN torch gradient where p rounds to exactly 0 or 1: keep logits moderate there.
    const input = r.randn(shape, dt, gamma > 0 && gamma < 1 ? 3 : r.pick([1, 4, 100]));
    const target = r.chance(0.7) ? r.bits(shape, dt) : r.rand(shape, dt);
    const alpha = r.pick([-1, 0.25, 0, 1, r.g.random()]);
    return { input, target, options: { alpha, gamma, reduction: r.reduction() } };
  },
  dice_loss(r) {
    const dt = r.dtype();
    const multiclass = r.chance(0.5);
    const fromLogits = r.chance(0.6);
    const shape = multiclass ? [r.int(1, 3), r.int(1, 4), ...r.shape(0, 2, 4)] : r.shape(1, 3);
    const input = fromLogits ? r.randn(shape, dt, 2) : r.rand(shape, dt);
    let target: Tensor;
    if (multiclass && r.chance(0.5)) target = randint(0, shape[1], [shape[0], ...shape.slice(2)], { generator: r.g });
    else target = r.chance(0.5) ? r.bits(shape, dt) : r.rand(shape, dt);
    const options = { multiclass, fromLogits, p: r.pick([1, 2, 3]), eps: r.pick([1, 1e-6, 0.5]), reduction: r.reduction() };
    return { input, target, options };
  },
  ...Object.fromEntries(
    ['mse_loss', 'l1_loss', 'smooth_l1_loss', 'huber_loss', 'log_cosh_loss'].map((name) => [
      name,
      (r: Rnd): Case => {
        const dt = r.dtype();
        const shape = r.shape(1, 3);
        const input = r.randn(shape, dt, r.pick([0.5, 2, 50]));
        const target = r.randn(r.chance(0.2) ? r.broadcastable(shape) : shape, dt);
        const options: Record<string, unknown> = { reduction: r.reduction() };
        if (name === 'smooth_l1_loss') options.beta = r.pick([0, 1, 3 * r.g.random()]);
        if (name === 'huber_loss') options.delta = r.pick([1, 0.05 + 3 * r.g.random()]);
        return { input, target, options };
      },
    ]),
  ),
};

describe.skipIf(!hasTorch)(`losses vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  it.each(Object.keys(GENERATORS))('%s: random cases match torch autograd', async (name) => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const c = GENERATORS[name](new Rnd(seed));
        let expected: Expected;
        try {
          expected = await torch.call<Expected>(name, c);
        } catch (e) {
          if (!(e instanceof TorchError)) throw e;
          expect(() => LOSSES[name](c.input, c.target, c.options)).toThrow(VisionOpsError);
          return;
        }
        const got = LOSSES[name](c.input, c.target, { ...c.options, grad: true }) as LossWithGrad;
        expectMatches(got, expected, c.input, `${name} seed ${seed}`);
      }),
      { numRuns: 200 },
    );
  });
});

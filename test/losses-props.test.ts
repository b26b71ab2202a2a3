import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
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
  VisionOpsError,
  type DType,
  type LossWithGrad,
  type Reduction,
} from '../src';

type Opts = Record<string, unknown>;
type Loss = (x: Tensor, t: Tensor, o?: Opts) => Tensor | LossWithGrad;

/** One random loss problem: a loss, its float64 input and target, and options. */
interface Problem {
  name: string;
  fn: Loss;
  x: Tensor;
  t: Tensor;
  options: Opts;
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });
const reductionArb = fc.constantFrom<Reduction>('none', 'mean', 'sum');

function scaled(t: Tensor, s: number, shift = 0): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] * s + shift;
  return t;
}

/**
 * Random problems for every loss in float64 whose unreduced loss is >= 0
 * (weights >= 0, targets in [0, 1]); they avoid the kinks of L1 / smooth L1 /
 * Huber only by chance, which has probability ~0.
 */
const problemArb: fc.Arbitrary<Problem> = fc
  .record({
    kind: fc.integer({ min: 0, max: 9 }),
    shape: shapeArb,
    seed: fc.integer(),
    reduction: reductionArb,
    flag: fc.boolean(),
    param: fc.double({ min: 0.1, max: 3, noNaN: true }),
  })
  .map(({ kind, shape, seed, reduction, flag, param }): Problem => {
    const g = new Generator(seed);
    const dtype = 'float64' as const;
    const nrm = (s: number[]) => randn(s, { generator: g, dtype });
    const uni = (s: number[]) => rand(s, { generator: g, dtype });
    const base = { options: { reduction } as Opts };
    switch (kind) {
      case 0:
        // Probabilities kept inside (0.05, 0.95): the -100 clamp is not differentiable.
        return { ...base, name: 'binaryCrossEntropy', fn: binaryCrossEntropy as Loss, x: scaled(uni(shape), 0.9, 0.05), t: uni(shape), options: { reduction, weight: flag ? uni(shape.slice(-1)) : undefined } };
      case 1:
        return {
          ...base,
          name: 'binaryCrossEntropyWithLogits',
          fn: binaryCrossEntropyWithLogits as Loss,
          x: scaled(nrm(shape), param * 2),
          t: uni(shape),
          options: { reduction, posWeight: flag ? scaled(uni(shape.slice(-1)), 3) : undefined },
        };
      case 2:
        return { ...base, name: 'sigmoidFocalLoss', fn: sigmoidFocalLoss as Loss, x: scaled(nrm(shape), 2), t: randint(0, 2, shape, { generator: g, dtype }), options: { reduction, gamma: param, alpha: flag ? -1 : 0.25 } };
      case 3: {
        const [n, c, ...spatial] = [...shape, 3, 3];
        const x = scaled(nrm([n, c, ...spatial.slice(0, shape.length - 1)]), param);
        const t = flag ? randint(0, c, [n, ...x.shape.slice(2)], { generator: g }) : uni([...x.shape]);
        return { ...base, name: 'crossEntropy', fn: crossEntropy as Loss, x, t, options: { reduction, labelSmoothing: param / 10, weight: uni([c]) } };
      }
      case 4: {
        const multiclass = shape.length >= 2 && flag;
        return { ...base, name: 'diceLoss', fn: diceLoss as Loss, x: nrm(shape), t: randint(0, 2, shape, { generator: g, dtype }), options: { reduction, multiclass, fromLogits: true, p: param < 1.5 ? 1 : 2 } };
      }
      default: {
        const fns: [string, Loss, Opts][] = [
          ['mseLoss', mseLoss as Loss, {}],
          ['l1Loss', l1Loss as Loss, {}],
          ['smoothL1Loss', smoothL1Loss as Loss, { beta: param }],
          ['huberLoss', huberLoss as Loss, { delta: param }],
          ['logCoshLoss', logCoshLoss as Loss, {}],
        ];
        const [name, fn, extra] = fns[kind - 5];
        return { ...base, name, fn, x: scaled(nrm(shape), 2), t: nrm(flag ? shape.slice(-1) : shape), options: { reduction, ...extra } };
      }
    }
  });

function scalarLoss(p: Problem, x: Tensor): number {
  const l = p.fn(x, p.t, p.options) as Tensor;
  const d = l.contiguous().data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  return s;
}

const ALL: Loss[] = [
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  sigmoidFocalLoss,
  crossEntropy,
  diceLoss,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  logCoshLoss,
] as Loss[];

/** A tensor of any dtype whose values are valid probabilities / class indices in [0, 3). */
function anyTensor(shape: number[], dtype: DType, seed: number): Tensor {
  return dtype === 'float32' || dtype === 'float64' ? rand(shape, { generator: new Generator(seed), dtype }) : randint(0, dtype === 'bool' ? 2 : 3, shape, { generator: new Generator(seed), dtype });
}

describe('loss properties', () => {
  it('unreduced losses are >= 0 and finite', () => {
    fc.assert(
      fc.property(problemArb, (p) => {
        const l = p.fn(p.x, p.t, { ...p.options, reduction: 'none' }) as Tensor;
        for (const v of l.contiguous().data) {
          expect(Number.isFinite(v), p.name).toBe(true);
          expect(v, p.name).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gradients match central finite differences (float64)', () => {
    fc.assert(
      fc.property(problemArb, (p) => {
        const { grad } = p.fn(p.x, p.t, { ...p.options, grad: true }) as LossWithGrad;
        const xd = p.x.data;
        const f0 = Math.abs(scalarLoss(p, p.x));
        for (let i = 0; i < xd.length; i++) {
          const v = xd[i];
          const h = 1e-6 * Math.max(1, Math.abs(v));
          xd[i] = v + h;
          const up = scalarLoss(p, p.x);
          xd[i] = v - h;
          const down = scalarLoss(p, p.x);
          xd[i] = v;
          const fd = (up - down) / (2 * h);
          // Truncation O(h^2) plus cancellation ~1e-16 * |f| / h.
          expect(Math.abs(grad.data[i] - fd), `${p.name} ${JSON.stringify(p.options.reduction)} element ${i}: ${grad.data[i]} vs ${fd}`).toBeLessThanOrEqual(
            1e-6 * (1 + Math.abs(fd)) + 1e-9 * f0,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it("'sum' equals n * 'mean' for unweighted losses", () => {
    fc.assert(
      fc.property(problemArb, (p) => {
        const options = { ...p.options, weight: undefined, posWeight: undefined };
        const s = (p.fn(p.x, p.t, { ...options, reduction: 'sum' }) as Tensor).item();
        const m = (p.fn(p.x, p.t, { ...options, reduction: 'mean' }) as Tensor).item();
        const none = p.fn(p.x, p.t, { ...options, reduction: 'none' }) as Tensor;
        // Cross entropy's 'mean' divides by the positions, Dice's by the samples: the 'none' size in both.
        expect(s).toBeCloseTo(none.numel * m, 10);
      }),
      { numRuns: 300 },
    );
  });

  it('pointwise losses are exactly 0 with a zero gradient at input == target', () => {
    const fns: Loss[] = [mseLoss, l1Loss, smoothL1Loss, huberLoss, logCoshLoss] as Loss[];
    fc.assert(
      fc.property(shapeArb, fc.integer(), fc.integer({ min: 0, max: 4 }), reductionArb, (shape, seed, k, reduction) => {
        const x = randn(shape, { generator: new Generator(seed) });
        const r = fns[k](x, x.clone(), { reduction, grad: true }) as LossWithGrad;
        expect(Array.from(r.loss.contiguous().data).every((v) => v === 0)).toBe(true);
        expect(Array.from(r.grad.data).every((v) => v === 0)).toBe(true);
      }),
    );
  });

  it('Dice of a perfect binary prediction is 0 (probabilities) and eps-limited from saturated logits', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer(), fc.constantFrom(1, 2), fc.double({ min: 1e-6, max: 2, noNaN: true }), (shape, seed, p, eps) => {
        const t = randint(0, 2, [2, ...shape], { generator: new Generator(seed), dtype: 'float64' });
        expect(diceLoss(t, t, { p, eps, reduction: 'sum' }).item()).toBe(0);
        // sigmoid(+-30) is within 1e-13 of 0 / 1: 1 - dice is about sum(q) / eps on an empty mask, far less otherwise.
        const logits = scaled(t.clone(), 60, -30);
        expect(diceLoss(logits, t, { p, eps, fromLogits: true, reduction: 'sum' }).item()).toBeLessThan((t.numel * 1e-13) / eps + 1e-12);
      }),
    );
  });

  it('arbitrary arguments give a result or a typed error, never another exception', () => {
    const dims = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 });
    const dtype = fc.constantFrom<DType>('float32', 'float64', 'int32', 'uint8', 'bool');
    const num = fc.oneof(fc.constantFrom(-100, -1, 0, 0.5, 1, 2, 1.5, NaN, Infinity), fc.double());
    const options = fc.record(
      {
        reduction: fc.constantFrom('none', 'mean', 'sum', 'batchmean'),
        grad: fc.boolean(),
        weight: fc.tuple(dims, dtype),
        posWeight: fc.tuple(dims, dtype),
        ignoreIndex: num,
        labelSmoothing: num,
        alpha: num,
        gamma: num,
        beta: num,
        delta: num,
        p: num,
        eps: num,
        multiclass: fc.boolean(),
        fromLogits: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ALL.length - 1 }), dims, dims, dtype, dtype, options, fc.integer(), (k, s1, s2, d1, d2, o, seed) => {
        const opts: Opts = { ...o };
        for (const key of ['weight', 'posWeight'] as const) {
          if (o[key]) opts[key] = anyTensor(o[key][0], o[key][1], seed + 1);
        }
        const target = anyTensor(s1.length && s2.length % 2 ? s1 : s2, d2, seed + 2);
        try {
          ALL[k](anyTensor(s1, d1, seed), target, opts);
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(VisionOpsError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

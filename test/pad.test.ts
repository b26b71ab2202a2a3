import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, pad, randn, ShapeError, Tensor, tensor, ValueError, VisionOpsError, type PadMode, type PadOptions } from '../src';
import { expectEqual, loadFixture } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

interface PadArgs {
  x: Tensor;
  pads: number[];
  mode: PadMode;
  value?: number;
}

interface PadCase {
  args: PadArgs;
  expected?: Tensor;
  error?: string;
}

const run = (a: PadArgs) => pad(a.x, a.pads, { mode: a.mode, value: a.value } as PadOptions);

// pad is a gather (plus a converted fill value): results are bit-exact, dtype included.
describe('pad vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<PadCase>('pad');
  it('covers every mode and many errors', () => {
    expect(new Set(cases.map((c) => c.args.mode)).size).toBeGreaterThanOrEqual(4);
    expect(cases.filter((c) => c.error).length).toBeGreaterThan(40);
  });
  it.each(cases.map((c, i) => [`${i} ${c.args.mode} [${c.args.x.shape}] pads [${c.args.pads}]${c.error ? ` (${c.error})` : ''}`, c] as const))('%s', (label, c) => {
    if (c.error) {
      expect(() => run(c.args), label).toThrow(VisionOpsError);
      return;
    }
    const got = run(c.args);
    expect(got.dtype).toBe(c.expected!.dtype);
    expectEqual(got, c.expected!, label);
  });
});

describe('pad: torch 1.13 circular quirks', () => {
  it('wraps the cropped signal, not the original', () => {
    const x = tensor([0, 1, 2, 3], [1, 1, 4]);
    expect(Array.from(pad(x, [2, -1], { mode: 'circular' }).data)).toEqual([1, 2, 0, 1, 2]);
  });
  it('rejects a pad longer than what cropping leaves (torch reads uninitialised memory there)', () => {
    const x = tensor([0, 1, 2, 3], [1, 1, 4]);
    expect(() => pad(x, [3, -4], { mode: 'circular' })).toThrow(ShapeError);
    expect(() => pad(x, [-3, 2], { mode: 'circular' })).toThrow(ShapeError);
  });
  it('rejects a non-zero value outside constant mode and unknown modes', () => {
    const x = randn([1, 2, 3]);
    expect(() => pad(x, [1, 1], { mode: 'reflect', value: 1 })).toThrow(ValueError);
    expect(() => pad(x, [1, 1], { mode: 'wrap' as PadMode })).toThrow(ValueError);
    expect(() => pad(x, [1.5, 1])).toThrow(ValueError);
  });
});

const MODES: PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

/** A shape the mode accepts with `np` padded dims, and positive pads within each mode's limit. */
const padCase = fc
  .record({
    mode: fc.constantFrom(...MODES),
    np: fc.integer({ min: 1, max: 3 }),
    batch: fc.boolean(),
    dims: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 5, maxLength: 5 }),
    raw: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
    seed: fc.integer(),
  })
  .map(({ mode, np, batch, dims, raw, seed }) => {
    const ndim = mode === 'circular' || batch ? np + 2 : np + 1;
    const shape = dims.slice(0, ndim);
    const pads: number[] = [];
    for (let i = 0; i < np; i++) {
      const size = shape[ndim - 1 - i];
      const limit = mode === 'reflect' ? size - 1 : mode === 'circular' ? size : 4;
      pads.push(raw[2 * i] % (limit + 1), raw[2 * i + 1] % (limit + 1));
    }
    return { mode, shape, pads, seed };
  });

describe('pad properties', () => {
  it('pad then crop with the negated pads is the identity (every mode)', () => {
    fc.assert(
      fc.property(padCase, ({ mode, shape, pads, seed }) => {
        const x = randn(shape, { generator: new Generator(seed) });
        const y = pad(x, pads, { mode });
        expectEqual(pad(y, pads.map((p) => -p), { mode: 'constant' }), x);
        if (mode !== 'constant' || pads.every((p) => p === 0)) expectEqual(pad(y, pads.map((p) => -p), { mode }), x);
      }),
      { numRuns: 300 },
    );
  });
  it('output shape is input + left + right per padded dim', () => {
    fc.assert(
      fc.property(padCase, ({ mode, shape, pads }) => {
        const y = pad(randn(shape), pads, { mode });
        const want = [...shape];
        for (let i = 0; i < pads.length / 2; i++) want[shape.length - 1 - i] += pads[2 * i] + pads[2 * i + 1];
        expect(y.shape).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!hasTorch)(`pad vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  /** Any pads in [-6, 6] (including invalid ones) over shapes of rank 1-5: torch raises <=> we throw, else bit-exact. */
  it('agrees with F.pad on random shapes, pads and modes, errors included', async () => {
    const outcomes = { ok: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MODES),
        fc.integer({ min: 1, max: 3 }).chain((np) =>
          fc.tuple(
            fc.oneof(
              { weight: 5, arbitrary: fc.constantFrom(np + 1, np + 2).chain((rank) => dimsOf(rank)) },
              { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }).chain((rank) => dimsOf(rank)) },
            ),
            fc.oneof(
              { weight: 5, arbitrary: fc.array(fc.integer({ min: -3, max: 5 }), { minLength: 2 * np, maxLength: 2 * np }) },
              { weight: 1, arbitrary: fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 0, maxLength: 7 }) },
            ),
          ),
        ),
        fc.integer(),
        async (mode, [shape, pads], seed) => {
          const x = randn(shape, { generator: new Generator(seed) });
          if (circularUndefined(shape, pads, mode)) return;
          let expected: Tensor | null = null;
          let torchErr: string | null = null;
          try {
            expected = await torch.call<Tensor>('pad', { x, pads, mode });
          } catch (e) {
            if (!(e instanceof TorchError)) throw e;
            torchErr = e.pyType;
          }
          let got: Tensor | null = null;
          let ourErr: unknown = null;
          try {
            got = pad(x, pads, { mode });
          } catch (e) {
            if (!(e instanceof VisionOpsError)) throw e;
            ourErr = e;
          }
          const label = `${mode} [${shape}] pads [${pads}]`;
          expect(ourErr !== null, `${label}: torch ${torchErr ?? 'ok'}, ours ${ourErr ?? 'ok'}`).toBe(torchErr !== null);
          outcomes[torchErr ? 'error' : 'ok']++;
          if (expected && got) expectEqual(got, expected, label);
        },
      ),
      { numRuns: 500 },
    );
    // Both branches of the agreement must be exercised substantially.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.error).toBeGreaterThan(100);
  });
});

function dimsOf(rank: number): fc.Arbitrary<number[]> {
  const dim = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.constant(0) });
  return fc.array(dim, { minLength: rank, maxLength: rank });
}

/** Mirrors gen_pad.torch_undefined: circular pads longer than the cropped signal have no defined torch answer. */
function circularUndefined(shape: number[], pads: number[], mode: PadMode): boolean {
  if (mode !== 'circular' || pads.length % 2 !== 0 || shape.length !== pads.length / 2 + 2) return false;
  for (let i = 0; i < pads.length / 2; i++) {
    const size = shape[shape.length - 1 - i];
    const [l, r] = [pads[2 * i], pads[2 * i + 1]];
    const kept = size + Math.min(l, 0) + Math.min(r, 0);
    if (l <= size && r <= size && size + l + r >= 0 && (l > kept || r > kept)) return true;
  }
  return false;
}

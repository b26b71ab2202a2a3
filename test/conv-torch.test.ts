import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, randn, VisionOpsError, type Tensor } from '../src';
import { expectConvClose, runConv, type ConvArgs, type ConvOp } from './conv-tolerance';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

const small = (min: number, max: number) => fc.integer({ min, max });
/** Mostly valid values, sometimes an invalid or degenerate one. */
const mostly = <T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: odd });

const common = {
  n: mostly(small(1, 2), fc.constant(0)),
  unbatched: fc.boolean(),
  groups: mostly(small(1, 3), fc.constant(0)),
  cInG: mostly(small(1, 3), fc.constant(0)),
  cOutG: small(1, 3),
  cOutExtra: mostly(fc.constant(0), fc.constant(1)),
  kh: mostly(small(1, 4), fc.constant(0)),
  kw: small(1, 4),
  stride: mostly(fc.tuple(small(1, 3), small(1, 3)), fc.tuple(small(0, 1), small(1, 2))),
  dilation: mostly(fc.tuple(small(1, 2), small(1, 3)), fc.tuple(small(0, 1), small(1, 2))),
  h: mostly(small(1, 12), fc.constant(0)),
  w: small(2, 12),
  bias: fc.constantFrom('none', 'ok', 'ok', 'ok', 'ok', 'wrong'),
  seed: fc.integer(),
};

type Common = { [K in keyof typeof common]: (typeof common)[K] extends fc.Arbitrary<infer T> ? T : never };

function tensors(g: Common, transposed: boolean): ConvArgs {
  const gen = new Generator(g.seed);
  const groups = Math.max(g.groups, 1);
  const cIn = groups * g.cInG;
  const xShape = g.unbatched ? [cIn, g.h, g.w] : [g.n, cIn, g.h, g.w];
  const wShape = transposed ? [cIn + g.cOutExtra, g.cOutG, g.kh, g.kw] : [groups * g.cOutG + g.cOutExtra, g.cInG, g.kh, g.kw];
  const cOut = transposed ? groups * g.cOutG : groups * g.cOutG + g.cOutExtra;
  const args: ConvArgs = { x: randn(xShape, { generator: gen }), weight: randn(wShape, { generator: gen }), groups: g.groups, stride: g.stride, dilation: g.dilation };
  if (g.bias !== 'none') args.bias = randn([g.bias === 'ok' ? cOut : cOut + 1], { generator: gen });
  return args;
}

describe.skipIf(!hasTorch)(`conv vs live torch (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  /** torch raises <=> we throw a typed error; otherwise values within the conv bound (see conv-tolerance.ts). */
  async function agree(op: ConvOp, args: ConvArgs, outcomes: { ok: number; error: number }): Promise<void> {
    let expected: Tensor | null = null;
    let torchErr: string | null = null;
    try {
      expected = await torch.call<Tensor>(op, args);
    } catch (e) {
      if (!(e instanceof TorchError)) throw e;
      torchErr = `${e.pyType}: ${e.message}`;
    }
    let got: Tensor | null = null;
    let ourErr: string | null = null;
    try {
      got = runConv(op, args);
    } catch (e) {
      if (!(e instanceof VisionOpsError)) throw e;
      ourErr = `${e.name}: ${e.message}`;
    }
    const label = `${op} x ${args.x.shape} w ${args.weight.shape} ${JSON.stringify({ ...args, x: undefined, weight: undefined, bias: args.bias?.shape })}`;
    // For an empty input torch 1.13 dispatches to its "Empty" backend and skips the backend's own
    // checks (dilation > 0, kernel > 0, output_padding < stride or dilation, output size >= 1);
    // we validate arguments regardless of the data (documented in docs/ops-conv.md).
    if (args.x.numel === 0 && ourErr !== null && torchErr === null) {
      outcomes.error++;
      return;
    }
    expect(ourErr !== null, `${label}: torch ${torchErr ?? 'ok'}; ours ${ourErr ?? 'ok'}`).toBe(torchErr !== null);
    outcomes[torchErr ? 'error' : 'ok']++;
    if (expected && got) expectConvClose(op, got, expected, args, label);
  }

  it('conv2d agrees on random geometry, padding modes and invalid arguments', async () => {
    const outcomes = { ok: 0, error: 0 };
    const padding = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(small(0, 3), small(0, 3)) },
      { weight: 2, arbitrary: fc.constantFrom('same', 'valid') },
      { weight: 1, arbitrary: fc.tuple(small(-1, 0), small(0, 1)) },
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ ...common, padding }), async (g) => {
        await agree('conv2d', { ...tensors(g, false), padding: g.padding }, outcomes);
      }),
      { numRuns: 400 },
    );
    expect(outcomes.ok).toBeGreaterThan(120);
    expect(outcomes.error).toBeGreaterThan(60);
  });

  it('conv2d agrees on the Winograd path (3x3, stride 1, >= 8 channels per group)', async () => {
    const outcomes = { ok: 0, error: 0 };
    const wino = {
      ...common,
      cInG: small(8, 10),
      cOutG: small(8, 11),
      kh: fc.constant(3),
      kw: fc.constant(3),
      stride: fc.constant([1, 1] as [number, number]),
      groups: small(1, 2),
      cOutExtra: fc.constant(0),
      h: small(1, 14),
      w: small(1, 14),
      padding: fc.oneof(fc.tuple(small(0, 4), small(0, 4)), fc.constant('same')),
    };
    await fc.assert(
      fc.asyncProperty(fc.record(wino), async (g) => {
        await agree('conv2d', { ...tensors(g, false), padding: g.padding }, outcomes);
      }),
      { numRuns: 120 },
    );
    expect(outcomes.ok).toBeGreaterThan(60);
  });

  it('conv_transpose2d agrees on the sub-pixel Winograd path (k = 2 * stride, >= 8 channels per group)', async () => {
    const outcomes = { ok: 0, error: 0 };
    const wino = {
      ...common,
      cInG: small(8, 10),
      cOutG: small(8, 10),
      kh: small(1, 3),
      kw: fc.constant(0),
      stride: small(1, 3).map((s) => [s, s] as [number, number]),
      dilation: fc.constant([1, 1] as [number, number]),
      groups: small(1, 2),
      cOutExtra: fc.constant(0),
      h: small(1, 8),
      w: small(1, 8),
      padding: fc.tuple(small(0, 3), small(0, 3)),
      outputPadding: fc.tuple(small(0, 2), small(0, 2)),
    };
    await fc.assert(
      fc.asyncProperty(fc.record(wino), async (g) => {
        // kernel 2 * stride gives 2x2 phases; kh = 1 or 3 mixes in 1x1 / ragged phases
        const k = g.kh === 2 ? 2 * g.stride[0] : g.kh * g.stride[0];
        const outputPadding = g.outputPadding.map((v) => v % g.stride[0]); // invalid ones are covered below
        const args: ConvArgs = { ...tensors({ ...g, kh: k, kw: k }, true), padding: g.padding, outputPadding };
        await agree('conv_transpose2d', args, outcomes);
      }),
      { numRuns: 120 },
    );
    expect(outcomes.ok).toBeGreaterThan(50);
  });

  it('conv_transpose2d agrees on random geometry, output padding / size and invalid arguments', async () => {
    const outcomes = { ok: 0, error: 0 };
    const extra = {
      padding: mostly(fc.tuple(small(0, 3), small(0, 3)), fc.tuple(small(-1, 0), small(0, 1))),
      outputPadding: mostly(fc.tuple(small(0, 1), small(0, 1)), fc.tuple(small(0, 3), small(0, 3))),
      sizeMode: fc.constantFrom('padding', 'padding', 'size', 'size4'),
      sizeDelta: mostly(fc.tuple(small(0, 2), small(0, 1)), fc.tuple(fc.constant(-1), small(0, 3))),
    };
    await fc.assert(
      fc.asyncProperty(fc.record({ ...common, ...extra }), async (g) => {
        const args: ConvArgs = { ...tensors(g, true), padding: g.padding };
        if (g.sizeMode === 'padding') {
          args.outputPadding = g.outputPadding;
        } else {
          // sizes around the valid range [min, min + stride - 1]
          const [sh, sw] = g.stride;
          const [dh, dw] = g.dilation;
          const minH = (g.h - 1) * sh - 2 * g.padding[0] + dh * (g.kh - 1) + 1;
          const minW = (g.w - 1) * sw - 2 * g.padding[1] + dw * (g.kw - 1) + 1;
          const hw = [minH + g.sizeDelta[0], minW + g.sizeDelta[1]];
          args.outputSize = g.sizeMode === 'size' ? hw : [...args.x.shape.slice(0, args.x.ndim - 2), ...hw];
        }
        await agree('conv_transpose2d', args, outcomes);
      }),
      { numRuns: 400 },
    );
    expect(outcomes.ok).toBeGreaterThan(85);
    expect(outcomes.error).toBeGreaterThan(60);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/tensor/errors';
import { conv2d, convTranspose2d, Generator, randn, resolveConv2d, resolveConvTranspose2d, Tensor, zeros, type Conv2dPadding } from '../src';
import { expectConvClose, runConv, type ConvArgs, type ConvOp } from './conv-tolerance';
import { loadFixture } from './helpers/fixtures';

interface ConvCase {
  op: ConvOp;
  args: ConvArgs;
  expected?: Tensor;
  error?: string;
  ours?: keyof typeof errors;
}

describe('conv2d / conv_transpose2d vs torch 1.13 fixtures', () => {
  const { cases } = loadFixture<ConvCase>('conv');
  it('covers both ops and their errors', () => {
    expect(new Set(cases.map((c) => c.op)).size).toBe(2);
    expect(cases.filter((c) => c.error && c.op === 'conv2d').length).toBeGreaterThan(15);
    expect(cases.filter((c) => c.error && c.op === 'conv_transpose2d').length).toBeGreaterThan(15);
  });
  it.each(cases.map((c, i) => [`${i} ${c.op}${c.error ? ` (${c.error})` : ''}`, c] as const))('%s', (label, c) => {
    if (c.error) {
      expect(() => runConv(c.op, c.args), `${label}: torch raised ${c.error}`).toThrow(errors[c.ours!] as typeof errors.VisionOpsError);
      return;
    }
    expectConvClose(c.op, runConv(c.op, c.args), c.expected!, c.args, label);
  });
});

function dot(a: Tensor, b: Tensor): number {
  const x = a.contiguous().data;
  const y = b.contiguous().data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

function absDot(a: Tensor, b: Tensor): number {
  const x = a.contiguous().data;
  const y = b.contiguous().data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i] * y[i]);
  return s;
}

/** Random valid conv geometry; the input is at least as large as the dilated kernel. */
const geometry = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cInG: fc.integer({ min: 1, max: 3 }),
    cOutG: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 3 }),
    dw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 3 }),
    pw: fc.integer({ min: 0, max: 3 }),
    extraH: fc.integer({ min: 0, max: 6 }),
    extraW: fc.integer({ min: 0, max: 6 }),
    seed: fc.integer(),
  })
  .map((g) => ({ ...g, h: Math.max(1, g.dh * (g.kh - 1) + 1 - 2 * g.ph + g.extraH), w: Math.max(1, g.dw * (g.kw - 1) + 1 - 2 * g.pw + g.extraW) }))
  .filter((g) => g.h + 2 * g.ph >= g.dh * (g.kh - 1) + 1 && g.w + 2 * g.pw >= g.dw * (g.kw - 1) + 1);

describe('conv properties', () => {
  it('<conv2d(x, w), y> == <x, convTranspose2d(y, w)> (adjointness, float64)', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const gen = new Generator(g.seed);
        const x = randn([g.n, g.groups * g.cInG, g.h, g.w], { generator: gen, dtype: 'float64' });
        const w = randn([g.groups * g.cOutG, g.cInG, g.kh, g.kw], { generator: gen, dtype: 'float64' });
        const params = { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups };
        const y = conv2d(x, w, params);
        const r = randn([...y.shape], { generator: gen, dtype: 'float64' });
        // conv2d floors the output size; the remainder is the transposed conv's output padding.
        const outputPadding = [
          g.h - ((y.shape[2] - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + 1),
          g.w - ((y.shape[3] - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + 1),
        ];
        const xt = convTranspose2d(r, w, { ...params, outputPadding });
        expect(xt.shape).toEqual(x.shape);
        const lhs = dot(y, r);
        const rhs = dot(x, xt);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * (absDot(y, r) + absDot(x, xt)) * 100);
      }),
      { numRuns: 150 },
    );
  });

  it('a dilated conv equals the conv with a zero-inserted kernel', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const gen = new Generator(g.seed);
        const x = randn([g.n, g.groups * g.cInG, g.h, g.w], { generator: gen, dtype: 'float64' });
        const w = randn([g.groups * g.cOutG, g.cInG, g.kh, g.kw], { generator: gen, dtype: 'float64' });
        const ekh = g.dh * (g.kh - 1) + 1;
        const ekw = g.dw * (g.kw - 1) + 1;
        const wd = zeros([w.shape[0], g.cInG, ekh, ekw], { dtype: 'float64' });
        for (let o = 0; o < w.shape[0]; o++)
          for (let c = 0; c < g.cInG; c++)
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) wd.data[((o * g.cInG + c) * ekh + i * g.dh) * ekw + j * g.dw] = w.get(o, c, i, j);
        const common = { stride: [g.sh, g.sw], padding: [g.ph, g.pw], groups: g.groups };
        const a = conv2d(x, w, { ...common, dilation: [g.dh, g.dw] });
        const b = conv2d(x, wd, common);
        expect(a.shape).toEqual(b.shape);
        for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThan(1e-12 * (1 + Math.abs(b.data[i])));
      }),
      { numRuns: 100 },
    );
  });

  it('output shapes follow torch formulas (conv2d, same/valid, transposed with outputPadding/outputSize)', () => {
    fc.assert(
      fc.property(geometry, fc.constantFrom<Conv2dPadding | null>(null, 'same', 'valid'), fc.nat(), (g, mode, pick) => {
        const xShape = [g.n, g.groups * g.cInG, g.h, g.w];
        const wShape = [g.groups * g.cOutG, g.cInG, g.kh, g.kw];
        const padding = mode ?? [g.ph, g.pw];
        const stride = mode === 'same' ? 1 : [g.sh, g.sw];
        const fits = mode !== 'valid' || (g.h >= g.dh * (g.kh - 1) + 1 && g.w >= g.dw * (g.kw - 1) + 1);
        if (!fits) {
          expect(() => resolveConv2d(xShape, wShape, { stride, padding, dilation: [g.dh, g.dw], groups: g.groups })).toThrow(errors.ShapeError);
          return;
        }
        const plan = resolveConv2d(xShape, wShape, { stride, padding, dilation: [g.dh, g.dw], groups: g.groups });
        const [sh, sw] = mode === 'same' ? [1, 1] : [g.sh, g.sw];
        const [ph2, pw2] = mode === 'same' ? [g.dh * (g.kh - 1), g.dw * (g.kw - 1)] : mode === 'valid' ? [0, 0] : [2 * g.ph, 2 * g.pw];
        const oh = Math.floor((g.h + ph2 - g.dh * (g.kh - 1) - 1) / sh) + 1;
        const ow = Math.floor((g.w + pw2 - g.dw * (g.kw - 1) - 1) / sw) + 1;
        expect(plan.outShape).toEqual([g.n, g.groups * g.cOutG, oh, ow]);
        if (mode === 'same') expect([oh, ow]).toEqual([g.h, g.w]);
        // transposed: x is the conv output, any output padding < stride, or an output size in range
        const tShape = [g.n, g.groups * g.cOutG, oh, ow];
        const twShape = [g.groups * g.cOutG, g.cInG, g.kh, g.kw];
        const minH = (oh - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + 1;
        const minW = (ow - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + 1;
        const opH = pick % g.sh;
        const opW = pick % g.sw;
        const tParams = { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups };
        if (minH + opH < 1 || minW + opW < 1) {
          expect(() => resolveConvTranspose2d(tShape, twShape, { ...tParams, outputPadding: [opH, opW] })).toThrow(errors.ShapeError);
          return;
        }
        const t1 = resolveConvTranspose2d(tShape, twShape, { ...tParams, outputPadding: [opH, opW] });
        expect(t1.outShape).toEqual([g.n, g.groups * g.cInG, minH + opH, minW + opW]);
        const t2 = resolveConvTranspose2d(tShape, twShape, { ...tParams, outputSize: [minH + opH, minW + opW] });
        expect(t2.outShape).toEqual(t1.outShape);
        expect(() => resolveConvTranspose2d(tShape, twShape, { ...tParams, outputSize: [minH + g.sh, minW] })).toThrow(errors.ValueError);
      }),
      { numRuns: 300 },
    );
  });

  it('unbatched input equals the batch-of-one result, float32 and float64', () => {
    const gen = new Generator(7);
    for (const dtype of ['float32', 'float64'] as const) {
      const x = randn([3, 6, 5], { generator: gen, dtype });
      const w = randn([4, 3, 3, 2], { generator: gen, dtype });
      const a = conv2d(x, w, { padding: 'same' });
      const b = conv2d(x.unsqueeze(0), w, { padding: 'same' }).squeeze(0);
      expect(a.dtype).toBe(dtype);
      expect(Array.from(a.data)).toEqual(Array.from(b.contiguous().data));
      const wt = randn([3, 2, 3, 3], { generator: gen, dtype });
      expect(Array.from(convTranspose2d(x, wt, { stride: 2 }).data)).toEqual(Array.from(convTranspose2d(x.unsqueeze(0), wt, { stride: 2 }).squeeze(0).contiguous().data));
    }
  });

  it('outputs whose window lies wholly in the padding are exactly the bias (Winograd and GEMM paths)', () => {
    const gen = new Generator(5);
    for (const c of [8, 3]) {
      const x = randn([1, c, 3, 2], { generator: gen });
      const w = randn([8, c, 3, 3], { generator: gen });
      const bias = randn([8], { generator: gen });
      const y = conv2d(x, w, { bias, padding: 4 });
      // rows 0-1 / 7-8 and columns 0-1 / 6-7 of the 9 x 8 output see only padding
      for (let o = 0; o < 8; o++) {
        for (const [r, q] of [[0, 0], [1, 5], [8, 3], [4, 7], [3, 1]]) expect(y.get(0, o, r, q)).toBe(bias.get(o));
      }
    }
  });

  it('keeps NaN and infinity local to the windows that contain them (Winograd-sized layers too)', () => {
    const gen = new Generator(9);
    for (const k of [3, 2]) {
      const x = randn([1, 8, 9, 9], { generator: gen });
      const w = randn([8, 8, k, k], { generator: gen });
      x.data[(3 * 9 + 4) * 9 + 4] = NaN;
      x.data[(5 * 9 + 0) * 9 + 8] = Infinity;
      const y = conv2d(x, w);
      const out = y.shape[2];
      for (let r = 0; r < out; r++) {
        for (let c = 0; c < out; c++) {
          const seesNaN = r <= 4 && r + k > 4 && c <= 4 && c + k > 4;
          const seesInf = r === 0 && c + k > 8;
          const v = y.get(0, 1, r, c);
          if (seesNaN) expect(v, `(${r}, ${c})`).toBeNaN();
          else if (seesInf) expect(Math.abs(v), `(${r}, ${c})`).toBe(Infinity);
          else expect(Number.isFinite(v), `(${r}, ${c})`).toBe(true);
        }
      }
    }
  });

  it('reads strided (non-contiguous) inputs correctly', () => {
    const gen = new Generator(3);
    const x = randn([1, 5, 6, 4], { generator: gen }).permute(0, 1, 3, 2);
    const w = randn([2, 5, 3, 3], { generator: gen });
    expect(Array.from(conv2d(x, w, { padding: 1 }).data)).toEqual(Array.from(conv2d(x.contiguous(), w, { padding: 1 }).data));
  });

  it('rejects non-float and mixed dtypes and non-tensors with typed errors', () => {
    const x = randn([1, 2, 4, 4]);
    const w = randn([3, 2, 3, 3]);
    expect(() => conv2d(x.to('int32'), w.to('int32'))).toThrow(errors.DTypeError);
    expect(() => conv2d(x, w, { bias: randn([3], { dtype: 'float64' }) })).toThrow(errors.DTypeError);
    expect(() => convTranspose2d(x, w.to('float64'))).toThrow(errors.DTypeError);
    expect(() => conv2d(x, [1, 2] as unknown as Tensor)).toThrow(errors.ValueError);
    expect(() => conv2d(x, w, { stride: 1.5 })).toThrow(errors.ValueError);
  });
});

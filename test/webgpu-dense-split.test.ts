/**
 * GPU pad and softmax on tensors several times a storage binding: the `tiny`
 * backend's 1 KiB bindings hold 192 floats once the offset alignment (256 bytes
 * on SwiftShader) is set aside, so these cases only run by splitting. pad is a
 * gather, so exact. The split softmax carries the max and the sum from piece to
 * piece in the single-pass kernel's order, so it must equal the default
 * backend's single-pass result bit for bit, and the CPU within the single-pass
 * tolerances: 1e-5 |y| + 1e-6, logSoftmax 1e-5 (1 + |y|).
 */
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { pad, type PadMode, type PadOptions } from '../src/ops/pad';
import { logSoftmax, softmax } from '../src/ops/softmax';
import { Generator, randn, Tensor } from '../src/tensor';
import type { WebGPUBackend } from '../src/backends/webgpu';
import { describeGPU, testBackend } from './helpers/webgpu';

let gpu: WebGPUBackend;
let tiny: WebGPUBackend;
beforeAll(async () => {
  gpu = await testBackend();
  tiny = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
});

/** Largest dim per rank: up to a few thousand elements, many bindings, few seconds on SwiftShader. */
const MAX_DIM = [1, 700, 40, 13, 7, 5];

function dimsOf(rank: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: MAX_DIM[rank] }), { minLength: rank, maxLength: rank });
}

function scaledRandn(shape: number[], scale: number, generator?: Generator): Tensor {
  const x = randn(shape, { generator });
  const d = x.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return x;
}

/** Exact comparison with the CPU op, or the same error. */
async function padMatches(x: Tensor, pads: number[], opts: PadOptions, label: string): Promise<void> {
  let exp: Tensor;
  try {
    exp = pad(x, pads, opts);
  } catch (e) {
    await expect(tiny.pad(x, pads, opts)).rejects.toThrow((e as Error).message);
    return;
  }
  const got = await (await tiny.pad(x, pads, opts)).read();
  expect(got.dtype, label).toBe(x.dtype === 'int32' ? 'int32' : 'float32');
  expect(got.shape, label).toEqual(exp.shape);
  expect(Array.from(got.data), label).toEqual(Array.from(exp.data));
}

await describeGPU('webgpu pad split', () => {
  // Ranks the border modes accept: reflect / replicate pad 1-3 trailing dims of an optionally batched input, circular of a batched one.
  const layout = fc.oneof(
    fc.integer({ min: 1, max: 5 }).chain((rank) => fc.record({ mode: fc.constant<PadMode>('constant'), rank: fc.constant(rank), np: fc.integer({ min: 1, max: rank }) })),
    fc.record({ mode: fc.constantFrom<PadMode>('reflect', 'replicate'), np: fc.integer({ min: 1, max: 3 }), batch: fc.integer({ min: 1, max: 2 }) }).map((c) => ({ ...c, rank: c.np + c.batch })),
    fc.integer({ min: 1, max: 3 }).map((np) => ({ mode: 'circular' as PadMode, np, rank: np + 2 })),
  );

  it('matches the CPU exactly for every mode, rank 1-5, negative pads, padded first dims and int32', async () => {
    await fc.assert(
      fc.asyncProperty(
        layout.chain(({ mode, rank, np }) =>
          fc.record({
            mode: fc.constant(mode),
            shape: dimsOf(rank),
            pads: fc.array(fc.integer({ min: -3, max: 5 }), { minLength: 2 * np, maxLength: 2 * np }),
            value: fc.double({ min: -5, max: 5, noNaN: true }),
            int: fc.boolean(),
          }),
        ),
        async (c) => {
          const int = c.int && c.mode === 'constant';
          const x = int ? scaledRandn(c.shape, 10).to('int32') : randn(c.shape);
          await padMatches(x, c.pads, { mode: c.mode, ...(c.mode === 'constant' ? { value: c.value } : {}) }, JSON.stringify(c));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('splits rows longer than a binding, heavy crops, all-fill runs and 0-d tensors', async () => {
    const cases: [number[], number[], PadOptions][] = [
      // A row of the last dim above a binding in the output only, then in the input only.
      [[3, 150], [30, 40, 1, 1], { value: 7 }],
      [[3, 700], [-300, 10, 1, 0], {}],
      [[2, 3, 400], [7, 9], { mode: 'reflect' }],
      [[2, 300], [5, 6], { mode: 'replicate' }],
      [[1, 2, 300], [-5, 3], { mode: 'circular' }],
      [[2, 3, 20, 30], [-4, 6, 5, -7], { mode: 'circular' }],
      // Mostly fill: the runs beyond the input read nothing.
      [[50], [300, 200], { value: -2 }],
      [[0, 4], [1, 2, 300, 1], { value: 3 }],
      [[], [], {}],
    ];
    for (const [shape, pads, opts] of cases) await padMatches(randn(shape), pads, opts, JSON.stringify([shape, pads, opts]));
    await padMatches(scaledRandn([9, 8, 7], 100).to('int32'), [2, -3, -1, 4, 5, 1], { value: -9 }, 'int32');
  });
});

await describeGPU('webgpu softmax split', () => {
  /** The CPU result within the tolerance, and the default backend's result exactly. */
  async function softmaxMatches(x: Tensor, dim: number, log: boolean, label: string): Promise<void> {
    const exp = (log ? logSoftmax : softmax)(x, { dim });
    const call = (b: WebGPUBackend) => (log ? b.logSoftmax(x, { dim }) : b.softmax(x, { dim })).then((t) => t.read());
    const got = await call(tiny);
    expect(Array.from(got.data), label).toEqual(Array.from((await call(gpu)).data));
    const tol = (e: number) => (log ? (Number.isFinite(e) ? 1e-5 * (1 + Math.abs(e)) : 0) : 1e-5 * Math.abs(e) + 1e-6);
    for (let i = 0; i < exp.numel; i++) {
      const e = exp.data[i];
      const g = got.data[i];
      if (g !== e && (Number.isNaN(e) ? !Number.isNaN(g) : !(Math.abs(g - e) <= tol(e)))) expect.fail(`${label} at ${i}: ${g} vs ${e}`);
    }
  }

  /**
   * Scaled normal values with NaN, +inf, -inf or a slice of -inf at seeded positions
   * (an infinite max makes a slice NaN on the CPU; WGSL leaves inf arithmetic to the implementation).
   */
  function input(shape: number[], dim: number, special: string, seed: number): Tensor {
    const g = new Generator(seed);
    const x = scaledRandn(shape, 4, g);
    const d = x.data as Float32Array;
    const at = () => Math.floor(g.random() * d.length);
    if (special === 'nan') d[at()] = NaN;
    if (special === 'neginf') for (let k = 0; k < 5; k++) d[at()] = -Infinity;
    if (special === 'posinf') d[at()] = Infinity;
    if (special === 'slice') {
      // Every element of the slice through one position along `dim`.
      const inner = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const p = at();
      const base = p - (Math.floor(p / inner) % shape[dim]) * inner;
      for (let k = 0; k < shape[dim]; k++) d[base + k * inner] = -Infinity;
    }
    return x;
  }

  it('softmax and logSoftmax along any dim match the single-pass kernel and the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((rank) => fc.tuple(dimsOf(rank), fc.integer({ min: 0, max: rank - 1 }))),
        fc.boolean(),
        fc.constantFrom('none', 'nan', 'neginf', 'posinf', 'slice'),
        fc.integer({ min: 1, max: 1e9 }),
        async ([shape, dim], log, special, seed) => {
          await softmaxMatches(input(shape, dim, special, seed), dim, log, JSON.stringify({ shape, dim, log, special, seed }));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('splits a normalised dim longer than a binding and trailing dims longer than one', async () => {
    const cases: [number[], number][] = [
      [[3, 500], 1],
      [[450, 2], 0],
      [[2, 3, 300], 1],
      [[5, 250], 0],
      [[2, 7, 3, 70], 1],
    ];
    for (const [shape, dim] of cases) {
      for (const log of [false, true]) {
        for (const special of ['none', 'nan', 'posinf', 'slice']) await softmaxMatches(input(shape, dim, special, 11), dim, log, JSON.stringify({ shape, dim, log, special }));
      }
    }
  });
});

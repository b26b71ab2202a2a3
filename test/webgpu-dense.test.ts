/**
 * GPU interpolate, pad and softmax against the CPU kernels on generated shapes.
 * Tolerances: nearest/nearest-exact and pad are gathers, so exact. Linear and
 * bilinear use the CPU's taps and weights and sum in its order in float32
 * (the CPU rounds each row sum once): 8 eps max|x|. Bicubic: 32 eps max|x|
 * (four-term sums). softmax: float32 exp (WGSL allows a few ulps) and a
 * float32 sum of `size` terms: 1e-5 |y| + 1e-6 (size <= 40 here); logSoftmax
 * 1e-5 (1 + |y|). `small` interpolate cases run on a backend with a 1 KiB
 * binding limit (768 bytes usable), so larger planes run in bands of output
 * rows and, where the horizontal taps exceed it, blocks of columns.
 */
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { interpolate } from '../src/ops/interpolate';
import { pad } from '../src/ops/pad';
import { logSoftmax, softmax } from '../src/ops/softmax';
import { randn, Tensor, tensor } from '../src/tensor';
import type { WebGPUBackend } from '../src/backends/webgpu';
import { describeGPU, recordBindingSizes, testBackend } from './helpers/webgpu';

const EPS = 2 ** -23;
let gpu: WebGPUBackend;
let tiny: WebGPUBackend;
beforeAll(async () => {
  gpu = await testBackend();
  tiny = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
});

/** CPU result (or its error, which the GPU call must reproduce) and the GPU result. */
async function both(cpu: () => Tensor, gpuCall: (exp: Tensor | null) => Promise<{ read(): Promise<Tensor> }>): Promise<[Tensor, Tensor] | null> {
  let exp: Tensor;
  try {
    exp = cpu();
  } catch (e) {
    await expect(gpuCall(null)).rejects.toThrow((e as Error).message);
    return null;
  }
  return [exp, await (await gpuCall(exp)).read()];
}

/** The small-binding backend when input and output fit its limit whole (so it must split or fit, never refuse). */
function pickFor(small: boolean, x: Tensor, exp: Tensor | null): WebGPUBackend {
  return small && exp && Math.max(x.numel * 4, exp.numel * 4) <= 1024 - 256 ? tiny : gpu;
}

function close(got: Tensor, exp: Tensor, tol: (e: number) => number, label: string): void {
  expect(got.shape, label).toEqual(exp.shape);
  for (let i = 0; i < exp.numel; i++) {
    const e = exp.data[i];
    const g = got.data[i];
    if (g !== e && (Number.isNaN(e) ? !Number.isNaN(g) : !(Math.abs(g - e) <= tol(e)))) expect.fail(`${label} at ${i}: ${g} vs ${e}`);
  }
}

await describeGPU('webgpu interpolate parity', () => {
  it('matches the CPU for every GPU mode, alignCorners, scale factors and 1-D inputs', async () => {
    const modes = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          mode: fc.constantFrom(...modes),
          n: fc.integer({ min: 1, max: 2 }),
          c: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 16 }),
          w: fc.integer({ min: 1, max: 16 }),
          oh: fc.integer({ min: 1, max: 25 }),
          ow: fc.integer({ min: 1, max: 25 }),
          scale: fc.option(fc.tuple(fc.double({ min: 0.3, max: 3.2, noNaN: true }), fc.double({ min: 0.3, max: 3.2, noNaN: true }))),
          alignCorners: fc.boolean(),
          small: fc.boolean(),
        }),
        async (c) => {
          const oneD = c.mode === 'linear';
          const x = randn(oneD ? [c.n, c.c, c.w] : [c.n, c.c, c.h, c.w]);
          const linear = c.mode === 'linear' || c.mode === 'bilinear' || c.mode === 'bicubic';
          const opts = {
            mode: c.mode,
            ...(c.scale ? { scaleFactor: oneD ? [c.scale[1]] : c.scale } : { size: oneD ? [c.ow] : [c.oh, c.ow] }),
            ...(linear ? { alignCorners: c.alignCorners } : {}),
          };
          const r = await both(() => interpolate(x, opts), () => (c.small ? tiny : gpu).interpolate(x, opts));
          if (!r) return;
          const maxAbs = Math.max(...Array.from(x.data, Math.abs));
          const k = c.mode.startsWith('nearest') ? 0 : c.mode === 'bicubic' ? 32 : 8;
          close(r[1], r[0], () => k * EPS * maxAbs, JSON.stringify(c));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('matches the CPU on runs of output rows sharing source rows (up to a one-row input) and on rows one by one, any width', async () => {
    // Upsampling by 8 and 2.5 (runs of rows), by 40 from one row (runs longer than a thread takes),
    // by 1.3 and down (one row at a time); widths 1 to 50 leave a thread's last columns partly empty.
    const cases = [
      { shape: [1, 2, 5, 7], size: [41, 30] },
      { shape: [1, 1, 1, 3], size: [40, 13] },
      { shape: [2, 1, 6, 4], scaleFactor: [2.5, 0.5] },
      { shape: [1, 1, 10, 10], size: [13, 1] },
      { shape: [1, 3, 30, 29], size: [7, 6] },
      { shape: [1, 1, 4, 9], scaleFactor: [1.75, 4.6] },
      { shape: [2, 3, 7], size: [50] },
      { shape: [1, 2, 9], scaleFactor: [0.4] },
    ];
    for (const b of [gpu, tiny]) {
      const codes = new Set<string>();
      const run = b.run.bind(b);
      b.run = (list) => {
        for (const d of list) if ('code' in d) codes.add(d.code);
        return run(list);
      };
      try {
        for (const { shape, ...size } of cases) {
          const x = randn(shape);
          const maxAbs = Math.max(...Array.from(x.data, Math.abs));
          const modes = shape.length === 3 ? (['linear', 'nearest'] as const) : (['nearest', 'nearest-exact', 'bilinear', 'bicubic'] as const);
          for (const mode of modes) {
            for (const alignCorners of mode.startsWith('nearest') ? [undefined] : [false, true]) {
              const opts = { mode, ...size, alignCorners };
              const k = mode.startsWith('nearest') ? 0 : mode === 'bicubic' ? 32 : 8;
              close(await (await b.interpolate(x, opts)).read(), interpolate(x, opts), () => k * EPS * maxAbs, JSON.stringify({ shape, ...opts }));
            }
          }
        }
      } finally {
        b.run = run;
      }
      // Both kernels ran: with a loop over a run's rows and without.
      expect([...codes].some((c) => c.includes('for ('))).toBe(true);
      expect([...codes].some((c) => !c.includes('for ('))).toBe(true);
    }
  });

  it('runs planes several times a binding in row bands and column blocks on a small-binding backend, no binding above the limit', async () => {
    const b = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
    const bound = recordBindingSizes(b);
    // Up: 2250-float output planes, bicubic horizontal taps of 1600 bytes; by 8, runs of rows cut by the bands.
    // Down: 1200-float input planes. 1-D: a 150-wide row whose taps (2400 bytes) need column blocks.
    const cases = [
      { shape: [1, 2, 20, 30], size: [45, 50] },
      { shape: [1, 2, 6, 8], size: [50, 41] },
      { shape: [2, 1, 40, 30], size: [7, 9] },
      { shape: [2, 3, 100], size: [150] },
    ];
    for (const { shape, size } of cases) {
      const x = randn(shape);
      const maxAbs = Math.max(...Array.from(x.data, Math.abs));
      const modes = shape.length === 3 ? (['linear'] as const) : (['nearest', 'nearest-exact', 'bilinear', 'bicubic'] as const);
      for (const mode of modes) {
        for (const alignCorners of mode.startsWith('nearest') ? [undefined] : [false, true]) {
          const opts = { mode, size, alignCorners };
          const k = mode.startsWith('nearest') ? 0 : mode === 'bicubic' ? 32 : 8;
          close(await (await b.interpolate(x, opts)).read(), interpolate(x, opts), () => k * EPS * maxAbs, JSON.stringify({ shape, ...opts }));
        }
      }
    }
    expect(Math.max(...bound)).toBeLessThanOrEqual(1024);
  });

  it('refuses with a RangeError naming the limit when one output row and its input rows exceed a binding', async () => {
    const x = randn([1, 1, 2, 400]);
    await expect(tiny.interpolate(x, { mode: 'nearest', size: [3, 400] })).rejects.toThrow(RangeError);
    await expect(tiny.interpolate(x, { mode: 'bilinear', size: [3, 400] })).rejects.toThrow(
      /^interpolate\(\): one output row \(with the input rows it reads\) needs a 3200-byte storage binding, above this device's limit of 768 bytes \(maxStorageBufferBindingSize\)/,
    );
  });

  it("runs 'area' on the CPU", async () => {
    const x = randn([1, 2, 6, 6]);
    const got = await (await gpu.interpolate(x, { mode: 'area', size: [4, 3] })).read();
    expect(Array.from(got.data)).toEqual(Array.from(interpolate(x, { mode: 'area', size: [4, 3] }).data));
  });
});

await describeGPU('webgpu pad parity', () => {
  it('matches the CPU exactly for every mode, negative pads and int32', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          mode: fc.constantFrom('constant', 'reflect', 'replicate', 'circular'),
          shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 5 }),
          pads: fc.array(fc.integer({ min: -2, max: 4 }), { minLength: 2, maxLength: 6 }),
          value: fc.double({ min: -5, max: 5, noNaN: true }),
          int: fc.boolean(),
          small: fc.boolean(),
        }),
        async (c) => {
          const pads = c.pads.slice(0, 2 * Math.floor(c.pads.length / 2));
          const base = randn(c.shape);
          const x = c.int && c.mode === 'constant' ? base.to('int32') : base;
          const opts = { mode: c.mode, ...(c.mode === 'constant' ? { value: c.value } : {}) };
          const r = await both(() => pad(x, pads, opts), (exp) => pickFor(c.small, x, exp).pad(x, pads, opts));
          if (!r) return;
          expect(r[1].dtype).toBe(c.int && c.mode === 'constant' ? 'int32' : 'float32');
          close(r[1], r[0], () => 0, JSON.stringify(c));
        },
      ),
      { numRuns: 120 },
    );
  });
});

await describeGPU('webgpu softmax parity', () => {
  it('softmax and logSoftmax match the CPU along any dim, with -inf and NaN entries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: -4, max: 3 }),
        fc.boolean(),
        fc.constantFrom('none', 'neginf', 'nan'),
        async (shape, dimRaw, log, special) => {
          const dim = dimRaw % shape.length;
          const x = randn(shape);
          (x.data as Float32Array).forEach((v, i) => ((x.data as Float32Array)[i] = v * 4));
          if (special === 'neginf') (x.data as Float32Array)[0] = -Infinity;
          if (special === 'nan') (x.data as Float32Array)[x.numel - 1] = NaN;
          const r = await both(
            () => (log ? logSoftmax : softmax)(x, { dim }),
            () => (log ? gpu.logSoftmax(x, { dim }) : gpu.softmax(x, { dim })),
          );
          if (!r) return;
          close(r[1], r[0], (e) => (log ? (Number.isFinite(e) ? 1e-5 * (1 + Math.abs(e)) : 0) : 1e-5 * Math.abs(e) + 1e-6), JSON.stringify({ shape, dim, log, special }));
        },
      ),
      { numRuns: 80 },
    );
    await expect(gpu.softmax(tensor([1, 2]), undefined as never)).rejects.toThrow(/'dim' is required/);
  });

  it('splits over the leading dims under a small binding limit', async () => {
    const x = randn([9, 5, 7]);
    const got = await (await tiny.softmax(x, { dim: 1 })).read();
    close(got, softmax(x, { dim: 1 }), (e) => 1e-5 * Math.abs(e) + 1e-6, 'split');
  });
});

/**
 * GPU pooling against the CPU kernels on generated geometry. maxPool2d and
 * maxUnpool2d move values without arithmetic, so they must match exactly
 * (values, NaN propagation and indices). avgPool2d sums in the CPU's order in
 * float32; WGSL's f32 division is only accurate to 2.5 ULP, so the tolerance is
 * 1e-6 |y| + 1e-7. Cases marked `small` run on a backend with a 1 KiB binding
 * limit (768 bytes usable: 192 floats), so planes above that run in bands of
 * output rows (pools) or output bands fed by index chunks (unpool).
 */
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { avgPool2d, maxPool2d, maxUnpool2d, resolveMaxPool2d, adaptiveAvgPool2d } from '../src/ops/pool';
import { IndexError, randn, Tensor } from '../src/tensor';
import type { WebGPUBackend } from '../src/backends/webgpu';
import { describeGPU, recordBindingSizes, testBackend } from './helpers/webgpu';

let gpu: WebGPUBackend;
let tiny: WebGPUBackend;
beforeAll(async () => {
  gpu = await testBackend();
  tiny = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
});

const poolCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 4 }),
  h: fc.integer({ min: 1, max: 24 }),
  w: fc.integer({ min: 1, max: 20 }),
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })),
  ceilMode: fc.boolean(),
  nan: fc.boolean(),
  unbatched: fc.boolean(),
  small: fc.boolean(),
});
type PoolCase = typeof poolCase extends fc.Arbitrary<infer T> ? T : never;

function input(c: PoolCase): Tensor {
  const x = randn(c.unbatched ? [c.c, c.h, c.w] : [c.n, c.c, c.h, c.w]);
  if (c.nan) (x.data as Float32Array)[Math.floor(x.numel / 2)] = NaN;
  return x;
}

function backendFor(c: PoolCase): WebGPUBackend {
  return c.small ? tiny : gpu;
}

function sameBits(a: Tensor, b: Tensor, label: string): void {
  expect(a.shape, label).toEqual(b.shape);
  for (let i = 0; i < a.numel; i++) {
    if (!Object.is(a.data[i], b.data[i]) && !(Number.isNaN(a.data[i]) && Number.isNaN(b.data[i]))) {
      expect.fail(`${label} at ${i}: ${a.data[i]} vs ${b.data[i]}`);
    }
  }
}

await describeGPU('webgpu pooling parity', () => {
  it('maxPool2d values and indices equal the CPU exactly', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase, async (c) => {
        const opts = { kernelSize: c.k, stride: c.s, padding: c.p, dilation: c.d, ceilMode: c.ceilMode, returnIndices: true as const };
        const x = input(c);
        let exp;
        try {
          exp = maxPool2d(x, opts);
        } catch (e) {
          await expect(gpu.maxPool2d(x, opts)).rejects.toThrow((e as Error).message);
          return;
        }
        const b = backendFor(c);
        const got = await b.maxPool2d(b.upload(x), opts);
        sameBits(await got.output.read(), exp.output, 'values');
        sameBits(await got.indices.read(), exp.indices, 'indices');
        got.output.dispose();
        got.indices.dispose();
      }),
      { numRuns: 60 },
    );
  });

  it('avgPool2d matches the CPU (1e-6 relative)', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase, fc.boolean(), fc.option(fc.integer({ min: -5, max: 9 }).filter((v) => v !== 0)), async (c, countIncludePad, divisorOverride) => {
        const opts = { kernelSize: c.k, stride: c.s, padding: c.p, ceilMode: c.ceilMode, countIncludePad, divisorOverride };
        const x = input({ ...c, nan: false });
        let exp;
        try {
          exp = avgPool2d(x, opts);
        } catch (e) {
          await expect(gpu.avgPool2d(x, opts)).rejects.toThrow((e as Error).message);
          return;
        }
        const b = backendFor(c);
        const got = await (await b.avgPool2d(x, opts)).read();
        expect(got.shape).toEqual(exp.shape);
        for (let i = 0; i < got.numel; i++) {
          expect(Math.abs(got.data[i] - exp.data[i])).toBeLessThanOrEqual(1e-6 * Math.abs(exp.data[i]) + 1e-7);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('maxUnpool2d inverts maxPool2d and resolves duplicate indices like the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(poolCase, fc.boolean(), async (c, randomIdx) => {
        const pOpts = { kernelSize: c.k, stride: c.s, padding: c.p, ceilMode: c.ceilMode };
        const x = input({ ...c, nan: false });
        try {
          resolveMaxPool2d(x.shape, pOpts);
        } catch {
          return;
        }
        const { output, indices } = maxPool2d(x, { ...pOpts, returnIndices: true });
        const uOpts = { kernelSize: c.k, stride: c.s, padding: c.p };
        let exp;
        let idx = indices;
        try {
          if (randomIdx) {
            const plane = maxUnpool2d(output, indices, uOpts).shape.slice(-2).reduce((a, b) => a * b, 1);
            idx = new Tensor(Int32Array.from(indices.data, (_, i) => (i * 7919) % Math.max(plane, 1)), indices.shape, 'int32');
          }
          exp = maxUnpool2d(output, idx, uOpts);
        } catch (e) {
          await expect(gpu.maxUnpool2d(output, idx, uOpts)).rejects.toThrow((e as Error).message);
          return;
        }
        const b = backendFor(c);
        sameBits(await (await b.maxUnpool2d(output, idx, uOpts)).read(), exp, 'unpool');
      }),
      { numRuns: 40 },
    );
  });

  it('maxUnpool2d rejects an out-of-range index with the CPU error', async () => {
    const x = randn([1, 1, 2, 2]);
    const idx = new Tensor(new Int32Array([0, 1, 99, 2]), [1, 1, 2, 2], 'int32');
    expect(() => maxUnpool2d(x, idx, { kernelSize: 2 })).toThrow(IndexError);
    await expect(gpu.maxUnpool2d(x, idx, { kernelSize: 2 })).rejects.toThrow(IndexError);
    await expect(gpu.maxUnpool2d(x, idx, { kernelSize: 2 })).rejects.toThrow('Found an invalid max index: 99');
  });

  it('runs planes several times a binding in pieces on a small-binding backend, no binding above the limit', async () => {
    const b = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
    const bound = recordBindingSizes(b);
    // 960 floats a plane, five times the 192 a binding holds.
    const x = randn([1, 2, 32, 30]);
    (x.data as Float32Array)[500] = NaN;
    const mOpts = { kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 1], ceilMode: true, returnIndices: true as const };
    const exp = maxPool2d(x, mOpts);
    const got = await b.maxPool2d(x, mOpts);
    sameBits(await got.output.read(), exp.output, 'max values');
    sameBits(await got.indices.read(), exp.indices, 'max indices');
    const aOpts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false };
    const y = randn([1, 2, 32, 30]);
    const avg = await (await b.avgPool2d(y, aOpts)).read();
    const avgExp = avgPool2d(y, aOpts);
    avgExp.data.forEach((e, i) => expect(Math.abs(avg.data[i] - e)).toBeLessThanOrEqual(1e-6 * Math.abs(e) + 1e-7));
    // Unpooled to 64x30: targets repeat 600 ordinals apart, so duplicates meet across index chunks and output bands.
    const idx = new Tensor(Int32Array.from({ length: x.numel }, (_, i) => ((i % 960) * 13) % 600), x.shape, 'int32');
    const uOpts = { kernelSize: [2, 1], stride: [2, 1] };
    sameBits(await (await b.maxUnpool2d(x, idx, uOpts)).read(), maxUnpool2d(x, idx, uOpts), 'unpool');
    expect(Math.max(...bound)).toBeLessThanOrEqual(1024);
    const bad = new Tensor(idx.data.slice(), idx.shape, 'int32');
    bad.data[960 + 700] = -3;
    bad.data[960 + 900] = 5000;
    expect(() => maxUnpool2d(x, bad, uOpts)).toThrow('Found an invalid max index: -3');
    await expect(b.maxUnpool2d(x, bad, uOpts)).rejects.toThrow(IndexError);
    await expect(b.maxUnpool2d(x, bad, uOpts)).rejects.toThrow('Found an invalid max index: -3');
  });

  it('refuses with a RangeError naming the limit when one output row and its input rows exceed a binding', async () => {
    const x = randn([1, 1, 4, 400]);
    const msg = /^max_pool2d\(\): one output row \(with the input rows it reads\) needs a 3200-byte storage binding, above this device's limit of 768 bytes \(maxStorageBufferBindingSize\)/;
    await expect(tiny.maxPool2d(x, { kernelSize: 2 })).rejects.toThrow(RangeError);
    await expect(tiny.maxPool2d(x, { kernelSize: 2 })).rejects.toThrow(msg);
    await expect(tiny.avgPool2d(x, { kernelSize: [1, 2] })).rejects.toThrow(/^avg_pool2d\(\): one output row .* needs a 1600-byte storage binding/);
    // maxUnpool2d binds bands and chunks of any length, so it has no such floor.
    const { output, indices } = maxPool2d(x, { kernelSize: 2, returnIndices: true });
    sameBits(await (await tiny.maxUnpool2d(output, indices, { kernelSize: 2 })).read(), maxUnpool2d(output, indices, { kernelSize: 2 }), 'wide unpool');
  });

  it('falls back to the CPU for adaptive pooling, warning once', async () => {
    const warnings: string[] = [];
    const b = await testBackend({ onFallback: (op) => warnings.push(op) });
    const x = randn([1, 3, 9, 7]);
    const y1 = await b.adaptiveAvgPool2d(x, [4, 3]);
    await b.adaptiveAvgPool2d(b.upload(x), 2);
    expect(warnings).toEqual(['adaptiveAvgPool2d']);
    expect(Array.from((await y1.read()).data)).toEqual(Array.from(adaptiveAvgPool2d(x, [4, 3]).data));
    const quiet = await testBackend({ onFallback: false });
    await quiet.adaptiveMaxPool2d(x, 3);
  });
});

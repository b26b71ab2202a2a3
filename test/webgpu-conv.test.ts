/**
 * GPU conv2d / convTranspose2d against the CPU kernels on fast-check-generated
 * geometry. Tolerance: the CPU accumulates in float64, the GPU in float32 with
 * fma in its own order, so each output may differ by the worst-case float32
 * summation bound 2 (K + 2) u S + u |y| (u = 2^-24, S = sum |x||w| + |b|,
 * K = taps per output), the same bound test/conv-tolerance.ts uses against torch.
 */
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { conv2d, convTranspose2d, resolveConv2d, resolveConvTranspose2d, type Conv2dParams } from '../src/ops/conv';
import { randn, Tensor } from '../src/tensor';
import type { WebGPUBackend } from '../src/backends/webgpu';
import { expectConvClose } from './conv-tolerance';
import { describeGPU, testBackend } from './helpers/webgpu';

let gpu: WebGPUBackend;
/**
 * Bindings of at most 2 KiB and 3 workgroups per dimension: forces batch splits, in-image splits of conv2d
 * (output-row bands, output-channel blocks), tile loops and folded launches.
 */
let tiny: WebGPUBackend;

beforeAll(async () => {
  gpu = await testBackend();
  tiny = await testBackend({ maxBindingBytes: 2048, maxWorkgroupsPerDimension: 3 });
});

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

function convCase(kind: 'gemm' | 'direct') {
  return fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cInG: kind === 'gemm' ? fc.integer({ min: 2, max: 6 }) : fc.integer({ min: 1, max: 3 }),
    cOutG: kind === 'gemm' ? fc.integer({ min: 16, max: 40 }) : fc.integer({ min: 1, max: 15 }),
    h: fc.integer({ min: 1, max: kind === 'gemm' ? 11 : 17 }),
    w: fc.integer({ min: 1, max: kind === 'gemm' ? 11 : 17 }),
    kh: fc.integer({ min: 1, max: 5 }),
    kw: fc.integer({ min: 1, max: 5 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), fc.constant('same' as const)),
    bias: fc.boolean(),
    seed: seedArb,
  });
}

/** Bytes one binding of the tiny backend may take: its cap less the offset alignment a slice may shift by. */
const TINY_BYTES = 2048 - 256;

function pick(b: number, bytes: number[]): WebGPUBackend {
  // (bytes lists what must fit one binding: one output row's input rows, the output row, one output channel's weights)
  // The tiny backend only when those fit its bindings, so it splits rather than refuses.
  return b % 2 === 0 && Math.max(...bytes) <= TINY_BYTES ? tiny : gpu;
}

/** What conv2d needs in one binding at least: the input rows one output row reads, the row, one channel's weights. */
function conv2dMinBytes(plan: ReturnType<typeof resolveConv2d>): number[] {
  const reach = Math.min(plan.h, plan.dilationH * (plan.kh - 1) + 1);
  return [plan.cInG * reach * plan.w * 4, plan.outW * 4, plan.cInG * plan.kh * plan.kw * 4];
}

async function checkConv2d(c: ReturnType<typeof convCase> extends fc.Arbitrary<infer T> ? T : never): Promise<void> {
  const stride = c.padding === 'same' ? 1 : c.stride;
  const xShape = [c.n, c.cInG * c.groups, c.h, c.w];
  const wShape = [c.cOutG * c.groups, c.cInG, c.kh, c.kw];
  let plan;
  try {
    plan = resolveConv2d(xShape, wShape, { stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
  } catch {
    return; // geometry torch rejects: covered by the error-agreement test
  }
  const x = randn(xShape, { generator: undefined });
  const weight = randn(wShape);
  const bias = c.bias ? randn([c.cOutG * c.groups]) : undefined;
  const opts = { stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const expected = conv2d(x, weight, { ...opts, bias });
  const b = pick(c.seed, conv2dMinBytes(plan));
  const y = await b.conv2d(b.upload(x), weight, { ...opts, bias });
  const got = await y.read();
  y.dispose();
  expectConvClose('conv2d', got, expected, { x, weight, bias, ...opts }, JSON.stringify(c));
}

await describeGPU('webgpu conv2d parity', () => {
  it('tiled implicit-GEMM path matches the CPU', async () => {
    await fc.assert(fc.asyncProperty(convCase('gemm'), checkConv2d), { numRuns: 25 });
  });

  it('direct path (depthwise, few channels per group) matches the CPU', async () => {
    await fc.assert(fc.asyncProperty(convCase('direct'), checkConv2d), { numRuns: 40 });
  });

  it('splits one image over output-row bands and channel blocks when it exceeds a binding', async () => {
    // Each case's image (input and output) is above the tiny backend's 2 KiB bindings.
    const cases: [number[], number[], Record<string, unknown>][] = [
      [[2, 4, 20, 13], [36, 2, 3, 3], { groups: 2, padding: 'same', dilation: [2, 1] }], // tiled GEMM
      [[1, 3, 23, 9], [5, 3, 4, 2], { padding: 'same' }], // direct, asymmetric 'same' padding
      [[1, 2, 19, 15], [20, 2, 3, 5], { stride: [3, 2], padding: [4, 1], dilation: [2, 1] }], // bands wholly in padding
      [[1, 6, 17, 11], [6, 1, 5, 3], { groups: 6, stride: 2, padding: [2, 0] }], // depthwise
    ];
    for (const [xs, ws, opts] of cases) {
      const plan = resolveConv2d(xs, ws, opts);
      expect(Math.max(plan.cIn * plan.h * plan.w, plan.outC * plan.outH * plan.outW) * 4).toBeGreaterThan(TINY_BYTES);
      const x = randn(xs);
      const weight = randn(ws);
      const bias = randn([ws[0]]);
      const y = await tiny.conv2d(x, weight, { ...opts, bias });
      expectConvClose('conv2d', await y.read(), conv2d(x, weight, { ...opts, bias }), { x, weight, bias, ...opts }, JSON.stringify([xs, ws, opts]));
      y.dispose();
    }
  });

  it('refuses, naming the limit, when the input rows of one output row exceed a binding', async () => {
    await expect(tiny.conv2d(randn([1, 8, 9, 40]), randn([4, 8, 3, 3]))).rejects.toThrow(RangeError);
    await expect(tiny.conv2d(randn([1, 8, 9, 40]), randn([4, 8, 3, 3]))).rejects.toThrow(/maxStorageBufferBindingSize/);
  });

  it('depthwise 3x3 with channel multiplier and a 3-D input', async () => {
    const x = randn([6, 11, 13]);
    const weight = randn([12, 1, 3, 3]);
    const y = await gpu.conv2d(x, weight, { groups: 6, padding: 1, stride: [2, 1] });
    expect(y.shape).toEqual([12, 6, 13]);
    expectConvClose('conv2d', await y.read(), conv2d(x, weight, { groups: 6, padding: 1, stride: [2, 1] }), { x, weight, groups: 6, padding: 1, stride: [2, 1] });
  });

  it('direct kernels above 49 taps (kernel rows in a loop) match the CPU', async () => {
    const cases: [number[], number[], Conv2dParams, boolean][] = [
      [[1, 4, 23, 21], [4, 1, 9, 9], { groups: 4, padding: 'same' }, false],
      [[2, 3, 19, 30], [6, 1, 7, 8], { groups: 3, stride: [2, 3], dilation: [2, 1], padding: [3, 5] }, false],
      [[1, 2, 12, 17], [3, 2, 11, 5], { padding: [0, 2] }, true],
    ];
    for (const [xShape, wShape, opts, withBias] of cases) {
      const x = randn(xShape);
      const weight = randn(wShape);
      const bias = withBias ? randn([wShape[0]]) : undefined;
      const o = { ...opts, bias };
      expectConvClose('conv2d', await (await gpu.conv2d(x, weight, o)).read(), conv2d(x, weight, o), { x, weight, ...opts, bias });
    }
  });

  it('keeps results on the device between ops and frees temporaries', async () => {
    const x = gpu.upload(randn([2, 8, 9, 9]));
    const w1 = gpu.upload(randn([20, 8, 3, 3]));
    const w2 = gpu.upload(randn([4, 20, 1, 1]));
    const before = gpu.memory().tensors;
    const h = await gpu.conv2d(x, w1, { padding: 1 });
    const y = await gpu.conv2d(h, w2);
    expect(gpu.memory().tensors).toBe(before + 2);
    const cpu = conv2d(conv2d(await x.read(), await w1.read(), { padding: 1 }), await w2.read());
    const got = await y.read();
    for (let i = 0; i < got.numel; i++) expect(Math.abs(got.data[i] - cpu.data[i])).toBeLessThan(1e-3 * (1 + Math.abs(cpu.data[i])));
    for (const t of [x, w1, w2, h, y]) t.dispose();
    expect(gpu.memory().tensors).toBe(before - 3);
  });

  it('rejects the calls the CPU op rejects, with the same error', async () => {
    const bad: [number[], number[], object][] = [
      [[1, 4, 8, 8], [6, 3, 3, 3], {}],
      [[1, 4, 8, 8], [6, 2, 3, 3], { groups: 4 }],
      [[1, 4, 2, 2], [6, 4, 3, 3], {}],
      [[1, 4, 8, 8], [6, 4, 3, 3], { stride: 0 }],
      [[1, 4, 8, 8], [6, 4, 3, 3], { padding: 'same', stride: 2 }],
      [[4, 8, 8, 1, 1], [6, 4, 3, 3], {}],
    ];
    for (const [xs, ws, opts] of bad) {
      const x = new Tensor(new Float32Array(xs.reduce((a, b) => a * b, 1)), xs, 'float32');
      const w = new Tensor(new Float32Array(ws.reduce((a, b) => a * b, 1)), ws, 'float32');
      let cpuErr: Error | null = null;
      try {
        conv2d(x, w, opts);
      } catch (e) {
        cpuErr = e as Error;
      }
      expect(cpuErr, JSON.stringify([xs, ws, opts])).not.toBeNull();
      await expect(gpu.conv2d(x, w, opts)).rejects.toThrow(cpuErr!.message);
    }
    await expect(gpu.conv2d('x' as unknown as Tensor, randn([1, 1, 1, 1]))).rejects.toThrow(/must be a GPUTensor or a Tensor/);
  });
});

function transposedCase(tiled: boolean) {
  return fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cInG: tiled ? fc.integer({ min: 2, max: 5 }) : fc.integer({ min: 1, max: 6 }),
    cOutG: tiled ? fc.integer({ min: 16, max: 24 }) : fc.integer({ min: 1, max: 6 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    kh: tiled ? fc.integer({ min: 2, max: 4 }) : fc.integer({ min: 1, max: 4 }),
    kw: tiled ? fc.integer({ min: 2, max: 4 }) : fc.integer({ min: 1, max: 4 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    outputPadding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    bias: fc.boolean(),
    seed: seedArb,
  });
}

async function checkTransposed(c: ReturnType<typeof transposedCase> extends fc.Arbitrary<infer T> ? T : never): Promise<void> {
  const xShape = [c.n, c.cInG * c.groups, c.h, c.w];
  const wShape = [c.cInG * c.groups, c.cOutG, c.kh, c.kw];
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, outputPadding: c.outputPadding, groups: c.groups };
  let plan;
  try {
    plan = resolveConvTranspose2d(xShape, wShape, opts);
  } catch {
    return;
  }
  const x = randn(xShape);
  const weight = randn(wShape);
  const bias = c.bias ? randn([c.cOutG * c.groups]) : undefined;
  const expected = convTranspose2d(x, weight, { ...opts, bias });
  // Output row r takes input rows (r + pad - k*d) / s: at most floor((kH - 1) * d / s) + 2 of them.
  const reach = Math.min(plan.h, Math.floor(((plan.kh - 1) * plan.dilationH) / plan.strideH) + 2);
  const b = pick(c.seed, [plan.cInG * reach * plan.w * 4, plan.outW * 4, plan.cInG * plan.kh * plan.kw * 4]);
  const y = await b.convTranspose2d(x, weight, { ...opts, bias });
  const got = await y.read();
  y.dispose();
  expectConvClose('conv_transpose2d', got, expected, { x, weight, bias, ...opts }, JSON.stringify(c));
}

await describeGPU('webgpu convTranspose2d parity', () => {
  it('splits one image over output-row bands and channel blocks when it exceeds a binding', async () => {
    const cases: [number[], number[], Record<string, unknown>][] = [
      [[2, 4, 9, 30], [4, 18, 3, 3], { groups: 2, stride: 2, padding: 1, outputPadding: 1 }], // tiled GEMM
      [[1, 3, 11, 8], [3, 5, 4, 2], { stride: [3, 1], padding: [2, 0], dilation: [2, 1] }], // gather
      [[1, 2, 6, 9], [2, 20, 1, 3], { stride: 3, padding: [0, 1], outputPadding: 2 }], // rows no tap reaches
    ];
    for (const [xs, ws, opts] of cases) {
      const plan = resolveConvTranspose2d(xs, ws, opts);
      expect(Math.max(plan.cIn * plan.h * plan.w, plan.cOut * plan.outH * plan.outW) * 4).toBeGreaterThan(TINY_BYTES);
      const x = randn(xs);
      const weight = randn(ws);
      const bias = randn([plan.cOut]);
      const y = await tiny.convTranspose2d(x, weight, { ...opts, bias });
      expectConvClose('conv_transpose2d', await y.read(), convTranspose2d(x, weight, { ...opts, bias }), { x, weight, bias, ...opts }, JSON.stringify([xs, ws, opts]));
      y.dispose();
    }
  });

  it('gather path (few output channels per group) matches the CPU', async () => {
    await fc.assert(fc.asyncProperty(transposedCase(false), checkTransposed), { numRuns: 40 });
  });

  it('tiled implicit-GEMM path matches the CPU', async () => {
    await fc.assert(fc.asyncProperty(transposedCase(true), checkTransposed), { numRuns: 20 });
  });
});

import { describe, expect, it } from 'vitest';
import { tensor, Tensor, randn, DTypeError, ValueError } from '../src/tensor';
import { createWebGPUBackend, GPUTensor, WebGPUDeviceLostError, WebGPUUnavailableError, type GPUDeviceLike } from '../src/backends/webgpu';
import { sizeClass } from '../src/backends/webgpu/pool';
import { foldWorkgroups } from '../src/backends/webgpu/program';
import { describeGPU, gpuEnv, testBackend } from './helpers/webgpu';

// Compile-time check: a real GPUDevice (from @webgpu/types, via the webgpu package) fits the structural type.
type Assignable<T extends GPUDeviceLike> = T;
export type DeviceFits = Assignable<GPUDevice>;

describe('webgpu infrastructure (no device needed)', () => {
  it('size classes waste at most 25% and are monotone', () => {
    let prev = 0;
    for (let b = 1; b < 1 << 22; b = Math.ceil(b * 1.37) + 3) {
      const c = sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c).toBeGreaterThanOrEqual(prev);
      if (b > 1024) expect(c / b).toBeLessThanOrEqual(1.25);
      expect(c % 4).toBe(0);
      prev = c;
    }
  });

  it('folds workgroup counts under the per-dimension limit', () => {
    for (const [n, max] of [[10, 65535], [65536, 65535], [999_999, 1000], [7, 3]]) {
      const [x, y] = foldWorkgroups(n, max);
      expect(x).toBeLessThanOrEqual(max);
      expect(y).toBeLessThanOrEqual(max);
      expect(x * y).toBeGreaterThanOrEqual(n);
    }
  });

  it('reports a missing navigator.gpu clearly', async () => {
    await expect(createWebGPUBackend({ gpu: undefined })).rejects.toThrow(WebGPUUnavailableError);
    await expect(createWebGPUBackend({ gpu: { requestAdapter: async () => null } })).rejects.toThrow(/requestAdapter\(\) returned null/);
  });
});

await describeGPU('webgpu backend core', () => {
  it('uploads and reads back float32, float64 (as float32) and int32', async () => {
    const b = await testBackend();
    const x = randn([3, 5, 7]);
    const g = b.upload(x);
    expect(g).toBeInstanceOf(GPUTensor);
    expect(g.shape).toEqual([3, 5, 7]);
    expect(Array.from((await g.read()).data)).toEqual(Array.from(x.data));
    const d = await b.upload(tensor([1.5, -2.25, 1e-3], [3], 'float64')).read();
    expect(d.dtype).toBe('float32');
    expect(Array.from(d.data)).toEqual(Array.from(new Float32Array([1.5, -2.25, 1e-3])));
    const i = await b.upload(tensor(new Int32Array([-7, 0, 2 ** 30]))).toCPU();
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.data)).toEqual([-7, 0, 2 ** 30]);
    const u = await b.upload(tensor(new Uint8Array([0, 255]))).read();
    expect(u.dtype).toBe('int32');
    expect(Array.from(u.data)).toEqual([0, 255]);
    // Non-contiguous views upload their logical order.
    const v = tensor([[1, 2, 3], [4, 5, 6]]).transpose(0, 1);
    expect((await b.upload(v).read()).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const empty = await b.upload(new Tensor(new Float32Array(0), [0, 3], 'float32')).read();
    expect(empty.shape).toEqual([0, 3]);
    b.dispose();
  });

  it('pools buffers, counts memory, and disposes (also through Symbol.dispose)', async () => {
    const b = await testBackend();
    const before = b.memory();
    const g = b.upload(randn([1000]));
    expect(b.memory().tensors).toBe(before.tensors + 1);
    expect(b.memory().bytesInUse).toBeGreaterThanOrEqual(before.bytesInUse + 4000);
    const buffers = b.memory().buffers;
    g.dispose();
    g.dispose();
    expect(g.isDisposed).toBe(true);
    expect(() => g.buffer).toThrow(ValueError);
    expect(b.memory().bytesPooled).toBeGreaterThanOrEqual(4000);
    const h = b.upload(randn([990]));
    expect(b.memory().buffers).toBe(buffers);
    const sym = (Symbol as unknown as { dispose?: symbol }).dispose;
    if (sym) {
      (h as unknown as Record<symbol, () => void>)[sym]();
      expect(h.isDisposed).toBe(true);
    } else {
      h.dispose();
    }
    b.trimPool();
    expect(b.memory().bytesPooled).toBe(0);
    expect(b.memory().tensors).toBe(before.tensors);
    b.dispose();
  });

  it('rejects non-float inputs to float ops and disposed inputs', async () => {
    const b = await testBackend();
    const x = b.upload(tensor(new Int32Array(4), [1, 1, 2, 2]));
    expect(() => b.input('conv2d', 'input', x, [])).toThrow(DTypeError);
    x.dispose();
    expect(() => b.input('conv2d', 'input', x, [])).toThrow(/disposed/);
    b.dispose();
  });

  it('turns a lost device into a clear error, and a new backend works again', async () => {
    const env = await gpuEnv();
    if (!env.device) throw new Error('unreachable');
    const instance = (await import('webgpu')).create([]);
    const adapter = await instance.requestAdapter();
    const b = await createWebGPUBackend({ adapter: adapter! });
    const x = b.upload(randn([16]));
    (b.device as GPUDevice).destroy();
    await b.device.lost;
    expect(b.isLost).toBe(true);
    expect(() => b.upload(randn([4]))).toThrow(WebGPUDeviceLostError);
    await expect(x.read()).rejects.toThrow(/device was lost.*createWebGPUBackend/);
    const b2 = await createWebGPUBackend({ adapter: (await instance.requestAdapter())! });
    expect(Array.from((await b2.upload(tensor([1, 2])).read()).data)).toEqual([1, 2]);
    b2.dispose();
    expect(instance).toBeDefined(); // keeps the Dawn instance alive until here
  });
});

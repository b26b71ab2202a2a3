import { DTypeError, fmtShape, shapeSize, Tensor, ValueError, VisionOpsError } from '../../tensor';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, type AdaptiveSize, type AvgPool2dOptions, type MaxPool2dOptions, type MaxUnpool2dOptions } from '../../ops/pool';
import type { InterpolateOptions } from '../../ops/interpolate';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits, type BinaryCrossEntropyOptions, type BinaryCrossEntropyWithLogitsOptions } from '../../ops/losses';
import type { PadOptions } from '../../ops/pad';
import type { RoiAlignOptions, RoiPoolOptions } from '../../ops/roi';
import type { SoftmaxOptions } from '../../ops/softmax';
import { BufferPool, type GPUMemoryInfo } from './pool';
import { foldWorkgroups, PipelineCache, sliceOf, type BufferSlice } from './program';
import { GPUTensor, type GPUDType, type GPUTensorOwner } from './tensor';
import { avgPool2dGPU, maxPool2dGPU, maxUnpool2dGPU } from './kernels/pool';
import { nmsGPU, roiAlignGPU, roiPoolGPU, type GPURoiBoxes } from './kernels/detection';
import { padGPU, softmaxGPU } from './kernels/elementwise';
import { bceWithLogitsGPU, sigmoidFocalLossGPU, type GPUBinaryCrossEntropyWithLogitsOptions, type GPUSigmoidFocalLossOptions } from './kernels/losses';
import { interpolateGPU } from './kernels/interpolate';
import { conv2dGPU, convTranspose2dGPU, type GPUConv2dOptions, type GPUConvTranspose2dOptions } from './kernels/conv';
import {
  BufferUsage,
  MapMode,
  type GPUAdapterLike,
  type GPUBufferLike,
  type GPUComputePipelineLike,
  type GPUDeviceLike,
  type GPUDeviceLostInfoLike,
  type GPULike,
} from './types';

/** WebGPU cannot be had: no `navigator.gpu`, no adapter, or the device request failed. */
export class WebGPUUnavailableError extends VisionOpsError {
  override name = 'WebGPUUnavailableError';
}

/** The device behind a backend was lost (driver reset, `device.destroy()`, ...). Create a new backend. */
export class WebGPUDeviceLostError extends VisionOpsError {
  override name = 'WebGPUDeviceLostError';
}

/** A tensor argument of a GPU op: a {@link GPUTensor}, or a CPU {@link Tensor} that is uploaded for the call. */
export type GPUInput = GPUTensor | Tensor;

export interface WebGPUBackendOptions {
  /** Use this device (the backend does not destroy it). */
  device?: GPUDeviceLike;
  /** Request a device from this adapter, with the adapter's largest buffer and workgroup limits. */
  adapter?: GPUAdapterLike;
  /** Where to find an adapter when neither `device` nor `adapter` is given; defaults to `navigator.gpu`. */
  gpu?: GPULike;
  /**
   * Largest storage binding a dispatch may use, in bytes; capped by the device's
   * `maxStorageBufferBindingSize`. Ops split their work (over images, channels,
   * boxes) to stay under it. Lower it to exercise the split paths.
   */
  maxBindingBytes?: number;
  /** Cap on workgroups per dispatch dimension (≤ the device's `maxComputeWorkgroupsPerDimension`). */
  maxWorkgroupsPerDimension?: number;
  /** Free buffer bytes kept for reuse before released buffers are destroyed (default 256 MiB). */
  maxPooledBytes?: number;
  /**
   * Called once per op name when an op runs on the CPU because the GPU has no
   * kernel for it; `false` silences it. Default: `console.warn`.
   */
  onFallback?: false | ((op: string, message: string) => void);
  /** Check every dispatch for WebGPU validation errors and throw them (slower; for tests). */
  validate?: boolean;
}

/** One compute dispatch: WGSL, its uniform values, its storage bindings (1, 2, ...) in order. */
export interface Dispatch {
  code: string;
  uniforms: ArrayBuffer;
  bindings: readonly BufferSlice[];
  /** Workgroup counts; a 1-D count is folded into x and y when above the per-dimension limit. */
  workgroups: number | readonly [number, number, number];
}

/** A buffer-to-buffer copy encoded between dispatches (byte offsets and size are multiples of 4). */
export interface BufferCopy {
  src: GPUBufferLike;
  srcOffset: number;
  dst: GPUBufferLike;
  dstOffset: number;
  bytes: number;
}

/** Effective limits the kernels plan with. */
export interface WebGPUBackendLimits {
  maxBindingBytes: number;
  maxBufferBytes: number;
  maxWorkgroupsPerDimension: number;
  workgroupStorageBytes: number;
  offsetAlignment: number;
}

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const UNIFORM_USAGE = BufferUsage.UNIFORM | BufferUsage.COPY_DST;
const STAGING_USAGE = BufferUsage.MAP_READ | BufferUsage.COPY_DST;
/** Compiled pipelines per device, shared by every backend over it (compiling is slow, on SwiftShader seconds). */
const pipelineCaches = new WeakMap<GPUDeviceLike, PipelineCache<GPUComputePipelineLike>>();
const LIMIT_NAMES = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'] as const;

/**
 * Creates a WebGPU compute backend. The library imports nothing GPU-specific:
 * pass a `GPUDevice` (`{ device }`), a `GPUAdapter` (`{ adapter }`), or
 * nothing in a browser to use `navigator.gpu`.
 *
 * ```ts
 * const gpu = await createWebGPUBackend({ device });
 * const x = gpu.upload(input);                 // CPU Tensor -> GPUTensor
 * const y = await gpu.conv2d(x, weight, { padding: 1 });
 * const out = await y.read();                  // GPUTensor -> CPU Tensor
 * x.dispose(); y.dispose();
 * ```
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  if (options.device) return new WebGPUBackend(options.device, false, options);
  let adapter = options.adapter ?? null;
  let gpu: GPULike | undefined;
  if (!adapter) {
    gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPULike } }).navigator?.gpu;
    if (!gpu) {
      throw new WebGPUUnavailableError(
        'WebGPU is not available: no navigator.gpu (browsers expose it only in secure contexts); in Node pass { device } or { adapter } from the `webgpu` package',
      );
    }
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new WebGPUUnavailableError('WebGPU is not available: requestAdapter() returned null');
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  let device: GPUDeviceLike;
  try {
    device = await adapter.requestDevice({ requiredLimits, label: 'visionops' });
  } catch (e) {
    throw new WebGPUUnavailableError(`WebGPU is not available: requestDevice() failed: ${(e as Error).message}`);
  }
  return new WebGPUBackend(device, true, options, [gpu, adapter]);
}

/**
 * GPU versions of the library's ops over one device. Every op takes the same
 * option objects, runs the same argument checks (the resolver functions the
 * CPU ops use) and returns a promise of a {@link GPUTensor} that stays on the
 * device; the promise resolves once the work is queued.
 */
export class WebGPUBackend implements GPUTensorOwner {
  readonly device: GPUDeviceLike;
  readonly limits: WebGPUBackendLimits;
  /** Fallback warnings: see {@link WebGPUBackendOptions.onFallback}. */
  onFallback: false | ((op: string, message: string) => void);
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache<GPUComputePipelineLike>;
  private readonly validate: boolean;
  private readonly warned = new Set<string>();
  private lostInfo: GPUDeviceLostInfoLike | null = null;
  private disposed = false;
  private liveTensors = 0;

  /** @internal Use {@link createWebGPUBackend}. */
  constructor(
    device: GPUDeviceLike,
    private readonly ownsDevice: boolean,
    options: WebGPUBackendOptions,
    // Dawn (Node) destroys the instance when its JS object is collected, devices included.
    private readonly keepAlive: readonly unknown[] = [],
  ) {
    this.device = device;
    const dl = device.limits;
    this.limits = {
      maxBindingBytes: Math.min(options.maxBindingBytes ?? Infinity, dl.maxStorageBufferBindingSize, dl.maxBufferSize),
      maxBufferBytes: dl.maxBufferSize,
      maxWorkgroupsPerDimension: Math.min(options.maxWorkgroupsPerDimension ?? Infinity, dl.maxComputeWorkgroupsPerDimension),
      workgroupStorageBytes: dl.maxComputeWorkgroupStorageSize,
      offsetAlignment: dl.minStorageBufferOffsetAlignment,
    };
    if (this.limits.maxBindingBytes < 4 * this.limits.offsetAlignment) {
      throw new ValueError(`createWebGPUBackend(): maxBindingBytes must be at least ${4 * this.limits.offsetAlignment}`);
    }
    this.onFallback = options.onFallback ?? ((_op, message) => console.warn(message));
    this.validate = options.validate ?? false;
    this.pool = new BufferPool(device, options.maxPooledBytes ?? 256 * 2 ** 20);
    let cache = pipelineCaches.get(device);
    if (!cache) {
      cache = new PipelineCache((code) =>
        device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } }),
      );
      pipelineCaches.set(device, cache);
    }
    this.pipelines = cache;
    device.lost.then((info) => {
      this.lostInfo = info;
    });
  }

  /** True once the device is lost; every later call throws {@link WebGPUDeviceLostError}. */
  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  /** Bytes and buffers the backend holds on the device. */
  memory(): GPUMemoryInfo {
    return { bytesInUse: this.pool.bytesInUse, bytesPooled: this.pool.bytesPooled, buffers: this.pool.buffers, tensors: this.liveTensors };
  }

  /** Destroys pooled (free) buffers; live tensors are untouched. */
  trimPool(): void {
    this.pool.trim();
  }

  /**
   * Releases the pool; destroys the device if the backend requested it. Live
   * tensors must not be used afterwards.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.trim();
    if (this.ownsDevice) this.device.destroy();
  }

  /**
   * Copies a CPU tensor to the device. float32 and int32 copy as they are;
   * float64 is rounded to float32 (WGSL has no f64); uint8 and bool become int32.
   */
  upload(t: Tensor): GPUTensor {
    this.checkAlive('upload');
    if (!(t instanceof Tensor)) throw new ValueError(`upload(): expected a Tensor, got ${String(t)}`);
    const dtype: GPUDType = t.dtype === 'float32' || t.dtype === 'float64' ? 'float32' : 'int32';
    const src = t.contiguous().data;
    const data = dtype === 'float32' ? (src instanceof Float32Array ? src : Float32Array.from(src)) : src instanceof Int32Array ? src : Int32Array.from(src);
    const out = this.empty(t.shape, dtype, 'upload');
    if (data.length > 0) this.device.queue.writeBuffer(out.buffer, 0, data as unknown as ArrayBuffer);
    return out;
  }

  /** @internal An uninitialised device tensor from the pool. */
  empty(shape: readonly number[], dtype: GPUDType, op: string): GPUTensor {
    this.checkAlive(op);
    const bytes = Math.max(4, shapeSize(shape) * 4);
    if (bytes > this.limits.maxBufferBytes) {
      throw new RangeError(`${op}(): a tensor of shape ${fmtShape(shape)} needs ${bytes} bytes, above this device's maxBufferSize (${this.limits.maxBufferBytes})`);
    }
    const t = new GPUTensor(this, this.pool.acquire(bytes, STORAGE_USAGE), shape, dtype);
    this.liveTensors++;
    return t;
  }

  /** @internal An int32 device tensor with every element `value`. */
  filled(shape: readonly number[], value: number, op: string): GPUTensor {
    const out = this.empty(shape, 'int32', op);
    const data = new Int32Array(shapeSize(shape)).fill(value);
    if (data.length > 0) this.device.queue.writeBuffer(out.buffer, 0, data.buffer);
    return out;
  }

  /** @internal */
  releaseTensor(t: GPUTensor): void {
    this.liveTensors--;
    if (!this.disposed) this.pool.release(t.buffer, STORAGE_USAGE);
  }

  /** @internal */
  async readTensor(t: GPUTensor): Promise<Tensor> {
    this.checkAlive('read');
    const n = t.numel;
    const bytes = n * 4;
    const make = (buf: ArrayBuffer) => new Tensor(t.dtype === 'float32' ? new Float32Array(buf) : new Int32Array(buf), t.shape, t.dtype);
    if (n === 0) return make(new ArrayBuffer(0));
    const staging = this.pool.acquire(bytes, STAGING_USAGE);
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(MapMode.READ, 0, bytes);
    } catch (e) {
      this.checkAlive('read');
      throw e;
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.pool.release(staging, STAGING_USAGE);
    return make(copy);
  }

  /** @internal A storage binding of elements `[start, start + count)` of a tensor, and the index shift it needs. */
  slice(t: GPUTensor, start = 0, count = t.numel): { slice: BufferSlice; shift: number } {
    return sliceOf(t.buffer, start, count, this.limits.offsetAlignment);
  }

  /** @internal Encodes the dispatches (and copies) in order in one command buffer and submits it. */
  async run(dispatches: readonly (Dispatch | BufferCopy)[]): Promise<void> {
    this.checkAlive('run');
    if (dispatches.length === 0) return;
    if (this.validate) this.device.pushErrorScope('validation');
    const uniforms: GPUBufferLike[] = [];
    const enc = this.device.createCommandEncoder();
    for (const d of dispatches) {
      if ('src' in d) {
        if (d.bytes > 0) enc.copyBufferToBuffer(d.src, d.srcOffset, d.dst, d.dstOffset, d.bytes);
        continue;
      }
      const pipeline = this.pipelines.get(d.code);
      const ubuf = this.pool.acquire(d.uniforms.byteLength, UNIFORM_USAGE);
      uniforms.push(ubuf);
      this.device.queue.writeBuffer(ubuf, 0, d.uniforms);
      const entries = [{ binding: 0, resource: { buffer: ubuf, offset: 0, size: d.uniforms.byteLength } }];
      d.bindings.forEach((s, i) => entries.push({ binding: i + 1, resource: { buffer: s.buffer, offset: s.offset, size: s.size } }));
      const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const [x, y, z] = typeof d.workgroups === 'number' ? [...foldWorkgroups(d.workgroups, this.limits.maxWorkgroupsPerDimension), 1] : d.workgroups;
      if (x === 0 || y === 0 || z === 0) continue;
      const max = this.limits.maxWorkgroupsPerDimension;
      if (x > max || y > max || z > max) throw new RangeError(`dispatch of ${x}x${y}x${z} workgroups exceeds maxComputeWorkgroupsPerDimension (${max})`);
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    }
    this.device.queue.submit([enc.finish()]);
    // Later writes to these buffers are queued after this submit, so reuse is safe now.
    for (const u of uniforms) this.pool.release(u, UNIFORM_USAGE);
    if (this.validate) {
      const err = await this.device.popErrorScope();
      if (err) throw new Error(`WebGPU validation error: ${err.message}`);
    }
  }

  /**
   * @internal A device tensor for an op argument (uploading a CPU tensor into
   * `temps`, which the op disposes after submitting), checking its dtype.
   */
  input(op: string, name: string, x: GPUInput, temps: GPUTensor[], dtype: GPUDType = 'float32'): GPUTensor {
    let t: GPUTensor;
    if (x instanceof GPUTensor) {
      if (x.isDisposed) throw new ValueError(`${op}(): argument '${name}' is a disposed GPUTensor`);
      t = x;
    } else if (x instanceof Tensor) {
      t = this.upload(x);
      temps.push(t);
    } else {
      throw new ValueError(`${op}(): argument '${name}' must be a GPUTensor or a Tensor, got ${String(x)}`);
    }
    if (t.dtype !== dtype) throw new DTypeError(`${op}(): argument '${name}' must be ${dtype === 'float32' ? 'float32 (or float64)' : dtype}, got ${x.dtype}`);
    return t;
  }

  /**
   * Runs a CPU op on downloaded inputs and uploads its result, warning once per
   * op (see {@link WebGPUBackendOptions.onFallback}). Used for ops without a GPU
   * kernel; available to users for any CPU function of tensors.
   */
  async cpuFallback(op: string, fn: (...inputs: Tensor[]) => Tensor, ...inputs: GPUInput[]): Promise<GPUTensor> {
    this.checkAlive(op);
    if (this.onFallback && !this.warned.has(op)) {
      this.warned.add(op);
      this.onFallback(op, `visionops: ${op}() has no WebGPU kernel; running it on the CPU (data round-trips through host memory)`);
    }
    const cpu = await Promise.all(inputs.map((x) => (x instanceof GPUTensor ? x.read() : x)));
    return this.upload(fn(...cpu));
  }

  /** @internal Throws when the device is gone or the backend disposed. */
  checkAlive(op: string): void {
    if (this.lostInfo) {
      throw new WebGPUDeviceLostError(
        `${op}(): the WebGPU device was lost (${this.lostInfo.reason}: ${this.lostInfo.message}); create a new backend with createWebGPUBackend()`,
      );
    }
    if (this.disposed) throw new ValueError(`${op}(): this WebGPU backend was disposed`);
  }

  /** GPU `conv2d`: input `[N, C_in, H, W]` (or 3-D), weight `[C_out, C_in / groups, kH, kW]`; see the CPU {@link conv2d}. */
  conv2d(x: GPUInput, weight: GPUInput, options: GPUConv2dOptions = {}): Promise<GPUTensor> {
    return this.op('conv2d', { input: x, weight, bias: options.bias }, () => conv2dGPU(this, x, weight, options));
  }

  /** GPU `convTranspose2d`: weight `[C_in, C_out / groups, kH, kW]`; see the CPU {@link convTranspose2d}. */
  convTranspose2d(x: GPUInput, weight: GPUInput, options: GPUConvTranspose2dOptions = {}): Promise<GPUTensor> {
    return this.op('convTranspose2d', { input: x, weight, bias: options.bias }, () => convTranspose2dGPU(this, x, weight, options));
  }

  /** GPU `maxPool2d`; with `returnIndices` also int32 indices (flat offsets into each input plane). */
  maxPool2d(x: GPUInput, options: MaxPool2dOptions & { returnIndices: true }): Promise<{ output: GPUTensor; indices: GPUTensor }>;
  maxPool2d(x: GPUInput, options: MaxPool2dOptions & { returnIndices?: false }): Promise<GPUTensor>;
  maxPool2d(x: GPUInput, options: MaxPool2dOptions): Promise<GPUTensor | { output: GPUTensor; indices: GPUTensor }>;
  maxPool2d(x: GPUInput, options: MaxPool2dOptions): Promise<GPUTensor | { output: GPUTensor; indices: GPUTensor }> {
    return this.op('max_pool2d', { input: x }, () => maxPool2dGPU(this, x, options));
  }

  /** GPU `avgPool2d` (same divisor rules as the CPU op). */
  avgPool2d(x: GPUInput, options: AvgPool2dOptions): Promise<GPUTensor> {
    return this.op('avg_pool2d', { input: x }, () => avgPool2dGPU(this, x, options));
  }

  /** GPU `maxUnpool2d`; `indices` int32 as `maxPool2d` returns them. */
  maxUnpool2d(x: GPUInput, indices: GPUInput, options: MaxUnpool2dOptions): Promise<GPUTensor> {
    return this.op('max_unpool2d', { input: x, indices }, () => maxUnpool2dGPU(this, x, indices, options));
  }

  /** `adaptiveAvgPool2d` runs on the CPU (one-time warning, see `onFallback`). */
  adaptiveAvgPool2d(x: GPUInput, outputSize: AdaptiveSize): Promise<GPUTensor> {
    return this.op('adaptive_avg_pool2d', { input: x }, () => this.cpuFallback('adaptiveAvgPool2d', (t) => adaptiveAvgPool2d(t, outputSize), x));
  }

  /** `adaptiveMaxPool2d` (without indices) runs on the CPU (one-time warning, see `onFallback`). */
  adaptiveMaxPool2d(x: GPUInput, outputSize: AdaptiveSize): Promise<GPUTensor> {
    return this.op('adaptive_max_pool2d', { input: x }, () => this.cpuFallback('adaptiveMaxPool2d', (t) => adaptiveMaxPool2d(t, outputSize), x));
  }

  /** GPU `interpolate` (nearest, nearest-exact, linear, bilinear, bicubic; `'area'` runs on the CPU). */
  interpolate(x: GPUInput, options: InterpolateOptions): Promise<GPUTensor> {
    return this.op('interpolate', { input: x }, () => interpolateGPU(this, x, options));
  }

  /** GPU `pad` (all four modes; float32 or int32 tensors). */
  pad(x: GPUInput, pads: readonly number[], options: PadOptions = {}): Promise<GPUTensor> {
    return this.op('pad', { input: x }, () => padGPU(this, x, pads, options));
  }

  /** GPU `softmax` along `options.dim` (computed in float32). */
  softmax(x: GPUInput, options: SoftmaxOptions): Promise<GPUTensor> {
    return this.op('softmax', { input: x }, () => softmaxGPU(this, 'softmax', x, options));
  }

  /** GPU `logSoftmax` along `options.dim` (computed in float32). */
  logSoftmax(x: GPUInput, options: SoftmaxOptions): Promise<GPUTensor> {
    return this.op('logSoftmax', { input: x }, () => softmaxGPU(this, 'logSoftmax', x, options));
  }

  /** GPU `roiAlign`: `[N, C, H, W]` features, rois `[K, 5]` or per-image box lists → `[K, C, ph, pw]`. */
  roiAlign(x: GPUInput, boxes: GPURoiBoxes, options: RoiAlignOptions): Promise<GPUTensor> {
    return this.op('roi_align', { input: x }, () => roiAlignGPU(this, x, boxes, options));
  }

  /** GPU `roiPool` (max over quantised bins). */
  roiPool(x: GPUInput, boxes: GPURoiBoxes, options: RoiPoolOptions): Promise<GPUTensor> {
    return this.op('roi_pool', { input: x }, () => roiPoolGPU(this, x, boxes, options));
  }

  /** GPU `nms`: IoU mask on the device, greedy pass on the CPU; kept indices as a CPU int32 tensor. */
  nms(boxes: GPUInput, scores: GPUInput, iouThreshold: number): Promise<Tensor> {
    return this.op('nms', { boxes, scores }, () => nmsGPU(this, boxes, scores, iouThreshold));
  }

  /** GPU `sigmoidFocalLoss` (default reduction 'none'). */
  sigmoidFocalLoss(inputs: GPUInput, targets: GPUInput, options: GPUSigmoidFocalLossOptions = {}): Promise<GPUTensor> {
    return this.op('sigmoidFocalLoss', { inputs, targets }, () => sigmoidFocalLossGPU(this, inputs, targets, options));
  }

  /** GPU `binaryCrossEntropyWithLogits`; with `weight` or `posWeight` it runs on the CPU. */
  binaryCrossEntropyWithLogits(input: GPUInput, target: GPUInput, options: Omit<BinaryCrossEntropyWithLogitsOptions, 'grad'> = {}): Promise<GPUTensor> {
    return this.op('binaryCrossEntropyWithLogits', { input, target }, () =>
      options.weight || options.posWeight
        ? this.cpuFallback('binaryCrossEntropyWithLogits(weight)', (a, t) => binaryCrossEntropyWithLogits(a, t, { ...options, grad: false }), input, target)
        : bceWithLogitsGPU(this, input, target, options as GPUBinaryCrossEntropyWithLogitsOptions),
    );
  }

  /** `binaryCrossEntropy` on probabilities runs on the CPU (its input range check needs the values). */
  binaryCrossEntropy(input: GPUInput, target: GPUInput, options: Omit<BinaryCrossEntropyOptions, 'grad'> = {}): Promise<GPUTensor> {
    return this.op('binaryCrossEntropy', { input, target }, () =>
      this.cpuFallback('binaryCrossEntropy', (a, t) => binaryCrossEntropy(a, t, { ...options, grad: false }), input, target),
    );
  }

  /**
   * Checks that tensor arguments are tensors (a bad one would otherwise fail
   * inside a resolver with a TypeError) and the backend is usable, then runs the
   * op; argument errors surface as a rejected promise, like GPU errors.
   */
  private async op<T>(op: string, tensors: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
    this.checkAlive(op);
    for (const [name, t] of Object.entries(tensors)) {
      if (t === undefined || t === null) continue;
      if (!(t instanceof GPUTensor) && !(t instanceof Tensor)) {
        throw new ValueError(`${op}(): argument '${name}' must be a GPUTensor or a Tensor, got ${String(t)}`);
      }
    }
    return run();
  }

  /** Number of compiled pipelines on this device (one per distinct kernel variant). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }
}

/**
 * The slice of the WebGPU API the backend uses, as structural types. The
 * library must type-check in projects that have neither `@webgpu/types` nor a
 * DOM lib with WebGPU in it (TypeScript 5.9's `lib.dom.d.ts` has none), so it
 * never names the global `GPUDevice` & co. A real `GPUDevice` (browser,
 * `@webgpu/types`, Dawn's `webgpu` package) is assignable to
 * {@link GPUDeviceLike}; `test/webgpu.test.ts` checks that at compile time.
 * @module
 */

/** An object the backend only passes back to the device (layouts, modules, bind groups, command buffers). */
export type GPUHandle = object;

export interface GPULimitsLike {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minStorageBufferOffsetAlignment: number;
}

export interface GPUBufferLike {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<unknown>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): unknown;
  destroy(): unknown;
}

export interface GPUQueueLike {
  writeBuffer(buffer: GPUBufferLike, bufferOffset: number, data: ArrayBuffer, dataOffset?: number, size?: number): unknown;
  submit(commandBuffers: Iterable<GPUHandle>): unknown;
  onSubmittedWorkDone(): Promise<unknown>;
}

export interface GPUComputePassLike {
  setPipeline(pipeline: GPUHandle): unknown;
  setBindGroup(index: number, bindGroup: GPUHandle | null): unknown;
  dispatchWorkgroups(x: number, y?: number, z?: number): unknown;
  end(): unknown;
}

export interface GPUCommandEncoderLike {
  beginComputePass(descriptor?: object): GPUComputePassLike;
  copyBufferToBuffer(source: GPUBufferLike, sourceOffset: number, destination: GPUBufferLike, destinationOffset: number, size: number): unknown;
  finish(descriptor?: object): GPUHandle;
}

export interface GPUComputePipelineLike {
  getBindGroupLayout(index: number): GPUHandle;
}

export interface GPUDeviceLostInfoLike {
  readonly reason: string;
  readonly message: string;
}

export interface GPUErrorLike {
  readonly message: string;
}

/** What `createWebGPUBackend` needs from a `GPUDevice`. */
export interface GPUDeviceLike {
  readonly limits: GPULimitsLike;
  readonly queue: GPUQueueLike;
  readonly lost: Promise<GPUDeviceLostInfoLike>;
  createBuffer(descriptor: { size: number; usage: number; label?: string; mappedAtCreation?: boolean }): GPUBufferLike;
  createShaderModule(descriptor: { code: string; label?: string }): GPUHandle;
  createComputePipeline(descriptor: { layout: 'auto' | GPUHandle; compute: { module: GPUHandle; entryPoint?: string }; label?: string }): GPUComputePipelineLike;
  createBindGroup(descriptor: { layout: GPUHandle; entries: Iterable<{ binding: number; resource: GPUHandle }>; label?: string }): GPUHandle;
  createCommandEncoder(descriptor?: object): GPUCommandEncoderLike;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): unknown;
  popErrorScope(): Promise<GPUErrorLike | null>;
  destroy(): unknown;
}

/** What `createWebGPUBackend({ adapter })` needs from a `GPUAdapter`. */
export interface GPUAdapterLike {
  readonly limits: GPULimitsLike;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number>; label?: string }): Promise<GPUDeviceLike>;
}

/** `navigator.gpu`. */
export interface GPULike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GPUAdapterLike | null>;
}

/** Numeric flags from the WebGPU spec, so the library needs no `GPUBufferUsage` global. */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const MapMode = { READ: 0x0001 } as const;

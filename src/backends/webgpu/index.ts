export { createWebGPUBackend, WebGPUBackend, WebGPUDeviceLostError, WebGPUUnavailableError } from './backend';
export type { GPUInput, WebGPUBackendLimits, WebGPUBackendOptions } from './backend';
export { GPUTensor } from './tensor';
export type { GPUDType } from './tensor';
export type { GPUMemoryInfo } from './pool';
export type {
  GPUAdapterLike,
  GPUBufferLike,
  GPUCommandEncoderLike,
  GPUComputePassLike,
  GPUComputePipelineLike,
  GPUDeviceLike,
  GPUDeviceLostInfoLike,
  GPUErrorLike,
  GPULike,
  GPULimitsLike,
  GPUQueueLike,
} from './types';
export type { GPUConv2dOptions, GPUConvTranspose2dOptions } from './kernels/conv';
export type { GPURoiBoxes } from './kernels/detection';
export type { GPUBinaryCrossEntropyWithLogitsOptions, GPUSigmoidFocalLossOptions } from './kernels/losses';

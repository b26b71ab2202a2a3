/**
 * visionops: PyTorch/torchvision-exact vision kernels, COCO masks and
 * COCOeval, and a WebGPU backend, in dependency-free TypeScript.
 * @packageDocumentation
 */
export * from './tensor';
export * from './ops/roi';
export * from './ops/losses';
export * from './ops/pool';
export * from './ops/interpolate';
export * as mask from './coco/mask';
export type { Rle, RLE, UncompressedRLE, ColumnMajorMask } from './coco/mask';
export * from './ops/boxes';
export * from './ops/nms';
export * from './ops/conv';
export * from './ops/paste-masks';
export * from './ops/pad';
export * from './ops/softmax';
export * from './coco/render';
export * from './coco/png';
export * from './metrics/ap';
export * from './metrics/cocoplots';
export * from './metrics/analyze';
export * from './ops/anchors';
export * from './coco/coco';
export * from './metrics/cocoeval';
export * from './backends/webgpu';

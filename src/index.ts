/**
 * visionops: PyTorch/torchvision-exact vision kernels, COCO masks and
 * COCOeval, and a WebGPU backend, in dependency-free TypeScript.
 * @packageDocumentation
 */
export * from './tensor';
export * from './ops/roi';
export * as mask from './coco/mask';
export type { Rle, RLE, UncompressedRLE, ColumnMajorMask } from './coco/mask';
export * from './ops/boxes';
export * from './ops/nms';

/** The convolution rows shared by the CPU (`conv.bench.ts`) and WebGPU (`webgpu/run.ts`) benchmarks. */
export interface ConvSpec {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  pad: number;
  dilation: number;
  groups: number;
  transposed?: boolean;
  maxTime?: number;
}

export const CONV_SPECS: ConvSpec[] = [
  { name: 'conv2d 3x3 64->64 p1, 1x64x128x128', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 1, dilation: 1, groups: 1 },
  { name: 'conv2d 7x7 s2 p3 3->64, 8x3x224x224', x: [8, 3, 224, 224], w: [64, 3, 7, 7], stride: 2, pad: 3, dilation: 1, groups: 1, maxTime: 1 },
  { name: 'depthwise 3x3 p1, 1x256x64x64', x: [1, 256, 64, 64], w: [256, 1, 3, 3], stride: 1, pad: 1, dilation: 1, groups: 256 },
  { name: 'conv2d 3x3 dilation 4 p4 64->64, 1x64x128x128', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 4, dilation: 4, groups: 1 },
  { name: 'convTranspose2d 4x4 s2 p1 64->32, 1x64x64x64', x: [1, 64, 64, 64], w: [64, 32, 4, 4], stride: 2, pad: 1, dilation: 1, groups: 1, transposed: true },
];

export function convOutShape(s: ConvSpec): number[] {
  const [n, , h, w] = s.x;
  const [, , kh, kw] = s.w;
  if (s.transposed) return [n, s.w[1] * s.groups, (h - 1) * s.stride - 2 * s.pad + kh, (w - 1) * s.stride - 2 * s.pad + kw];
  const ext = (k: number) => s.dilation * (k - 1) + 1;
  return [n, s.w[0], Math.floor((h + 2 * s.pad - ext(kh)) / s.stride) + 1, Math.floor((w + 2 * s.pad - ext(kw)) / s.stride) + 1];
}

/** Multiply-adds x 2: every (output, weight tap) pair of a conv; every (input, weight tap) pair of a transposed conv. */
export function convFlops(s: ConvSpec): number {
  const [, cInG, kh, kw] = s.w;
  if (s.transposed) return 2 * s.x.reduce((a, b) => a * b, 1) * s.w[1] * kh * kw;
  const [n, cOut, oh, ow] = convOutShape(s);
  return 2 * n * cOut * oh * ow * cInG * kh * kw;
}

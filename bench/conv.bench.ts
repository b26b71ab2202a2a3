/**
 * Convolutions at network sizes (float32, one thread):
 * - conv2d 3x3 64->64 pad 1 on 1x64x128x128 (a mid-network layer),
 * - conv2d 7x7 stride 2 pad 3 3->64 on 8x3x224x224 (a ResNet stem),
 * - depthwise 3x3 pad 1 on 1x256x64x64 (MobileNet-style),
 * - dilated 3x3 rate 4 pad 4, 64->64 on 1x64x128x128 (DeepLab-style),
 * - convTranspose2d 4x4 stride 2 pad 1, 64->32 on 1x64x64x64 (decoder upsampling).
 * Peers: tf.conv2d / tf.depthwiseConv2d / tf.conv2dTranspose (cpu, wasm) on the same
 * data in NHWC, their native layout, with the same explicit padding; results read back
 * with dataSync. flops count 2 per multiply-add of the direct algorithm.
 * PyTorch 1.13 single-thread reference on this machine for the 3x3 64->64 row: 4.9 ms;
 * for the transposed row: 2.8 ms.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { conv2d, convTranspose2d, Generator, randn, type Conv2dOptions, type Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

interface ConvSpec {
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

const SPECS: ConvSpec[] = [
  { name: 'conv2d 3x3 64->64 p1, 1x64x128x128', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 1, dilation: 1, groups: 1 },
  { name: 'conv2d 7x7 s2 p3 3->64, 8x3x224x224', x: [8, 3, 224, 224], w: [64, 3, 7, 7], stride: 2, pad: 3, dilation: 1, groups: 1, maxTime: 1 },
  { name: 'depthwise 3x3 p1, 1x256x64x64', x: [1, 256, 64, 64], w: [256, 1, 3, 3], stride: 1, pad: 1, dilation: 1, groups: 256 },
  { name: 'conv2d 3x3 dilation 4 p4 64->64, 1x64x128x128', x: [1, 64, 128, 128], w: [64, 64, 3, 3], stride: 1, pad: 4, dilation: 4, groups: 1 },
  { name: 'convTranspose2d 4x4 s2 p1 64->32, 1x64x64x64', x: [1, 64, 64, 64], w: [64, 32, 4, 4], stride: 2, pad: 1, dilation: 1, groups: 1, transposed: true },
];

function outSize(s: ConvSpec): number[] {
  const [n, , h, w] = s.x;
  const [, , kh, kw] = s.w;
  if (s.transposed) return [n, s.w[1] * s.groups, (h - 1) * s.stride - 2 * s.pad + kh, (w - 1) * s.stride - 2 * s.pad + kw];
  const ext = (k: number) => s.dilation * (k - 1) + 1;
  return [n, s.w[0], Math.floor((h + 2 * s.pad - ext(kh)) / s.stride) + 1, Math.floor((w + 2 * s.pad - ext(kw)) / s.stride) + 1];
}

/** Multiply-adds x 2: every (output, weight tap) pair of a conv; every (input, weight tap) pair of a transposed conv. */
function flops(s: ConvSpec): number {
  const [, cInG, kh, kw] = s.w;
  if (s.transposed) return 2 * s.x.reduce((a, b) => a * b, 1) * s.w[1] * kh * kw;
  const [n, cOut, oh, ow] = outSize(s);
  return 2 * n * cOut * oh * ow * cInG * kh * kw;
}

/** [a, b, c, d] in NCHW order -> permuted copy for tfjs. */
function permuted(tf: typeof TF, t: Tensor, perm: number[]): TF.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.contiguous().data as Float32Array, t.shape as [number, number, number, number]), perm) as TF.Tensor4D);
}

function peer(s: ConvSpec, data: { x: Tensor; w: Tensor }, backend: TfBackend): BenchImpl {
  let tf: typeof TF;
  let x: TF.Tensor4D;
  let w: TF.Tensor4D;
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]];
  return {
    name: `tfjs-${backend}`,
    async before() {
      tf = await useTfBackend(backend);
      x = permuted(tf, data.x, [0, 2, 3, 1]);
      // conv2d filter [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]; transposed [kh, kw, out, in]
      w = permuted(tf, data.w, s.transposed ? [2, 3, 1, 0] : s.groups > 1 ? [2, 3, 0, 1] : [2, 3, 1, 0]);
    },
    fn() {
      let y: TF.Tensor4D;
      if (s.transposed) {
        const [n, c, oh, ow] = outSize(s);
        y = tf.conv2dTranspose(x, w, [n, oh, ow, c], s.stride, s.pad);
      } else if (s.groups > 1) y = tf.depthwiseConv2d(x, w, s.stride, pads, 'NHWC', s.dilation);
      else y = tf.conv2d(x, w, s.stride, pads, 'NHWC', s.dilation);
      y.dataSync();
      y.dispose();
    },
    after: () => tf.dispose([x, w]),
  };
}

function benchCase(s: ConvSpec, seed: number): BenchCase {
  const data = {} as { x: Tensor; w: Tensor };
  const opts: Conv2dOptions = { stride: s.stride, padding: s.pad, dilation: s.dilation, groups: s.groups };
  return {
    family: 'conv',
    name: s.name,
    flops: flops(s),
    maxTime: s.maxTime,
    setup() {
      const gen = new Generator(seed);
      data.x ??= randn(s.x, { generator: gen });
      data.w ??= randn(s.w, { generator: gen });
    },
    impls: [
      { name: 'visionops', fn: () => void (s.transposed ? convTranspose2d(data.x, data.w, { stride: s.stride, padding: s.pad }) : conv2d(data.x, data.w, opts)) },
      peer(s, data, 'cpu'),
      peer(s, data, 'wasm'),
    ],
  };
}

export const cases: BenchCase[] = SPECS.map((s, i) => benchCase(s, i + 1));

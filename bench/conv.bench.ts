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
 * PyTorch 1.13 single-thread timings of the same rows: bench/torch_peers.py.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { conv2d, convTranspose2d, Generator, randn, type Conv2dOptions, type Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { CONV_SPECS, convFlops, convOutShape, type ConvSpec } from './conv-specs';
import { useTfBackend, type TfBackend } from './peers';

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
        const [n, c, oh, ow] = convOutShape(s);
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
    flops: convFlops(s),
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

export const cases: BenchCase[] = CONV_SPECS.map((s, i) => benchCase(s, i + 1));

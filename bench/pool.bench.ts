/**
 * Pooling and resizing at network sizes:
 * - maxPool2d 3x3 stride 2 padding 1 with indices on 8x64x112x112 (a ResNet stem).
 *   Peers: tf.maxPoolWithArgmax (cpu, wasm) on the same data in NHWC, their native
 *   layout, with pad 'same' (same 56x56 output and work; tfjs has no explicit padding
 *   for this op). Note tfjs-wasm's maxPoolWithArgmax starts its running max at FLT_MIN
 *   rather than -inf: a window of negative values gives 1.1754944e-38 and index 0 (checked
 *   with tfjs 4.22; its plain maxPool is right). See test/pool.test.ts.
 * - interpolate 1x21x64x64 -> 512x512 (segmentation logits to image size), bilinear and
 *   bicubic, alignCorners false. Peer: tf.image.resizeBilinear with halfPixelCenters (torch's
 *   mapping) on NHWC; tfjs has no bicubic resize.
 * PyTorch 1.13 single-thread timings of the same rows: bench/torch_peers.py.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Generator, interpolate, maxPool2d, randn, type Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

let poolX: Tensor;
let resizeX: Tensor;

function setupPool(): void {
  poolX ??= randn([8, 64, 112, 112], { generator: new Generator(1) });
}

function setupResize(): void {
  resizeX ??= randn([1, 21, 64, 64], { generator: new Generator(2) });
}

/** NCHW data in NHWC order for tfjs. */
function nhwc(tf: typeof TF, x: Tensor): TF.Tensor4D {
  const [n, c, h, w] = x.shape;
  return tf.tidy(() => tf.transpose(tf.tensor4d(x.contiguous().data as Float32Array, [n, c, h, w]), [0, 2, 3, 1]) as TF.Tensor4D);
}

/** A tfjs implementation of one row: `run` gets the NHWC copy of `input` and returns the tensors to read back. */
function tfPeer(backend: TfBackend, input: () => Tensor, run: (tf: typeof TF, x: TF.Tensor4D) => TF.Tensor[]): BenchImpl {
  let tf: typeof TF;
  let x: TF.Tensor4D;
  return {
    name: `tfjs-${backend}`,
    async before() {
      tf = await useTfBackend(backend);
      x = nhwc(tf, input());
    },
    fn() {
      const outs = run(tf, x);
      for (const o of outs) o.dataSync();
      tf.dispose(outs);
    },
    after: () => x.dispose(),
  };
}

const maxPoolPeer = (backend: TfBackend) =>
  tfPeer(backend, () => poolX, (tf, x) => {
    const { result, indexes } = tf.maxPoolWithArgmax(x, 3, 2, 'same');
    return [result, indexes];
  });

const resizePeer = (backend: TfBackend) => tfPeer(backend, () => resizeX, (tf, x) => [tf.image.resizeBilinear(x, [512, 512], false, true)]);

export const cases: BenchCase[] = [
  {
    family: 'pool',
    name: 'maxPool2d 3x3 s2 p1 + indices, 8x64x112x112',
    setup: setupPool,
    impls: [
      { name: 'visionops', fn: () => void maxPool2d(poolX, { kernelSize: 3, stride: 2, padding: 1, returnIndices: true }) },
      maxPoolPeer('cpu'),
      maxPoolPeer('wasm'),
    ],
  },
  {
    family: 'pool',
    name: 'interpolate bilinear 1x21x64x64 -> 512x512',
    setup: setupResize,
    impls: [{ name: 'visionops', fn: () => void interpolate(resizeX, { size: [512, 512], mode: 'bilinear' }) }, resizePeer('cpu'), resizePeer('wasm')],
  },
  {
    family: 'pool',
    name: 'interpolate bicubic 1x21x64x64 -> 512x512 (no tfjs peer)',
    setup: setupResize,
    impls: [{ name: 'visionops', fn: () => void interpolate(resizeX, { size: [512, 512], mode: 'bicubic' }) }],
  },
];

/**
 * Losses. tfjs has no focal loss and no pixel-wise (class-dim 1) cross entropy,
 * so the peers are the closest fair work: `tf.losses.sigmoidCrossEntropy` (BCE
 * with logits, the focal loss's core) on the same logits and targets, and
 * `tf.losses.softmaxCrossEntropy` on one-hot labels with the classes last
 * (NHWC logits, prepared outside the timing, tfjs's preferred layout). Our
 * focal loss does more per element (sigmoid, modulating factor, alpha).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { crossEntropy, Generator, randint, randn, sigmoidFocalLoss, type Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

const FOCAL = [100_000, 80] as const;
const CE = { n: 8, c: 21, h: 128, w: 128 };

let logits: Tensor;
let targets: Tensor;
let ceLogits: Tensor;
let ceTargets: Tensor;

function setupFocal(): void {
  const g = new Generator(7);
  logits = randn([...FOCAL], { generator: g });
  // About 1% positives, like anchors matched to objects.
  targets = randn([...FOCAL], { generator: g });
  const t = targets.data;
  for (let i = 0; i < t.length; i++) t[i] = t[i] > 2.33 ? 1 : 0;
}

function setupCe(): void {
  const g = new Generator(8);
  ceLogits = randn([CE.n, CE.c, CE.h, CE.w], { generator: g });
  ceTargets = randint(0, CE.c, [CE.n, CE.h, CE.w], { generator: g });
}

/** A tfjs peer whose inputs are uploaded once per backend, outside the timing. */
function tfPeer(backend: TfBackend, make: (tf: typeof TF) => { run: () => void; dispose: () => void }): BenchImpl {
  let state: { run: () => void; dispose: () => void } | null = null;
  return {
    name: `tfjs-${backend}`,
    before: async () => {
      state = make(await useTfBackend(backend));
    },
    fn: () => state!.run(),
    after: () => {
      state?.dispose();
      state = null;
    },
  };
}

function focalPeer(backend: TfBackend, grad: boolean): BenchImpl {
  return tfPeer(backend, (tf) => {
    const x = tf.tensor2d(logits.data as Float32Array, [...FOCAL]);
    const y = tf.tensor2d(targets.data as Float32Array, [...FOCAL]);
    const loss = (z: TF.Tensor) => tf.losses.sigmoidCrossEntropy(y, z, undefined, 0, tf.Reduction.SUM) as TF.Scalar;
    const vg = tf.valueAndGrad(loss);
    return {
      run: () => {
        if (grad) {
          const r = vg(x);
          r.value.dataSync();
          r.grad.dataSync();
          tf.dispose([r.value, r.grad]);
        } else {
          const l = loss(x);
          l.dataSync();
          l.dispose();
        }
      },
      dispose: () => tf.dispose([x, y]),
    };
  });
}

function cePeer(backend: TfBackend, grad: boolean): BenchImpl {
  return tfPeer(backend, (tf) => {
    const rows = CE.n * CE.h * CE.w;
    // NCHW -> (N*H*W) x C, and one-hot labels, prepared once.
    const x = tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(ceLogits.data as Float32Array, [CE.n, CE.c, CE.h, CE.w]), [0, 2, 3, 1]), [rows, CE.c]));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ceTargets.data as Int32Array, 'int32'), CE.c), 'float32'));
    const loss = (z: TF.Tensor) => tf.losses.softmaxCrossEntropy(y, z, undefined, 0, tf.Reduction.MEAN) as TF.Scalar;
    const vg = tf.valueAndGrad(loss);
    return {
      run: () => {
        if (grad) {
          const r = vg(x);
          r.value.dataSync();
          r.grad.dataSync();
          tf.dispose([r.value, r.grad]);
        } else {
          const l = loss(x);
          l.dataSync();
          l.dispose();
        }
      },
      dispose: () => tf.dispose([x, y]),
    };
  });
}

export const cases: BenchCase[] = [
  {
    family: 'losses',
    name: `sigmoidFocalLoss ${FOCAL.join('x')} sum (peers: sigmoidCrossEntropy)`,
    setup: setupFocal,
    impls: [{ name: 'visionops', fn: () => void sigmoidFocalLoss(logits, targets, { reduction: 'sum' }).item() }, focalPeer('cpu', false), focalPeer('wasm', false)],
  },
  {
    family: 'losses',
    name: `sigmoidFocalLoss ${FOCAL.join('x')} sum + grad (peers: sigmoidCrossEntropy valueAndGrad)`,
    impls: [{ name: 'visionops', fn: () => void sigmoidFocalLoss(logits, targets, { reduction: 'sum', grad: true }) }, focalPeer('cpu', true), focalPeer('wasm', true)],
  },
  {
    family: 'losses',
    name: `crossEntropy ${CE.n}x${CE.c}x${CE.h}x${CE.w} class targets mean (peers: softmaxCrossEntropy one-hot NHWC)`,
    setup: setupCe,
    impls: [{ name: 'visionops', fn: () => void crossEntropy(ceLogits, ceTargets).item() }, cePeer('cpu', false), cePeer('wasm', false)],
  },
  {
    family: 'losses',
    name: `crossEntropy ${CE.n}x${CE.c}x${CE.h}x${CE.w} class targets mean + grad (peers: valueAndGrad)`,
    impls: [{ name: 'visionops', fn: () => void crossEntropy(ceLogits, ceTargets, { grad: true }) }, cePeer('cpu', true), cePeer('wasm', true)],
  },
];

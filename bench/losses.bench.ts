/**
 * Losses. tfjs has no focal loss and no pixel-wise (class-dim 1) cross entropy,
 * so the peers are the closest fair work: `tf.losses.sigmoidCrossEntropy` (BCE
 * with logits, the focal loss's core) on the same logits and targets, and
 * `tf.losses.softmaxCrossEntropy` on one-hot labels with the classes last
 * (NHWC logits, prepared outside the timing, tfjs's preferred layout). Our
 * focal loss does more per element (sigmoid, modulating factor, alpha).
 * tfjs-core alone registers no gradients (`tf.grad` fails), so the gradient
 * rows give the peers the closed-form gradient written with tfjs ops:
 * `sigmoid(x) - t` and `(softmax(x) - onehot) / rows`.
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

/** Runs `make` in a tidy scope and reads every result back (forces completion). */
function readAll(tf: typeof TF, make: () => TF.Tensor[]): void {
  tf.tidy(() => {
    for (const t of make()) t.dataSync();
  });
}

function focalPeer(backend: TfBackend, grad: boolean): BenchImpl {
  return tfPeer(backend, (tf) => {
    const x = tf.tensor2d(logits.data as Float32Array, [...FOCAL]);
    const y = tf.tensor2d(targets.data as Float32Array, [...FOCAL]);
    const loss = () => tf.losses.sigmoidCrossEntropy(y, x, undefined, 0, tf.Reduction.SUM);
    return { run: () => readAll(tf, () => (grad ? [loss(), tf.sub(tf.sigmoid(x), y)] : [loss()])), dispose: () => tf.dispose([x, y]) };
  });
}

function cePeer(backend: TfBackend, grad: boolean): BenchImpl {
  return tfPeer(backend, (tf) => {
    const rows = CE.n * CE.h * CE.w;
    // NCHW -> (N*H*W) x C, and one-hot labels, prepared once.
    const x = tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(ceLogits.data as Float32Array, [CE.n, CE.c, CE.h, CE.w]), [0, 2, 3, 1]), [rows, CE.c]));
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ceTargets.data as Int32Array, 'int32'), CE.c), 'float32'));
    const loss = () => tf.losses.softmaxCrossEntropy(y, x, undefined, 0, tf.Reduction.MEAN);
    return {
      run: () => readAll(tf, () => (grad ? [loss(), tf.div(tf.sub(tf.softmax(x), y), rows)] : [loss()])),
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
    name: `sigmoidFocalLoss ${FOCAL.join('x')} sum + grad (peers: sigmoidCrossEntropy + sigmoid(x) - t)`,
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
    name: `crossEntropy ${CE.n}x${CE.c}x${CE.h}x${CE.w} class targets mean + grad (peers: + (softmax - onehot) / rows)`,
    impls: [{ name: 'visionops', fn: () => void crossEntropy(ceLogits, ceTargets, { grad: true }) }, cePeer('cpu', true), cePeer('wasm', true)],
  },
];

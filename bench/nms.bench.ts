/**
 * NMS, Soft-NMS and pairwise IoU on detector-like boxes (clusters of jittered copies of
 * ~100 boxes per object, uniform scores), against tfjs-cpu and tfjs-wasm's
 * nonMaxSuppression / nonMaxSuppressionWithScore (their Soft-NMS).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { boxIou, Generator, nms, softNms, Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

interface Detections {
  boxes: Tensor;
  scores: Tensor;
  /** The same boxes as tfjs wants them: [y1, x1, y2, x2]. */
  yxyx: Float32Array;
}

/** `n` boxes in `n / 100` clusters over a 1000 x 1000 image, deterministic per seed. */
export function clusteredDetections(n: number, seed = 7): Detections {
  const g = new Generator(seed);
  const k = Math.max(1, Math.round(n / 100));
  const objects = Array.from({ length: k }, () => [g.random() * 1000, g.random() * 1000, 20 + g.random() * 130, 20 + g.random() * 130]);
  const boxes = new Float32Array(4 * n);
  const yxyx = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [cx, cy, w, h] = objects[g.integer(0, k)];
    const x = cx + g.normal() * 0.08 * w;
    const y = cy + g.normal() * 0.08 * h;
    const ww = w * (0.85 + 0.3 * g.random());
    const hh = h * (0.85 + 0.3 * g.random());
    boxes.set([x - ww / 2, y - hh / 2, x + ww / 2, y + hh / 2], 4 * i);
    yxyx.set([y - hh / 2, x - ww / 2, y + hh / 2, x + ww / 2], 4 * i);
    scores[i] = g.random();
  }
  return { boxes: new Tensor(boxes, [n, 4], 'float32'), scores: new Tensor(scores, [n], 'float32'), yxyx };
}

const IOU = 0.5;
// tfjs's Soft-NMS weight is exp(-0.5·iou²/σ_tf) (ours exp(-iou²/σ)), with a hard cut at its
// IoU threshold: σ_tf = 0.25 with the cut disabled (threshold 1) is our gaussian with σ = 0.5.
const SIGMA = 0.5;
const SCORE_THRESHOLD = 0.001;

function tfPeers(d: () => Detections, n: number, soft: boolean): BenchImpl[] {
  return (['cpu', 'wasm'] as TfBackend[]).map((backend) => {
    let tf: typeof TF;
    let boxes: TF.Tensor2D;
    let scores: TF.Tensor1D;
    return {
      name: `tfjs-${backend}`,
      before: async () => {
        tf = await useTfBackend(backend);
        boxes = tf.tensor2d(d().yxyx, [n, 4]);
        scores = tf.tensor1d(d().scores.data as Float32Array);
      },
      fn: () => {
        if (soft) {
          const r = tf.image.nonMaxSuppressionWithScore(boxes, scores, n, 1, SCORE_THRESHOLD, SIGMA / 2);
          r.selectedIndices.dataSync();
          r.selectedScores.dataSync();
          r.selectedIndices.dispose();
          r.selectedScores.dispose();
        } else {
          const keep = tf.image.nonMaxSuppression(boxes, scores, n, IOU, -Infinity);
          keep.dataSync();
          keep.dispose();
        }
      },
      after: () => {
        boxes.dispose();
        scores.dispose();
      },
    };
  });
}

function nmsCases(n: number): BenchCase[] {
  let d: Detections;
  const setup = () => {
    d = clusteredDetections(n);
  };
  return [
    {
      family: 'nms',
      name: `nms ${n} clustered boxes, IoU ${IOU}`,
      setup,
      impls: [{ name: 'visionops', fn: () => void nms(d.boxes, d.scores, IOU) }, ...tfPeers(() => d, n, false)],
    },
    {
      family: 'nms',
      name: `softNms gaussian ${n} clustered boxes (sigma ${SIGMA}, score threshold ${SCORE_THRESHOLD})`,
      setup,
      maxTime: n > 5000 ? 2 : 3,
      impls: [
        { name: 'visionops', fn: () => void softNms(d.boxes, d.scores, { method: 'gaussian', sigma: SIGMA, scoreThreshold: SCORE_THRESHOLD }) },
        ...tfPeers(() => d, n, true),
      ],
    },
  ];
}

let iouBoxes: Tensor;

export const cases: BenchCase[] = [
  ...[1000, 5000, 20000].flatMap(nmsCases),
  {
    family: 'nms',
    name: 'boxIou 1000 x 1000',
    setup: () => {
      iouBoxes = clusteredDetections(1000, 11).boxes;
    },
    impls: [{ name: 'visionops', fn: () => void boxIou(iouBoxes, iouBoxes) }],
  },
];

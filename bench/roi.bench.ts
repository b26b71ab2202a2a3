/**
 * RoI pooling benchmarks: Faster/Mask R-CNN's box head input, 1,000 proposals on
 * a stride-16 feature map of an 800 x 1088 image (1 x 256 x 50 x 68).
 *
 * Peers: tfjs has no roi_align. Its fair equivalent is `tf.image.cropAndResize`
 * to 14 x 14 (bilinear) followed by a 2 x 2 average pool, i.e. the same 196
 * bilinear samples per roi and channel as roi_align with sampling_ratio 2, on
 * NHWC input; `cropAndResize` straight to 7 x 7 (one sample per bin, 4x less
 * work) is listed too.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Generator, randn, roiAlign, roiPool, tensor, type Tensor } from '../src';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

const N = 1;
const C = 256;
const H = 50;
const W = 68;
const STRIDE = 16;
const K = 1000;

/**
 * Deterministic proposals: centres uniform over the image, widths and heights
 * log-uniform in [16, 512] px, clipped to the image (as RPN proposals are).
 */
export function proposalBoxes(k: number, seed = 7): number[][] {
  const g = new Generator(seed);
  const imgW = W * STRIDE;
  const imgH = H * STRIDE;
  const size = () => 16 * 32 ** g.random();
  const rows: number[][] = [];
  for (let i = 0; i < k; i++) {
    const w = size();
    const h = size();
    const cx = g.random() * imgW;
    const cy = g.random() * imgH;
    rows.push([0, Math.max(cx - w / 2, 0), Math.max(cy - h / 2, 0), Math.min(cx + w / 2, imgW), Math.min(cy + h / 2, imgH)]);
  }
  return rows;
}

let x: Tensor;
let rois: Tensor;
let rows: number[][];

function setup(): void {
  x ??= randn([N, C, H, W], { generator: new Generator(1) });
  rows ??= proposalBoxes(K);
  rois ??= tensor(rows);
}

/** cropAndResize to `crop` x `crop` (+ avgPool to 7 x 7 when crop is 14) on the same map (NHWC) and boxes (normalised, aligned shift). */
function tfPeer(backend: TfBackend, crop: 7 | 14): BenchImpl {
  let tf: typeof TF;
  let image: TF.Tensor4D;
  let boxes: TF.Tensor2D;
  let boxInd: TF.Tensor1D;
  return {
    name: `tfjs-${backend} cropAndResize ${crop}x${crop}${crop === 14 ? '+avgPool' : ''}`,
    async before() {
      tf = await useTfBackend(backend);
      image = tf.tidy(() => tf.transpose(tf.tensor4d(x.contiguous().data as Float32Array, [N, C, H, W]), [0, 2, 3, 1]));
      // Normalised [y1, x1, y2, x2] with the first/last sample at the roi edges, as cropAndResize defines them.
      const b = rows.map(([, x1, y1, x2, y2]) => [(y1 / STRIDE - 0.5) / (H - 1), (x1 / STRIDE - 0.5) / (W - 1), (y2 / STRIDE - 0.5) / (H - 1), (x2 / STRIDE - 0.5) / (W - 1)]);
      boxes = tf.tensor2d(b);
      boxInd = tf.tensor1d(new Int32Array(K), 'int32');
    },
    fn() {
      const y = tf.tidy(() => {
        const crops = tf.image.cropAndResize(image, boxes, boxInd, [crop, crop], 'bilinear');
        return crop === 14 ? tf.avgPool(crops, 2, 2, 'valid') : crops;
      });
      y.dataSync();
      y.dispose();
    },
    after() {
      tf.dispose([image, boxes, boxInd]);
    },
  };
}

export const cases: BenchCase[] = [
  {
    family: 'roi',
    name: `roiAlign ${K} boxes -> 7x7 from ${N}x${C}x${H}x${W} (sampling 2, aligned, scale 1/16)`,
    setup,
    impls: [{ name: 'visionops', fn: () => void roiAlign(x, rois, { outputSize: 7, spatialScale: 1 / STRIDE, samplingRatio: 2, aligned: true }) }, tfPeer('cpu', 14), tfPeer('wasm', 14), tfPeer('cpu', 7), tfPeer('wasm', 7)],
  },
  {
    family: 'roi',
    name: `roiAlign ${K} boxes -> 7x7 adaptive sampling (torchvision default sampling_ratio -1)`,
    setup,
    impls: [{ name: 'visionops', fn: () => void roiAlign(x, rois, { outputSize: 7, spatialScale: 1 / STRIDE }) }],
  },
  {
    family: 'roi',
    name: `roiPool ${K} boxes -> 7x7 from ${N}x${C}x${H}x${W}`,
    setup,
    impls: [{ name: 'visionops', fn: () => void roiPool(x, rois, { outputSize: 7, spatialScale: 1 / STRIDE }) }],
  },
];

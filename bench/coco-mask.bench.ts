/**
 * COCO mask API throughput on COCO-sized data (480x640 masks of blob-shaped
 * objects, polygons of ~24 vertices). tfjs has no RLE; the peer for mask IoU
 * is the dense approach one would take without it: masks as 0/1 float rows,
 * intersections as one matMul (A Bᵀ), unions from the row sums, on the same
 * masks (uploaded outside the timing).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { binaryMaskToRle, iou, merge, rleDecode, rleEncode, rleFrPoly, rleFrString, rleIou, rleToString, type RLE, type Rle } from '../src/coco/mask';
import type { BenchCase, BenchImpl } from './harness';
import { useTfBackend, type TfBackend } from './peers';

const H = 480;
const W = 640;
const N_DT = 100;
const N_GT = 20;
const N_POLY = 100;

/** Deterministic LCG, so every run measures the same data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A star-shaped polygon around (cx, cy): what COCO instance outlines look like. */
function polygon(rand: () => number, cx: number, cy: number, r: number, k = 24): number[] {
  const xy: number[] = [];
  for (let i = 0; i < k; i++) {
    const a = (2 * Math.PI * i) / k;
    const rr = r * (0.6 + 0.4 * rand());
    xy.push(cx + rr * Math.cos(a), cy + rr * Math.sin(a));
  }
  return xy;
}

let polys: number[][] = [];
let gtR: Rle[] = [];
let dtR: Rle[] = [];
let gtRLE: RLE[] = [];
let dtRLE: RLE[] = [];
let colMask: Uint8Array = new Uint8Array(0);
let rowMask: Uint8Array = new Uint8Array(0);
let strings: string[] = [];

function setup(): void {
  if (polys.length) return;
  const rand = lcg(11);
  polys = Array.from({ length: N_POLY }, () => polygon(rand, 40 + rand() * (W - 80), 40 + rand() * (H - 80), 15 + rand() * 120));
  gtR = polys.slice(0, N_GT).map((p) => rleFrPoly(p, H, W));
  // detections: jittered copies of the ground truth plus unrelated shapes
  dtR = Array.from({ length: N_DT }, (_, i) => {
    const p = polys[i % N_POLY].map((v, j) => v + (i < N_GT * 3 ? (rand() - 0.5) * 12 : j % 2 ? 200 : 150));
    return rleFrPoly(p, H, W);
  });
  gtRLE = gtR.map((R) => ({ size: [R.h, R.w], counts: rleToString(R) }));
  dtRLE = dtR.map((R) => ({ size: [R.h, R.w], counts: rleToString(R) }));
  colMask = rleDecode(rleFrPoly(polygon(rand, 320, 240, 200, 64), H, W));
  rowMask = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rowMask[y * W + x] = colMask[y + x * H];
  strings = dtRLE.map((r) => r.counts);
}

const ours = (fn: () => void): BenchImpl => ({ name: 'visionops', fn });

function denseIouPeer(backend: TfBackend): BenchImpl {
  let state: { run: () => void; dispose: () => void } | null = null;
  return {
    name: `tfjs-${backend} dense`,
    before: async () => {
      const tf: typeof TF = await useTfBackend(backend);
      const toRows = (Rs: Rle[]) => {
        const out = new Float32Array(Rs.length * H * W);
        Rs.forEach((R, i) => out.set(rleDecode(R), i * H * W));
        return tf.tensor2d(out, [Rs.length, H * W]);
      };
      const A = toRows(dtR);
      const B = toRows(gtR);
      state = {
        run: () => {
          const r = tf.tidy(() => {
            const inter = tf.matMul(A, B, false, true);
            const union = tf.sub(tf.add(tf.sum(A, 1, true), tf.reshape(tf.sum(B, 1), [1, -1])), inter);
            return tf.div(inter, union);
          });
          r.dataSync();
          r.dispose();
        },
        dispose: () => tf.dispose([A, B]),
      };
    },
    fn: () => state!.run(),
    after: () => {
      state?.dispose();
      state = null;
    },
  };
}

export const cases: BenchCase[] = [
  { family: 'coco-mask', name: `rleEncode column-major ${H}x${W}`, setup, impls: [ours(() => void rleEncode(colMask, H, W))] },
  { family: 'coco-mask', name: `binaryMaskToRle row-major ${H}x${W}`, setup, impls: [ours(() => void binaryMaskToRle(rowMask, H, W))] },
  { family: 'coco-mask', name: `rleDecode ${N_DT} masks ${H}x${W}`, setup, impls: [ours(() => dtR.forEach((R) => rleDecode(R)))] },
  {
    family: 'coco-mask',
    name: `counts string codec x${N_DT} (rleFrString + rleToString)`,
    setup,
    impls: [ours(() => strings.forEach((s) => rleToString(rleFrString(s, H, W))))],
  },
  { family: 'coco-mask', name: `rleFrPoly ${N_POLY} polygons (24 vertices) ${H}x${W}`, setup, impls: [ours(() => polys.forEach((p) => rleFrPoly(p, H, W)))] },
  { family: 'coco-mask', name: `merge ${N_GT} RLEs (union)`, setup, impls: [ours(() => void merge(gtRLE))] },
  {
    family: 'coco-mask',
    name: `mask IoU ${N_DT} dt x ${N_GT} gt ${H}x${W}`,
    setup,
    impls: [ours(() => void rleIou(dtR, gtR, new Uint8Array(N_GT))), denseIouPeer('cpu'), denseIouPeer('wasm')],
  },
  { family: 'coco-mask', name: `iou() on RLE objects ${N_DT} x ${N_GT} (parses strings)`, setup, impls: [ours(() => void iou(dtRLE, gtRLE, new Uint8Array(N_GT)))] },
];

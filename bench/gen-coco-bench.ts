/**
 * Deterministic COCO-like benchmark data for bench/cocoeval.bench.ts:
 *
 * - `bbox`: 5,000 images, ~36,000 ground-truth boxes over 80 COCO category
 *   ids (1% crowd), detections = 1-3 jittered copies of most ground truths
 *   plus false positives, up to 100 per image (most images exactly 100, like
 *   a detector's top-100 output), scores with 3 decimals (many ties).
 * - `segm`: 500 images, polygon ground truth (star-shaped, some two-part),
 *   crowd regions as uncompressed RLE, detections as compressed RLE of
 *   jittered polygons, up to 100 per image.
 *
 * Files are written to the OS temp dir (never committed) and reused when
 * present: `npx tsx bench/gen-coco-bench.ts` prints their paths.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoAnnotation, CocoDataset, CocoResult } from '../src/coco/coco';
import { rleFrPoly, rleMerge, rleToString } from '../src/coco/mask';

const VERSION = 1;

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 80 COCO category ids (1..90 with gaps). */
const CAT_IDS = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36,
  37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70,
  72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
];

type Box = [number, number, number, number];

interface Spec {
  kind: 'bbox' | 'segm';
  seed: number;
  images: number;
  /** Mean ground truths per image. */
  gtPerImage: number;
}

const SPECS: Record<'bbox' | 'segm', Spec> = {
  bbox: { kind: 'bbox', seed: 5000, images: 5000, gtPerImage: 7.2 },
  segm: { kind: 'segm', seed: 500, images: 500, gtPerImage: 7.2 },
};

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

function starPolygon(r: () => number, b: Box): number[] {
  const [x, y, w, h] = b;
  const cx = x + w / 2, cy = y + h / 2;
  const n = 6 + Math.floor(r() * 10);
  const poly: number[] = [];
  for (let j = 0; j < n; j++) {
    const ang = (2 * Math.PI * j) / n;
    const rad = 0.55 + 0.45 * r();
    poly.push(round(cx + Math.cos(ang) * rad * (w / 2), 2), round(cy + Math.sin(ang) * rad * (h / 2), 2));
  }
  return poly;
}

function generate(spec: Spec): { gt: CocoDataset; dt: CocoResult[] } {
  const r = rng(spec.seed);
  const images = [], annotations: CocoAnnotation[] = [], dt: CocoResult[] = [];
  // Category frequency skewed like COCO: a few categories dominate.
  const catWeight = CAT_IDS.map((_, k) => 1 / (1 + k * 0.15));
  const wsum = catWeight.reduce((a, b) => a + b, 0);
  const pickCat = () => {
    let u = r() * wsum;
    for (let k = 0; k < CAT_IDS.length; k++) if ((u -= catWeight[k]) <= 0) return CAT_IDS[k];
    return CAT_IDS[CAT_IDS.length - 1];
  };
  let annId = 1;
  for (let i = 0; i < spec.images; i++) {
    const id = 100000 + i * 7;
    const width = 480 + Math.floor(r() * 161), height = 360 + Math.floor(r() * 281);
    images.push({ id, width, height, file_name: `${id}.jpg` });
    const nGt = Math.floor(r() * (2 * spec.gtPerImage + 1));
    const boxes: { box: Box; cat: number; poly: number[][] }[] = [];
    for (let g = 0; g < nGt; g++) {
      // Log-uniform area from ~40 px to ~60% of the image: small, medium and large all present.
      const area = Math.exp(Math.log(40) + r() * Math.log((0.6 * width * height) / 40));
      const aspect = Math.exp((r() - 0.5) * 1.6);
      const w = Math.min(width - 1, Math.sqrt(area * aspect)), h = Math.min(height - 1, Math.sqrt(area / aspect));
      const box: Box = [round(r() * (width - w), 2), round(r() * (height - h), 2), round(w, 2), round(h, 2)];
      const cat = pickCat();
      const crowd = r() < 0.01 ? 1 : 0;
      const poly = [starPolygon(r, box)];
      if (spec.kind === 'segm' && r() < 0.15) poly.push(starPolygon(r, [box[0], box[1], box[2] / 2, box[3] / 2]));
      boxes.push({ box, cat, poly });
      const ann: CocoAnnotation = { id: annId++, image_id: id, category_id: cat, bbox: box, area: round(box[2] * box[3] * 0.7, 2), iscrowd: crowd };
      if (spec.kind === 'segm') {
        if (crowd) {
          const R = rleMerge(poly.map((p) => rleFrPoly(p, height, width)), false);
          ann.segmentation = { size: [height, width], counts: Array.from(R.cnts) };
        } else ann.segmentation = poly;
      } else ann.segmentation = poly;
      annotations.push(ann);
    }
    const cap = r() < 0.8 ? 100 : 20 + Math.floor(r() * 81);
    const dets: CocoResult[] = [];
    const jitter = (b: Box, s: number): Box => {
      const w = Math.max(1, b[2] * (1 + (r() - 0.5) * s)), h = Math.max(1, b[3] * (1 + (r() - 0.5) * s));
      return [round(b[0] + (r() - 0.5) * s * b[2], 2), round(b[1] + (r() - 0.5) * s * b[3], 2), round(w, 2), round(h, 2)];
    };
    for (const { box, cat, poly } of boxes) {
      if (r() < 0.1) continue; // miss
      const copies = 1 + Math.floor(r() * 3);
      for (let c = 0; c < copies && dets.length < cap; c++) {
        const b = jitter(box, c === 0 ? 0.15 : 0.5);
        const det: CocoResult = { image_id: id, category_id: r() < 0.05 ? pickCat() : cat, score: round(0.3 + 0.7 * r(), 3), bbox: b };
        if (spec.kind === 'segm') {
          const dx = b[0] - box[0], dy = b[1] - box[1];
          const R = rleMerge(poly.map((p) => rleFrPoly(p.map((v, q) => round(v + (q % 2 ? dy : dx), 2)), height, width)), false);
          dets.push({ image_id: id, category_id: det.category_id, score: det.score, segmentation: { size: [height, width], counts: rleToString(R) } });
        } else dets.push(det);
      }
    }
    while (dets.length < cap) {
      const w = 8 + r() * (width / 2), h = 8 + r() * (height / 2);
      const b: Box = [round(r() * (width - w), 2), round(r() * (height - h), 2), round(w, 2), round(h, 2)];
      const score = round(0.01 + 0.5 * r(), 3);
      if (spec.kind === 'segm') {
        const R = rleFrPoly(starPolygon(r, b), height, width);
        dets.push({ image_id: id, category_id: pickCat(), score, segmentation: { size: [height, width], counts: rleToString(R) } });
      } else dets.push({ image_id: id, category_id: pickCat(), score, bbox: b });
    }
    dt.push(...dets);
  }
  const categories = CAT_IDS.map((cid) => ({ id: cid, name: `class${cid}`, supercategory: `super${cid % 12}` }));
  return { gt: { info: { description: `visionops ${spec.kind} benchmark, seed ${spec.seed}` }, images, annotations, categories }, dt };
}

/** Paths of the generated ground-truth and results files, generating them if missing. */
export function benchFiles(kind: 'bbox' | 'segm'): { gt: string; dt: string } {
  const dir = join(tmpdir(), 'visionops-bench');
  const spec = SPECS[kind];
  const gt = join(dir, `coco-${kind}-${spec.images}-v${VERSION}-gt.json`);
  const dt = join(dir, `coco-${kind}-${spec.images}-v${VERSION}-dt.json`);
  if (!existsSync(gt) || !existsSync(dt)) {
    mkdirSync(dir, { recursive: true });
    const data = generate(spec);
    writeFileSync(gt, JSON.stringify(data.gt));
    writeFileSync(dt, JSON.stringify(data.dt));
  }
  return { gt, dt };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const kind of ['bbox', 'segm'] as const) console.log(kind, benchFiles(kind));
}

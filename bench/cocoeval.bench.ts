/**
 * COCOeval evaluate() + accumulate() on generated COCO-like data
 * (bench/gen-coco-bench.ts): bbox on 5,000 images (~36,000 ground truths,
 * up to 100 detections per image), segm on 500 images. Loading (JSON.parse,
 * COCO index, loadRes) happens in setup and is reported separately, with the
 * process's peak RSS and the heap in use. There is no JavaScript peer; the
 * issue's reference points on a 2-core machine: pycocotools ~24 s and
 * faster-coco-eval (C++) ~3.1 s for the bbox case.
 */
import { readFileSync } from 'node:fs';
import { COCO } from '../src/coco/coco';
import { COCOeval, type IouType } from '../src/metrics/cocoeval';
import { benchFiles } from './gen-coco-bench';
import type { BenchCase } from './harness';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function evalCase(kind: 'bbox' | 'segm', label: string): BenchCase {
  let gt: COCO;
  let dt: COCO;
  let last: COCOeval | null = null;
  return {
    family: 'coco',
    name: `COCOeval ${kind} evaluate+accumulate, ${label}`,
    maxTime: 20,
    setup() {
      const files = benchFiles(kind);
      const t0 = performance.now();
      gt = new COCO(JSON.parse(readFileSync(files.gt, 'utf8')));
      dt = gt.loadRes(JSON.parse(readFileSync(files.dt, 'utf8')));
      console.log(`    [${kind}] ${gt.imgs.size} images, ${gt.anns.size} ground truths, ${dt.anns.size} detections; load + index + loadRes ${(performance.now() - t0).toFixed(0)} ms`);
    },
    impls: [
      {
        name: 'visionops',
        fn() {
          const E = new COCOeval(gt, dt, kind as IouType);
          E.evaluate();
          E.accumulate();
          last = E;
        },
        after() {
          const heap = process.memoryUsage();
          const stats = last!.summarize({ log: () => {} });
          console.log(`    [${kind}] AP ${stats[0].toFixed(3)}; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} (whole process), heap used ${mb(heap.heapUsed)}, array buffers ${mb(heap.arrayBuffers)}`);
        },
      },
    ],
  };
}

export const cases: BenchCase[] = [evalCase('bbox', '5000 images'), evalCase('segm', '500 images')];

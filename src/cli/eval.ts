/**
 * `visionops eval`: pycocotools-exact COCO evaluation from the command line.
 *
 *   visionops eval --gt instances.json --dt results.json [--iou-type bbox|segm|keypoints]
 *                  [--per-class] [--json out.json] [--pr-svg out.svg]
 *                  [--summation pairwise_whole|pairwise_blocks8192] [--use-max-dets]
 *
 * Prints pycocotools' summary lines on stdout (progress notes on stderr, a
 * progress bar when stderr is a terminal). With no arguments it evaluates the
 * embedded sample (100 COCO val2014 images and cocoapi's fake bbox results,
 * bbox AP 0.505). Exit codes: 0 success, 1 runtime error (unreadable file,
 * invalid JSON or data), 2 usage error.
 */
import { writeFile } from 'node:fs/promises';
import { COCO, type CocoDataset, type CocoResult } from '../coco/coco';
import { loadCocoFile, readJsonFile } from '../coco/node';
import { COCOeval, type IouType, type Summation } from '../metrics/cocoeval';
import { categoryApTable, formatCategoryTable, prCurves, prCurvesToSvg } from '../metrics/cocoplots';
import { ValueError } from '../tensor/errors';
import { EXIT, parseFlags, UsageError, type Command } from './command';

const usage =
  'visionops eval [--gt instances.json --dt results.json] [--iou-type bbox|segm|keypoints] [--per-class] ' +
  '[--json out.json] [--pr-svg out.svg] [--summation pairwise_whole|pairwise_blocks8192] [--use-max-dets]';

/** Where the command writes: stdout lines, stderr text, and whether stderr is a terminal. */
export interface EvalIo {
  out: (line: string) => void;
  err: (text: string) => void;
  errIsTty: boolean;
}

const defaultIo = (): EvalIo => ({
  out: (line) => console.log(line),
  err: (text) => void process.stderr.write(text),
  errIsTty: !!process.stderr.isTTY,
});

/** Result type of a results list, by pycocotools' first-result rule. */
function inferIouType(results: readonly CocoResult[]): IouType {
  const first = results[0];
  if (!first) return 'bbox';
  if (Array.isArray(first.bbox) && first.bbox.length > 0) return first.keypoints !== undefined ? 'keypoints' : 'bbox';
  if (first.segmentation !== undefined) return 'segm';
  return 'keypoints';
}

function progressBar(io: EvalIo): ((done: number, total: number) => void) | undefined {
  if (!io.errIsTty) return undefined;
  let last = -1;
  return (done, total) => {
    const pct = total ? Math.floor((100 * done) / total) : 100;
    if (pct === last) return;
    last = pct;
    const w = 30;
    const fill = Math.round((w * pct) / 100);
    io.err(`\r  evaluating [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${String(pct).padStart(3)}%`);
    if (done >= total) io.err('\r' + ' '.repeat(w + 24) + '\r');
  };
}

/** Runs `visionops eval` with the given arguments; returns the exit code (usage errors throw {@link UsageError}). */
export async function runEval(argv: string[], io: EvalIo = defaultIo()): Promise<number> {
  const { flags, positional } = parseFlags(argv, {
    gt: 'string',
    dt: 'string',
    'iou-type': 'string',
    'per-class': 'boolean',
    json: 'string',
    'pr-svg': 'string',
    summation: 'string',
    'use-max-dets': 'boolean',
  });
  if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
  if ((flags.gt === undefined) !== (flags.dt === undefined)) throw new UsageError('--gt and --dt go together (give both, or neither for the embedded sample)');
  const iouFlag = flags['iou-type'] as string | undefined;
  if (iouFlag !== undefined && !['bbox', 'segm', 'keypoints'].includes(iouFlag)) throw new UsageError(`--iou-type must be bbox, segm or keypoints, got '${iouFlag}'`);
  const summation = (flags.summation ?? 'pairwise_whole') as Summation;
  if (summation !== 'pairwise_whole' && summation !== 'pairwise_blocks8192') throw new UsageError(`--summation must be pairwise_whole or pairwise_blocks8192, got '${summation}'`);

  let gt: COCO;
  let results: CocoResult[];
  const t0 = performance.now();
  if (flags.gt === undefined) {
    if (iouFlag !== undefined && iouFlag !== 'bbox') throw new UsageError('the embedded sample has bbox results only; use --iou-type bbox or give --gt/--dt');
    const sample = await import('./sample/index');
    io.err(`evaluating the embedded sample: ${sample.SAMPLE_DESCRIPTION}\n`);
    gt = new COCO(structuredClone(sample.sampleGt) as CocoDataset);
    results = structuredClone(sample.sampleResults) as CocoResult[];
  } else {
    io.err(`loading ${flags.gt} ...\n`);
    gt = await loadCocoFile(flags.gt as string);
    const data = await readJsonFile(flags.dt as string, 'results file');
    if (!Array.isArray(data)) throw new ValueError(`results file '${flags.dt}' must hold a json array of results`);
    results = data as CocoResult[];
  }
  const dt = gt.loadRes(results);
  const iouType = (iouFlag ?? inferIouType(results)) as IouType;
  io.err(`loaded ${gt.imgs.size} images, ${gt.anns.size} ground truths, ${dt.anns.size} results (${((performance.now() - t0) / 1000).toFixed(2)} s)\n`);
  io.err(`Evaluate annotation type *${iouType}*\n`);

  const E = new COCOeval(gt, dt, iouType);
  const t1 = performance.now();
  E.evaluate({ onProgress: progressBar(io) });
  E.accumulate();
  io.err(`evaluate + accumulate: ${((performance.now() - t1) / 1000).toFixed(2)} s\n`);
  const stats = E.summarize({ log: io.out, summation, useMaxDets: !!flags['use-max-dets'] });

  const rows = flags['per-class'] || flags.json !== undefined ? categoryApTable(E, { summation }) : [];
  if (flags['per-class']) {
    io.out('');
    io.out(formatCategoryTable(rows));
  }
  if (flags.json !== undefined) {
    const p = E.params;
    const report = {
      iouType,
      stats,
      summation,
      useMaxDets: !!flags['use-max-dets'],
      params: { imgIds: p.imgIds.length, catIds: p.catIds, iouThrs: p.iouThrs, maxDets: p.maxDets, areaRng: p.areaRng, areaRngLbl: p.areaRngLbl, useCats: p.useCats },
      counts: E.eval!.counts,
      per_category: rows,
    };
    await writeOut(flags.json as string, JSON.stringify(report, null, 1) + '\n');
    io.err(`wrote ${flags.json}\n`);
  }
  if (flags['pr-svg'] !== undefined) {
    await writeOut(flags['pr-svg'] as string, prCurvesToSvg(prCurves(E)));
    io.err(`wrote ${flags['pr-svg']}\n`);
  }
  return EXIT.ok;
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (e) {
    throw new ValueError(`cannot write '${path}': ${(e as Error).message}`);
  }
}

export const evalCommand: Command = { usage, run: (argv) => runEval(argv) };

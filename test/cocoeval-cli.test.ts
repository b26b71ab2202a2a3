/** `visionops eval` end to end: the embedded sample, files, reports, errors and exit codes. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runEval, type EvalIo } from '../src/cli/eval';
import { UsageError } from '../src/cli/command';
import { pyFixed } from '../src/metrics/cocoeval';
import { ValueError } from '../src/tensor/errors';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REAL = join(ROOT, 'test/fixtures/coco/real');
const expected = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/coco/eval/real_val2014_100/expected.json'), 'utf8'));
const statsOf = (name: string): number[] => expected.runs.find((r: { name: string }) => r.name === name).stats_variants.pairwise_whole;

function capture(tty = false): EvalIo & { lines: string[]; errText: () => string } {
  const lines: string[] = [];
  let err = '';
  return { lines, errText: () => err, out: (l) => lines.push(l), err: (t) => void (err += t), errIsTty: tty };
}

const dir = mkdtempSync(join(tmpdir(), 'visionops-eval-cli-'));

describe('visionops eval', () => {
  it('with no arguments evaluates the embedded sample: the cocoapi demo numbers (bbox AP 0.505)', async () => {
    const io = capture();
    expect(await runEval([], io)).toBe(0);
    const want = statsOf('bbox-default');
    expect(io.lines).toHaveLength(12);
    io.lines.forEach((l, j) => expect(l.endsWith(`] = ${pyFixed(want[j], 3)}`)).toBe(true));
    expect(io.lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505');
    expect(io.errText()).toContain('embedded sample');
    expect(io.errText()).not.toContain('['); // no progress bar when stderr is not a terminal
  });

  it('evaluates files, infers segm from the results, writes the per-class table, JSON and SVG', async () => {
    const io = capture(true);
    const json = join(dir, 'report.json');
    const svg = join(dir, 'pr.svg');
    const code = await runEval(['--gt', join(REAL, 'instances_val2014_100.json'), '--dt', join(REAL, 'instances_val2014_fakesegm100_results.json'), '--per-class', '--json', json, '--pr-svg', svg, '--summation', 'pairwise_blocks8192'], io);
    expect(code).toBe(0);
    expect(io.errText()).toContain('*segm*');
    expect(io.errText()).toMatch(/evaluating \[#+\.*\] +\d+%/); // progress bar on a terminal
    expect(io.lines[0]).toMatch(/= 0\.320$/);
    expect(io.lines.join('\n').split('\n').length).toBe(12 + 1 + 1 + 80); // summary, blank, header, one row per category
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.stats).toEqual(expected.runs.find((r: { name: string }) => r.name === 'segm-default').stats_variants.pairwise_blocks8192);
    expect(report.per_category).toHaveLength(80);
    expect(report.per_category[0]).toMatchObject({ category_id: 1, name: 'person' });
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });

  it('--iou-type overrides the inferred type (segm results evaluated as boxes)', async () => {
    const io = capture();
    await runEval(['--gt', join(REAL, 'instances_val2014_100.json'), '--dt', join(REAL, 'instances_val2014_fakesegm100_results.json'), '--iou-type', 'bbox'], io);
    const want = statsOf('segm-results-as-bbox');
    io.lines.forEach((l, j) => expect(l.endsWith(pyFixed(want[j], 3))).toBe(true));
  });

  it('keypoints: 10 summary lines', async () => {
    const io = capture();
    await runEval(['--gt', join(REAL, 'person_keypoints_val2017_139099_gt.json'), '--dt', join(REAL, 'person_keypoints_val2017_139099_dt.json'), '--iou-type', 'keypoints'], io);
    expect(io.lines).toHaveLength(10);
    expect(io.lines[0]).toMatch(/maxDets= 20 \] = 0\.505$/);
  });

  it('usage errors throw UsageError; data errors ValueError with the cause', async () => {
    const io = capture();
    await expect(runEval(['--gt', 'a.json'], io)).rejects.toThrow(UsageError);
    await expect(runEval(['--iou-type', 'mask'], io)).rejects.toThrow(/--iou-type must be/);
    await expect(runEval(['--iou-type', 'segm'], io)).rejects.toThrow(/bbox results only/);
    await expect(runEval(['--bogus'], io)).rejects.toThrow(/unknown option --bogus/);
    await expect(runEval(['extra'], io)).rejects.toThrow(/unexpected argument/);
    await expect(runEval(['--summation', 'kahan'], io)).rejects.toThrow(/--summation/);
    const gt = join(REAL, 'instances_val2014_100.json');
    await expect(runEval(['--gt', join(dir, 'nope.json'), '--dt', gt], io)).rejects.toThrow(/cannot read COCO annotation file/);
    const trunc = join(dir, 'trunc.json');
    writeFileSync(trunc, readFileSync(join(REAL, 'instances_val2014_fakebbox100_results.json'), 'utf8').slice(0, 5000));
    await expect(runEval(['--gt', gt, '--dt', trunc], io)).rejects.toThrow(/results file .* is not valid JSON/);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]));
    await expect(runEval(['--gt', gt, '--dt', unknown], io)).rejects.toThrow(ValueError);
    const badSeg = join(dir, 'badseg.json');
    writeFileSync(badSeg, JSON.stringify([{ image_id: 1146, category_id: 1, segmentation: { size: [640, 427], counts: '!!' }, score: 1 }]));
    await expect(runEval(['--gt', gt, '--dt', badSeg], io)).rejects.toThrow(/invalid char/);
  });

  it('the visionops binary exits 0 / 1 / 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'eval', ...args], { cwd: ROOT, encoding: 'utf8' });
    const ok = run();
    expect(ok.status).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/= 0\.505$/);
    const bad = run('--gt', join(dir, 'missing.json'), '--dt', join(dir, 'missing.json'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/visionops eval: ValueError: cannot read/);
    const usage = run('--gt', 'x.json');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('Usage: visionops eval');
  });
});

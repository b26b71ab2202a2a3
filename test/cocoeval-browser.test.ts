/**
 * COCO + COCOeval in a real browser: the library entry is bundled for the
 * browser (esbuild, ESM with code splitting, Node built-ins external exactly
 * as in the package build), served locally and imported by Debian's headless
 * Chromium (playwright-core), which evaluates reference cases (bbox and segm)
 * and must reproduce pycocotools' stats bit for bit. Skipped without
 * /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.VISIONOPS_CHROMIUM ?? '/usr/bin/chromium';
const CASES = join(ROOT, 'test/fixtures/coco/eval');

let browser: Browser | null = null;
let server: Server | null = null;
let origin = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  const out = mkdtempSync(join(tmpdir(), 'visionops-browser-'));
  await build({ entryPoints: [join(ROOT, 'src/index.ts')], bundle: true, format: 'esm', splitting: true, platform: 'neutral', outdir: out, external: ['node:*'], logLevel: 'silent' });
  server = createServer((req, res) => {
    const file = resolve(out, `.${(req.url ?? '/').split('?')[0]}`);
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>cocoeval</title>');
    if (!file.startsWith(out) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': extname(file) === '.js' ? 'text/javascript' : 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'], headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

const PAGE_MODULE = `
import * as vo from '/index.js';
window.runCoco = async ({ gt, dt, runs }) => runs.map((run) => {
  const coco = new vo.COCO(structuredClone(gt));
  const E = new vo.COCOeval(coco, coco.loadRes(structuredClone(dt)), run.iouType);
  Object.assign(E.params, run.overrides);
  E.evaluate();
  E.accumulate();
  const quiet = { log: () => {} };
  return { whole: E.summarize({ ...quiet, summation: 'pairwise_whole' }), blocks: E.summarize({ ...quiet, summation: 'pairwise_blocks8192' }), node: typeof process };
});
`;

interface Run {
  name: string;
  iouType: string;
  overrides: Record<string, unknown>;
  stats_variants: Record<string, number[]>;
}

it('COCO.loadRes + COCOeval in headless Chromium reproduce the reference stats (bbox, segm)', async (ctx) => {
  if (!browser) {
    ctx.skip(`browser test skipped: ${CHROMIUM} not found`);
    return;
  }
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  // A module script (not a function passed to evaluate, which vitest would transform) imports the bundle.
  await page.addScriptTag({ type: 'module', content: PAGE_MODULE });
  await page.waitForFunction(() => 'runCoco' in window);
  for (const [name, runNames] of [['edge_bbox', ['bbox-default', 'segm-default', 'bbox-useCats0']], ['small_a', ['segm-default', 'bbox-maxDets-1-10-300']]] as const) {
    const exp = JSON.parse(readFileSync(join(CASES, name, 'expected.json'), 'utf8'));
    const gt = JSON.parse(readFileSync(join(CASES, name, 'gt.json'), 'utf8'));
    const dt = JSON.parse(readFileSync(join(CASES, name, 'dt.json'), 'utf8'));
    const runs = (exp.runs as Run[]).filter((r) => (runNames as readonly string[]).includes(r.name));
    expect(runs).toHaveLength(runNames.length);
    const got = (await page.evaluate((args) => (window as unknown as { runCoco: (a: unknown) => Promise<unknown> }).runCoco(args), {
      gt,
      dt,
      runs: runs.map((r) => ({ iouType: r.iouType, overrides: r.overrides })),
    })) as { whole: number[]; blocks: number[]; node: string }[];
    runs.forEach((run, i) => {
      expect(got[i].node, 'no Node globals in the page').toBe('undefined');
      expect(got[i].whole, `${name} ${run.name}`).toEqual(run.stats_variants.pairwise_whole);
      expect(got[i].blocks, `${name} ${run.name}`).toEqual(run.stats_variants.pairwise_blocks8192);
    });
  }
  await page.close();
}, 120_000);

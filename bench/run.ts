/**
 * `npm run bench [-- filter...]`: runs every benchmark family (or those whose
 * family or name contains a filter word), prints a table and writes
 * bench/results.json. Speed goals live here, never in timed tests.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCases, type BenchCase } from './harness';

const modules: Record<string, () => Promise<{ cases: BenchCase[] }>> = {
  nms: () => import('./nms.bench'),
  losses: () => import('./losses.bench'),
  'coco-mask': () => import('./coco-mask.bench'),
  roi: () => import('./roi.bench'),
  cocoeval: () => import('./cocoeval.bench'),
  pool: () => import('./pool.bench'),
  conv: () => import('./conv.bench'),
};

const filters = process.argv.slice(2).map((f) => f.toLowerCase());
const selected: BenchCase[] = [];
for (const [family, load] of Object.entries(modules)) {
  if (filters.length && !filters.some((f) => family.includes(f))) continue;
  selected.push(...(await load()).cases);
}

console.log(`visionops benchmarks on ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ${new Date().toISOString()}`);
const results = await runCases(selected);
// Run from the package root by `npm run bench`, which bundles this file first: under a
// TypeScript loader (tsx) V8 guards every typed-array access against detached buffers,
// which costs our kernels 10-15%.
const out = path.resolve('bench', filters.length ? `results.${filters.join('-')}.json` : 'results.json');
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, results }, null, 1),
);
console.log(`wrote ${out}`);

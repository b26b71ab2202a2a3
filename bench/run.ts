/**
 * `npm run bench [-- filter...]`: runs every benchmark family (or those whose
 * family or name contains a filter word), prints a table and writes
 * bench/results.json. Speed goals live here, never in timed tests.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
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
const out = fileURLToPath(new URL(filters.length ? `./results.${filters.join('-')}.json` : './results.json', import.meta.url));
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, results }, null, 1),
);
console.log(`wrote ${out}`);

/**
 * End to end in a real browser: Debian's headless Chromium (driven by
 * playwright-core, never a downloaded browser) loads the built ESM bundle
 * dist/index.js from a local server, creates the WebGPU backend from
 * navigator.gpu (SwiftShader on CPU-only machines) and checks conv2d and
 * roiAlign on the GPU against the CPU ops in the same page.
 *
 * dist/ is built (npx tsup) when it is missing or older than src/. Without
 * /usr/bin/chromium, or without WebGPU in it, the test is skipped with the
 * reason, unless VISIONOPS_REQUIRE_WEBGPU=1 (CI), where it fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';

const ROOT = resolve(__dirname, '../..');
const DIST = join(ROOT, 'dist');
const CHROMIUM = process.env.VISIONOPS_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE = process.env.VISIONOPS_REQUIRE_WEBGPU === '1';

/** Flags verified to give WebGPU on SwiftShader in headless Chromium 156 (see docs/webgpu.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

function ensureDist(): void {
  const entry = join(DIST, 'index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  try {
    execFileSync('npx', ['tsup'], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
  } catch (e) {
    throw new Error(`dist/index.js is missing or stale and \`npx tsup\` failed: ${(e as Error).message}`);
  }
  if (!existsSync(entry)) throw new Error('`npx tsup` ran but dist/index.js is still missing');
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json', '.html': 'text/html' };

function serve(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>visionops webgpu e2e</title>');
      return;
    }
    const file = resolve(DIST, `.${path.replace(/^\/dist/, '')}`);
    if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    ok({ server, origin: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  }));
}

/**
 * Runs in the page: the max |GPU - CPU| of each op, scaled by the op's bound
 * (conv: the float32 summation bound 2 (K + 2) u sum|x||w|; roiAlign:
 * 1e-5 (max|x| + |y|)), so each value must be <= 1.
 */
const PAGE_SCRIPT = `(async () => {
  if (!navigator.gpu) return { unavailable: 'navigator.gpu is undefined' };
  const vo = await import('/dist/index.js');
  let gpu;
  try {
    gpu = await vo.createWebGPUBackend({ onFallback: false });
  } catch (e) {
    return { unavailable: String(e && e.message) };
  }
  const g = new vo.Generator(7);
  const ratio = (got, exp, tol) => { let r = 0; for (let i = 0; i < exp.numel; i++) r = Math.max(r, Math.abs(got.data[i] - exp.data[i]) / tol(i)); return r; };
  const absT = (t) => vo.abs(t);
  const convCase = async (xShape, wShape, opts) => {
    const x = vo.randn(xShape, { generator: g });
    const w = vo.randn(wShape, { generator: g });
    const exp = vo.conv2d(x, w, opts);
    const got = await (await gpu.conv2d(gpu.upload(x), gpu.upload(w), opts)).read();
    const s = vo.conv2d(absT(x), absT(w), opts).data;
    const k = wShape[1] * wShape[2] * wShape[3];
    return { shape: got.shape, expShape: exp.shape, ratio: ratio(got, exp, (i) => 2 * (k + 2) * 2 ** -24 * s[i] + 1e-30) };
  };
  const conv = await convCase([2, 8, 17, 15], [32, 8, 3, 3], { padding: 1, stride: [1, 2] });
  const depthwise = await convCase([1, 6, 12, 12], [6, 1, 3, 3], { padding: 2, dilation: 2, groups: 6 });
  const x = vo.randn([2, 4, 16, 20], { generator: g });
  const boxes = vo.tensor([[0, 1.5, 2.25, 12.5, 9.75], [1, 0, 0, 19.9, 15.9], [1, 5, 6, 5.5, 6.5], [0, -3, -2, 4, 3]]);
  const opts = { outputSize: [3, 4], spatialScale: 0.75, samplingRatio: -1, aligned: true };
  const exp = vo.roiAlign(x, boxes, opts);
  const got = await (await gpu.roiAlign(gpu.upload(x), boxes, opts)).read();
  let maxAbs = 0; for (const v of x.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const roi = { shape: got.shape, expShape: exp.shape, ratio: ratio(got, exp, (i) => 1e-5 * (maxAbs + Math.abs(exp.data[i]))) };
  const adapter = await navigator.gpu.requestAdapter();
  return { conv, depthwise, roi, adapter: adapter ? adapter.info.vendor + ' ' + adapter.info.architecture : '?', memory: gpu.memory() };
})()`;

let browser: Browser | null = null;
let server: Server | null = null;
let origin = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  ensureDist();
  ({ server, origin } = await serve());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

it('conv2d and roiAlign on WebGPU in headless Chromium match the CPU path in the same page', async (ctx) => {
  if (!browser) {
    if (REQUIRE) throw new Error(`VISIONOPS_REQUIRE_WEBGPU=1 but ${CHROMIUM} does not exist`);
    ctx.skip(`WebGPU browser test skipped: ${CHROMIUM} not found`);
    return;
  }
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/`);
  const r = (await page.evaluate(PAGE_SCRIPT)) as Record<string, { shape: number[]; expShape: number[]; ratio: number } | string> & { unavailable?: string };
  await page.close();
  expect(errors).toEqual([]);
  if (r.unavailable) {
    if (REQUIRE) throw new Error(`VISIONOPS_REQUIRE_WEBGPU=1 but Chromium has no WebGPU: ${r.unavailable}`);
    ctx.skip(`WebGPU unavailable in Chromium: ${r.unavailable}`);
    return;
  }
  for (const name of ['conv', 'depthwise', 'roi']) {
    const c = r[name] as { shape: number[]; expShape: number[]; ratio: number };
    expect(c.shape, name).toEqual(c.expShape);
    expect(c.ratio, `${name}: max error / tolerance`).toBeLessThanOrEqual(1);
  }
  expect(r.adapter).toMatch(/\S/);
}, 240_000);

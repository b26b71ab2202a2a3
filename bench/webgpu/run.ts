/**
 * WebGPU benchmark: the CPU benchmarks' conv, pool, interpolate and roiAlign
 * sizes on the visionops WebGPU backend, with TensorFlow.js's webgpu backend
 * as the peer in the same run and on the same device (NHWC, its native
 * layout, for tfjs; NCHW for visionops). Node + Dawn (`webgpu` package).
 *
 *   VK_ICD_FILENAMES=... npm run bench:webgpu -- [filter] [--runs N] [--json out.json] [--check]
 *
 * `--check` also compares each visionops result with the CPU op (max error
 * over max |expected|, which must stay below 1e-4), for new drivers and cards.
 * Each implementation: one untimed warm-up call (shader compilation), then N
 * timed calls (default 3), alternating between the row's implementations so
 * that changing machine load affects both alike; median reported. Every timed
 * call ends by reading the result back to the host (both implementations), so
 * the time is the full round trip of one op on inputs already on the device. GFLOP/s for the convs
 * counts 2 per multiply-add of the direct algorithm. On SwiftShader the numbers
 * only rank implementations; real-GPU runs: scripts/gpu/ and bench/GPU.md.
 */
import { writeFileSync } from 'node:fs';
import { CONV_SPECS, convFlops, convOutShape, type ConvSpec } from '../conv-specs';
import type * as TF from '@tensorflow/tfjs-core';
import {
  conv2d,
  convTranspose2d,
  createWebGPUBackend,
  Generator,
  interpolate,
  maxPool2d,
  randn,
  roiAlign,
  tensor,
  type GPUTensor,
  type Tensor,
  type WebGPUBackend,
} from '../../src';

interface Impl {
  name: string;
  /** Prepares device-resident inputs, returns the timed call (resolves once the result is on the host). */
  prepare(): Promise<() => Promise<void>>;
  /** With --check: the relative error of one result against the CPU op. */
  check?(): Promise<number>;
}

interface Row {
  name: string;
  flops?: number;
  impls: Impl[];
}

interface Result {
  row: string;
  impl: string;
  medianMs?: number;
  gflops?: number;
  /** max |gpu - cpu| / max |cpu| (with --check). */
  relError?: number;
  error?: string;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt('--runs') ?? 3);
const JSON_OUT = opt('--json');
const CHECK = args.includes('--check');
const FILTER = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));

// The Vulkan loader reads this when Dawn creates its instance.
if (!process.env.VK_ICD_FILENAMES && !process.env.VISIONOPS_NATIVE_VULKAN) {
  process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
}
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
// Kept in scope for the whole run: Dawn tears down its instance when this object is collected.
const instance = create([]);
const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error(`no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`);
const adapterName = `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim();
const device = await adapter.requestDevice({
  requiredLimits: {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
  },
});
const gpu: WebGPUBackend = await createWebGPUBackend({ device, onFallback: false });

// tfjs-webgpu looks for navigator.gpu; Node 20 has no navigator.
(globalThis as { navigator?: unknown }).navigator ??= { gpu: instance, userAgent: 'node' };
let tfPromise: Promise<typeof TF> | null = null;
function tfWebGPU(): Promise<typeof TF> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs webgpu backend failed to initialise');
    await tf.ready();
    return tf;
  })();
  return tfPromise;
}

function nhwc(tf: typeof TF, t: Tensor, perm = [0, 2, 3, 1]): TF.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.contiguous().data as Float32Array, t.shape as [number, number, number, number]), perm) as TF.Tensor4D);
}

function relError(got: Tensor, exp: Tensor): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < exp.numel; i++) {
    err = Math.max(err, Math.abs(got.data[i] - exp.data[i]));
    scale = Math.max(scale, Math.abs(exp.data[i]));
  }
  return err / Math.max(scale, 1e-30);
}

/** Our timed call: run the op on device inputs, read the result back, free it. `cpu` gives the expected first output. */
function ours(name: string, inputs: () => Tensor[], run: (xs: GPUTensor[]) => Promise<GPUTensor | GPUTensor[]>, cpu: (xs: Tensor[]) => Tensor): Impl {
  return {
    name,
    async check() {
      const xs = inputs();
      const ys = xs.map((t) => gpu.upload(t));
      const out = await run(ys);
      const list = Array.isArray(out) ? out : [out];
      const got = await list[0].read();
      for (const t of [...ys, ...list]) t.dispose();
      return relError(got, cpu(xs));
    },
    async prepare() {
      const xs = inputs().map((t) => gpu.upload(t));
      return async () => {
        const out = await run(xs);
        const list = Array.isArray(out) ? out : [out];
        await Promise.all(list.map((o) => o.read()));
        for (const o of list) o.dispose();
      };
    },
  };
}

function peer(name: string, run: (tf: typeof TF) => Promise<() => TF.Tensor | TF.Tensor[]>): Impl {
  return {
    name,
    async prepare() {
      const tf = await tfWebGPU();
      const call = await run(tf);
      return async () => {
        const out = call();
        const list = Array.isArray(out) ? out : [out];
        await Promise.all(list.map((o) => o.data()));
        tf.dispose(list);
      };
    },
  };
}

function convRow(s: ConvSpec, seed: number): Row {
  let data: { x: Tensor; w: Tensor } | null = null;
  const get = () => {
    const g = new Generator(seed);
    data ??= { x: randn(s.x, { generator: g }), w: randn(s.w, { generator: g }) };
    return data;
  };
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]];
  const opts = { stride: s.stride, padding: s.pad, dilation: s.dilation, groups: s.groups };
  return {
    name: s.name,
    flops: convFlops(s),
    impls: [
      ours(
        'visionops-webgpu',
        () => [get().x, get().w],
        ([x, w]) => (s.transposed ? gpu.convTranspose2d(x, w, { stride: s.stride, padding: s.pad }) : gpu.conv2d(x, w, opts)),
        ([x, w]) => (s.transposed ? convTranspose2d(x, w, { stride: s.stride, padding: s.pad }) : conv2d(x, w, opts)),
      ),
      peer('tfjs-webgpu', async (tf) => {
        const x = nhwc(tf, get().x);
        // conv2d filter [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]; transposed [kh, kw, out, in]
        const w = nhwc(tf, get().w, s.transposed ? [2, 3, 1, 0] : s.groups > 1 ? [2, 3, 0, 1] : [2, 3, 1, 0]);
        const [n, c, oh, ow] = convOutShape(s);
        if (s.transposed) return () => tf.conv2dTranspose(x, w, [n, oh, ow, c], s.stride, s.pad);
        if (s.groups > 1) return () => tf.depthwiseConv2d(x, w, s.stride, pads, 'NHWC', s.dilation);
        return () => tf.conv2d(x, w, s.stride, pads, 'NHWC', s.dilation);
      }),
    ],
  };
}

function poolRow(): Row {
  let x: Tensor | null = null;
  const get = () => (x ??= randn([8, 64, 112, 112], { generator: new Generator(11) }));
  return {
    name: 'maxPool2d 3x3 s2 p1 + indices, 8x64x112x112',
    impls: [
      ours(
        'visionops-webgpu',
        () => [get()],
        async ([t]) => {
          const r = await gpu.maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1, returnIndices: true });
          return [r.output, r.indices];
        },
        ([t]) => maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1 }),
      ),
      // tfjs has no explicit padding here; 'same' gives the same 56x56 output and work.
      peer('tfjs-webgpu maxPoolWithArgmax', async (tf) => {
        const t = nhwc(tf, get());
        return () => {
          const r = tf.maxPoolWithArgmax(t, 3, 2, 'same');
          return [r.result, r.indexes];
        };
      }),
    ],
  };
}

function resizeRow(mode: 'bilinear' | 'bicubic'): Row {
  let x: Tensor | null = null;
  const get = () => (x ??= randn([1, 21, 64, 64], { generator: new Generator(12) }));
  const opts = { size: [512, 512], mode, alignCorners: false };
  const impls: Impl[] = [ours('visionops-webgpu', () => [get()], ([t]) => gpu.interpolate(t, opts), ([t]) => interpolate(t, opts))];
  // tfjs has no bicubic resize; bilinear with halfPixelCenters is torch's alignCorners=false mapping.
  if (mode === 'bilinear') impls.push(peer('tfjs-webgpu resizeBilinear', async (tf) => {
    const t = nhwc(tf, get());
    return () => tf.image.resizeBilinear(t, [512, 512], false, true);
  }));
  return { name: `interpolate ${mode} 1x21x64x64 -> 512x512`, impls };
}

function roiRow(): Row {
  const K = 1000;
  const [N, C, H, W] = [1, 256, 50, 68];
  const scale = 1 / 16;
  const opts = { outputSize: 7, spatialScale: scale, samplingRatio: 2 };
  let data: { x: Tensor; rois: Tensor; norm: Float32Array } | null = null;
  const get = () => {
    if (data) return data;
    const g = new Generator(13);
    const rois = new Float32Array(5 * K);
    const norm = new Float32Array(4 * K);
    for (let k = 0; k < K; k++) {
      const x1 = g.random() * W * 12;
      const y1 = g.random() * H * 12;
      const x2 = x1 + 16 + g.random() * W * 4;
      const y2 = y1 + 16 + g.random() * H * 4;
      rois.set([0, x1, y1, x2, y2], 5 * k);
      // cropAndResize boxes: normalised [y1, x1, y2, x2] on the feature map.
      norm.set([(y1 * scale) / (H - 1), (x1 * scale) / (W - 1), (y2 * scale) / (H - 1), (x2 * scale) / (W - 1)], 4 * k);
    }
    data = { x: randn([N, C, H, W], { generator: g }), rois: tensor(rois, [K, 5]), norm };
    return data;
  };
  return {
    name: 'roiAlign 1000 boxes 7x7 (sampling 2), 1x256x50x68',
    impls: [
      ours(
        'visionops-webgpu',
        () => [get().x],
        ([x]) => gpu.roiAlign(x, get().rois, opts),
        ([x]) => roiAlign(x, get().rois, opts),
      ),
      // tfjs has no roi_align; cropAndResize to 7x7 (one bilinear sample per bin) is its nearest op.
      peer('tfjs-webgpu cropAndResize 7x7', async (tf) => {
        const image = nhwc(tf, get().x);
        const boxes = tf.tensor2d(get().norm, [K, 4]);
        const boxInd = tf.tensor1d(new Int32Array(K), 'int32');
        return () => tf.image.cropAndResize(image, boxes, boxInd, [7, 7], 'bilinear');
      }),
    ],
  };
}

const ROWS: Row[] = [...CONV_SPECS.map((s, i) => convRow(s, i + 1)), poolRow(), resizeRow('bilinear'), resizeRow('bicubic'), roiRow()];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const results: Result[] = [];
console.log(`# WebGPU benchmark on ${adapterName} (${RUNS} timed runs, median)\n`);
console.log(`| row | implementation | ms | GFLOP/s |${CHECK ? ' rel. error vs CPU |' : ''}\n|---|---|---:|---:|${CHECK ? '---:|' : ''}`);
for (const row of ROWS) {
  if (FILTER && !row.name.toLowerCase().includes(FILTER.toLowerCase())) continue;
  const rowResults: Result[] = row.impls.map((impl) => ({ row: row.name, impl: impl.name }));
  const calls: ((() => Promise<void>) | null)[] = [];
  const times: number[][] = row.impls.map(() => []);
  for (const [k, impl] of row.impls.entries()) {
    try {
      const call = await impl.prepare();
      await call();
      calls.push(call);
    } catch (e) {
      rowResults[k].error = (e as Error).message.split('\n')[0];
      calls.push(null);
    }
  }
  for (let i = 0; i < RUNS; i++) {
    for (const [k, call] of calls.entries()) {
      if (!call) continue;
      try {
        const t0 = performance.now();
        await call();
        times[k].push(performance.now() - t0);
      } catch (e) {
        rowResults[k].error = (e as Error).message.split('\n')[0];
        calls[k] = null;
      }
    }
  }
  for (const [k, impl] of row.impls.entries()) {
    const r = rowResults[k];
    if (!r.error) {
      r.medianMs = median(times[k]);
      if (row.flops) r.gflops = row.flops / (r.medianMs * 1e6);
      try {
        if (CHECK && impl.check) r.relError = await impl.check();
      } catch (e) {
        r.error = (e as Error).message.split('\n')[0];
      }
    }
    results.push(r);
    const cell = r.error ? `error: ${r.error}` : r.medianMs!.toFixed(1);
    const check = CHECK ? ` ${r.relError === undefined ? '' : r.relError.toExponential(1) + (r.relError > 1e-4 ? ' MISMATCH' : '')} |` : '';
    console.log(`| ${row.name} | ${impl.name} | ${cell} | ${r.gflops ? r.gflops.toFixed(2) : ''} |${check}`);
  }
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ adapter: adapterName, runs: RUNS, date: new Date().toISOString(), results }, null, 2));
gpu.dispose();
device.destroy();

/**
 * GPU roiAlign / roiPool / nms / losses against the CPU kernels on generated inputs.
 * Tolerances: roiPool is a max over the CPU's windows, exact. roiAlign samples
 * at float32 positions (WGSL division may move a sample by an ulp) and sums in
 * float32: 1e-5 (max|x| + |y|). nms: the same kept list (random continuous
 * boxes, so no IoU lies within ulps of the threshold; thresholds below 1e-30 in
 * magnitude are left out, as SwiftShader flushes denormals). Losses: float32
 * transcendental functions, 1e-5 (1 + |y|) per element; reduced: 1e-5 sum|loss|.
 */
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { binaryCrossEntropyWithLogits, sigmoidFocalLoss } from '../src/ops/losses';
import { nms } from '../src/ops/nms';
import { roiAlign, roiPool } from '../src/ops/roi';
import { Generator, rand, randn, Tensor } from '../src/tensor';
import type { WebGPUBackend } from '../src/backends/webgpu';
import { describeGPU, recordBindingSizes, testBackend } from './helpers/webgpu';

let gpu: WebGPUBackend;
let tiny: WebGPUBackend;
/** 1 KiB bindings (768 usable bytes): below most feature maps and images here, so the RoI ops split over channel blocks. */
let cramped: WebGPUBackend;
beforeAll(async () => {
  gpu = await testBackend();
  tiny = await testBackend({ maxBindingBytes: 4096, maxWorkgroupsPerDimension: 2 });
  cramped = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
});

/** The backend a roi case runs on: the default one, or a capped one that splits (its seed picks which). */
function roiBackend(c: { small: boolean; seed: number }): WebGPUBackend {
  return !c.small ? gpu : c.seed % 2 === 0 ? cramped : tiny;
}

function rois(g: Generator, k: number, n: number, h: number, w: number, scale: number): Tensor {
  const d = new Float32Array(5 * k);
  for (let i = 0; i < k; i++) {
    const x1 = (g.random() * 1.4 - 0.2) * w / scale;
    const y1 = (g.random() * 1.4 - 0.2) * h / scale;
    d.set([Math.floor(g.random() * n), x1, y1, x1 + (g.random() * w) / scale, y1 + (g.random() * h) / scale], 5 * i);
  }
  return new Tensor(d, [k, 5], 'float32');
}

const roiCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  // Up to 10 channels: roiAlign threads take 8.
  c: fc.integer({ min: 1, max: 10 }),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.integer({ min: 1, max: 12 }),
  k: fc.integer({ min: 0, max: 12 }),
  ph: fc.integer({ min: 1, max: 4 }),
  pw: fc.integer({ min: 1, max: 4 }),
  scale: fc.constantFrom(1, 0.5, 0.25),
  sampling: fc.integer({ min: -1, max: 3 }),
  aligned: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1e9 }),
  small: fc.boolean(),
});

await describeGPU('webgpu roi parity', () => {
  it('roiAlign matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(roiCase, async (c) => {
        const g = new Generator(c.seed);
        const x = randn([c.n, c.c, c.h, c.w], { generator: g });
        const boxes = rois(g, c.k, c.n, c.h, c.w, c.scale);
        const opts = { outputSize: [c.ph, c.pw] as [number, number], spatialScale: c.scale, samplingRatio: c.sampling, aligned: c.aligned };
        let exp: Tensor;
        try {
          exp = roiAlign(x, boxes, opts);
        } catch (e) {
          await expect(gpu.roiAlign(x, boxes, opts)).rejects.toThrow((e as Error).message);
          return;
        }
        const b = roiBackend(c);
        const got = await (await b.roiAlign(b.upload(x), c.small ? b.upload(boxes) : boxes, opts)).read();
        expect(got.shape).toEqual(exp.shape);
        const maxAbs = Math.max(0, ...Array.from(x.data, Math.abs));
        for (let i = 0; i < exp.numel; i++) expect(Math.abs(got.data[i] - exp.data[i])).toBeLessThanOrEqual(1e-5 * (maxAbs + Math.abs(exp.data[i])));
      }),
      { numRuns: 50 },
    );
  });

  it('roiPool matches the CPU exactly', async () => {
    await fc.assert(
      fc.asyncProperty(roiCase, async (c) => {
        const g = new Generator(c.seed);
        const x = randn([c.n, c.c, c.h, c.w], { generator: g });
        const boxes = rois(g, c.k, c.n, c.h, c.w, c.scale);
        const opts = { outputSize: [c.ph, c.pw] as [number, number], spatialScale: c.scale };
        const exp = roiPool(x, boxes, opts);
        const got = await (await roiBackend(c).roiPool(x, boxes, opts)).read();
        expect(Array.from(got.data)).toEqual(Array.from(exp.data));
      }),
      { numRuns: 50 },
    );
  });

  it('splits the feature map over images and channel blocks on capped bindings', async () => {
    // 2 x 5 x 9 x 10 floats: each image (450 floats) is above the 192 floats of one cramped binding, a plane (90) is not;
    // a 200-float row is, and is refused.
    const g = new Generator(7);
    const x = randn([2, 5, 9, 10], { generator: g });
    const boxes = rois(g, 9, 2, 9, 10, 1);
    for (const [op, cpu] of [['roiAlign', roiAlign], ['roiPool', roiPool]] as const) {
      const opts = { outputSize: [3, 4] as [number, number], spatialScale: 1, samplingRatio: 2 };
      const got = await (await cramped[op](x, boxes, opts)).read();
      const exp = cpu(x, boxes, opts);
      for (let i = 0; i < exp.numel; i++) expect(Math.abs(got.data[i] - exp.data[i]), `${op} ${i}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(exp.data[i])));
    }
    await expect(cramped.roiAlign(randn([1, 2, 1, 200]), new Tensor(new Float32Array([0, 0, 0, 4, 4]), [1, 5], 'float32'), { outputSize: 2 })).rejects.toThrow(/row of a channel plane.*maxStorageBufferBindingSize/);
    // A 150-wide row fits; one roi's 151 column weights (8 bytes each) do not.
    const wide = new Tensor(new Float32Array([0, 0, 0, 150, 1]), [1, 5], 'float32');
    await expect(cramped.roiAlign(randn([1, 1, 1, 150]), wide, { outputSize: 1 })).rejects.toThrow(/roi's sampling weights.*maxStorageBufferBindingSize/);
  });

  it('runs planes several times a binding in bands of rows, no binding above the limit', async () => {
    // 30 x 20 planes (600 floats) against 192-float bindings: bands of 9 rows; rois reach past every edge.
    const b = await testBackend({ maxBindingBytes: 1024, maxWorkgroupsPerDimension: 2 });
    const bound = recordBindingSizes(b);
    const g = new Generator(21);
    const x = randn([2, 3, 30, 20], { generator: g });
    const boxes = rois(g, 14, 2, 30, 20, 1);
    const alignOpts = [
      { outputSize: [5, 3] as [number, number], spatialScale: 1, samplingRatio: 2, aligned: false },
      { outputSize: [4, 4] as [number, number], spatialScale: 0.5, samplingRatio: -1, aligned: true },
    ];
    for (const opts of alignOpts) {
      const got = await (await b.roiAlign(x, boxes, opts)).read();
      const exp = roiAlign(x, boxes, opts);
      const maxAbs = Math.max(...Array.from(x.data, Math.abs));
      for (let i = 0; i < exp.numel; i++) expect(Math.abs(got.data[i] - exp.data[i]), `roiAlign ${i}`).toBeLessThanOrEqual(1e-5 * (maxAbs + Math.abs(exp.data[i])));
    }
    for (const scale of [1, 0.5]) {
      const opts = { outputSize: [3, 4] as [number, number], spatialScale: scale };
      expect(Array.from((await (await b.roiPool(x, boxes, opts)).read()).data)).toEqual(Array.from(roiPool(x, boxes, opts).data));
    }
    expect(Math.max(...bound)).toBeLessThanOrEqual(1024);
  });

  it('roiAlign accepts per-image box lists and rejects what the CPU rejects', async () => {
    const x = randn([2, 3, 8, 8]);
    const list = [rand([3, 4]).data, rand([2, 4]).data].map((d) => new Tensor(Float32Array.from(d, (v) => v * 6), [d.length / 4, 4], 'float32'));
    const opts = { outputSize: 2, samplingRatio: 2 };
    const got = await (await gpu.roiAlign(x, list, opts)).read();
    const exp = roiAlign(x, list, opts);
    for (let i = 0; i < exp.numel; i++) expect(Math.abs(got.data[i] - exp.data[i])).toBeLessThan(1e-5);
    const bad = new Tensor(new Float32Array([5, 0, 0, 1, 1]), [1, 5], 'float32');
    expect(() => roiAlign(x, bad, opts)).toThrow();
    await expect(gpu.roiAlign(x, bad, opts)).rejects.toThrow(/batch|index/i);
  });
});

/** `n` random boxes (corners in [0, extent), sides up to 30) and scores, with a tie. */
function nmsInputs(n: number, extent: number, seed: number): { boxes: Tensor; scores: Tensor } {
  const g = new Generator(seed);
  const d = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = g.random() * extent;
    const y = g.random() * extent;
    d.set([x, y, x + g.random() * 30, y + g.random() * 30], 4 * i);
  }
  const scores = rand([n], { generator: g });
  if (n > 3) (scores.data as Float32Array)[3] = scores.data[1];
  return { boxes: new Tensor(d, [n, 4], 'float32'), scores };
}

await describeGPU('webgpu nms parity', () => {
  it('keeps the same boxes as the CPU nms', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.double({ min: -0.1, max: 1, noNaN: true }).filter((t) => t === 0 || Math.abs(t) > 1e-30), fc.integer({ min: 1, max: 1e9 }), fc.boolean(), async (n, thr, seed, small) => {
        const { boxes, scores } = nmsInputs(n, 100, seed);
        // The capped backends hold 48 (1 KiB) or 240 (4 KiB) boxes and 192 or 960 mask words per binding:
        // the box list and the mask are bound by ranges, and the mask is read back in many chunks.
        const b = !small ? gpu : seed % 2 === 0 ? cramped : tiny;
        const got = await b.nms(b.upload(boxes), scores, thr);
        expect(Array.from(got.data)).toEqual(Array.from(nms(boxes, scores, thr).data));
      }),
      { numRuns: 30 },
    );
  });

  it('streams a mask hundreds of bindings large in chunks, as the default backend and the CPU', async () => {
    // 3000 boxes: 12 bindings of boxes and about 300 of mask on the 4 KiB backend, a chunk of about 10 rows read back at a time.
    for (const extent of [300, 3000]) {
      const { boxes, scores } = nmsInputs(3000, extent, extent);
      const exp = Array.from(nms(boxes, scores, 0.5).data);
      expect(Array.from((await tiny.nms(boxes, scores, 0.5)).data)).toEqual(exp);
      expect(Array.from((await gpu.nms(boxes, scores, 0.5)).data)).toEqual(exp);
    }
  });
});

await describeGPU('webgpu loss parity', () => {
  it('sigmoidFocalLoss and binaryCrossEntropyWithLogits match the CPU for every reduction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('none', 'mean', 'sum'),
        fc.constantFrom(-1, 0, 0.25, 1),
        fc.constantFrom(0, 0.5, 2),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e9 }),
        async (shape, reduction, alpha, gamma, focal, seed) => {
          const g = new Generator(seed);
          const x = randn(shape, { generator: g });
          (x.data as Float32Array).forEach((v, i) => ((x.data as Float32Array)[i] = v * 6));
          const t = new Tensor(Float32Array.from(rand(shape, { generator: g }).data, (v) => (v < 0.3 ? 1 : v < 0.4 ? 0.5 : 0)), shape, 'float32');
          const exp = focal ? sigmoidFocalLoss(x, t, { alpha, gamma, reduction }) : binaryCrossEntropyWithLogits(x, t, { reduction });
          const got = await (focal ? gpu.sigmoidFocalLoss(x, t, { alpha, gamma, reduction }) : gpu.binaryCrossEntropyWithLogits(x, t, { reduction })).then((r) => r.read());
          expect(got.shape).toEqual(exp.shape);
          const perElem = focal ? sigmoidFocalLoss(x, t, { alpha, gamma }) : binaryCrossEntropyWithLogits(x, t, { reduction: 'none' });
          const absSum = Array.from(perElem.data, Math.abs).reduce((a, v) => a + v, 0);
          for (let i = 0; i < exp.numel; i++) {
            const tol = reduction === 'none' ? 1e-5 * (1 + Math.abs(exp.data[i])) : 1e-5 * (1 + absSum);
            expect(Math.abs(got.data[i] - exp.data[i])).toBeLessThanOrEqual(tol);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects what the CPU rejects and runs weighted BCE on the CPU', async () => {
    const x = randn([2, 3]);
    await expect(gpu.sigmoidFocalLoss(x, randn([3, 2]))).rejects.toThrow(/must have the shape/);
    await expect(gpu.sigmoidFocalLoss(x, x, { gamma: -1 })).rejects.toThrow(/gamma/);
    const w = rand([3]);
    const got = await (await gpu.binaryCrossEntropyWithLogits(x, x, { weight: w })).read();
    expect(got.data[0]).toBeCloseTo(binaryCrossEntropyWithLogits(x, x, { weight: w }).data[0], 5);
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchedNms,
  batchedSoftNms,
  boxIou,
  nms,
  nmsFromMask,
  nmsSortOrder,
  softNms,
  tensor,
  Tensor,
  VisionOpsError,
  type SoftNmsOptions,
  type SoftNmsResult,
} from '../src';
import { expectClose, expectEqual, loadFixture } from './helpers/fixtures';
import { hasTorch, noTorchReason, TorchError, TorchWorker } from './helpers/torch';

type Args = Record<string, unknown>;

const softOpts = (a: Args): SoftNmsOptions => ({
  method: a.method as SoftNmsOptions['method'],
  iouThreshold: a.iou_threshold as number | undefined,
  sigma: a.sigma as number | undefined,
  scoreThreshold: a.score_threshold as number | undefined,
  boxConvention: a.box_convention as SoftNmsOptions['boxConvention'],
});

const OPS: Record<string, (a: Args) => Tensor | SoftNmsResult> = {
  nms: (a) => nms(a.boxes as Tensor, a.scores as Tensor, a.iou_threshold as number),
  batched_nms: (a) => batchedNms(a.boxes as Tensor, a.scores as Tensor, a.idxs as Tensor, a.iou_threshold as number),
  soft_nms: (a) => softNms(a.boxes as Tensor, a.scores as Tensor, softOpts(a)),
  batched_soft_nms: (a) => batchedSoftNms(a.boxes as Tensor, a.scores as Tensor, a.idxs as Tensor, softOpts(a)),
};

/**
 * Hard NMS must match exactly (indices). Soft-NMS scores are compared to a float64 Python
 * reference: both compute the same float64 expressions, but Math.exp and libm exp may
 * differ in the last bit, and repeated rescoring carries that along.
 */
function compare(op: string, got: Tensor | SoftNmsResult, expected: Tensor | SoftNmsResult): void {
  if (got instanceof Tensor) {
    expectEqual(got, expected as Tensor, op);
    expect(got.dtype).toBe('int32');
    return;
  }
  const e = expected as SoftNmsResult;
  expectEqual(got.keep, e.keep, `${op} keep`);
  expect(got.scores.dtype).toBe(e.scores.dtype);
  expectClose(got.scores, e.scores, { rtol: 1e-12, atol: 1e-15 }, `${op} scores`);
}

interface NmsCase {
  op: string;
  args: Args;
  expected?: Tensor | SoftNmsResult;
  error?: string;
}

describe('NMS vs torchvision / reference fixtures', () => {
  const { cases } = loadFixture<NmsCase>('nms');
  it.each(cases.map((c, i) => [`${i} ${c.op}`, c] as const))('%s', (_, c) => {
    if (c.error) expect(() => OPS[c.op](c.args)).toThrow(VisionOpsError);
    else compare(c.op, OPS[c.op](c.args), c.expected!);
  });
});

// ---------------------------------------------------------------------------
// Naive references, written from the torchvision kernel and the soft-NMS algorithm
// independently of src/ops/nms.ts.

/** torchvision nms_kernel.cpp: stable descending sort (NaN first), i suppresses later j. */
function naiveNms(boxes: Tensor, scores: Tensor, thr: number): number[] {
  const b = boxes.contiguous().data;
  const s = scores.contiguous().data;
  const r = boxes.dtype === 'float32' ? Math.fround : (v: number) => v;
  const n = s.length;
  const rank = (v: number) => (Number.isNaN(v) ? Infinity : v);
  const order = [...Array(n).keys()].sort((i, j) => {
    const a = rank(s[i]);
    const c = rank(s[j]);
    if (a === c || (Number.isNaN(s[i]) && Number.isNaN(s[j]))) return i - j;
    return a > c ? -1 : 1;
  });
  const area = (i: number) => r(r(b[4 * i + 2] - b[4 * i]) * r(b[4 * i + 3] - b[4 * i + 1]));
  const suppressed = new Array<boolean>(n).fill(false);
  const keep: number[] = [];
  for (let p = 0; p < n; p++) {
    const i = order[p];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let q = p + 1; q < n; q++) {
      const j = order[q];
      if (suppressed[j]) continue;
      const xx1 = b[4 * i] < b[4 * j] ? b[4 * j] : b[4 * i];
      const yy1 = b[4 * i + 1] < b[4 * j + 1] ? b[4 * j + 1] : b[4 * i + 1];
      const xx2 = b[4 * j + 2] < b[4 * i + 2] ? b[4 * j + 2] : b[4 * i + 2];
      const yy2 = b[4 * j + 3] < b[4 * i + 3] ? b[4 * j + 3] : b[4 * i + 3];
      const w0 = r(xx2 - xx1);
      const h0 = r(yy2 - yy1);
      const inter = r((0 < w0 ? w0 : 0) * (0 < h0 ? h0 : 0));
      const ovr = r(inter / r(r(area(i) + area(j)) - inter));
      if (ovr > thr) suppressed[j] = true;
    }
  }
  return keep;
}

/** Soft-NMS, Algorithm 1 with the cpu_soft_nms rules, O(n²) rescan each round. */
function naiveSoftNms(boxes: Tensor, scores: Tensor, o: Required<SoftNmsOptions>): { keep: number[]; scores: number[] } {
  const b = Array.from(boxes.contiguous().data);
  const s = Array.from(scores.contiguous().data);
  const plus = o.boxConvention === 'pixel_plus1' ? 1 : 0;
  const area = (i: number) => (b[4 * i + 2] - b[4 * i] + plus) * (b[4 * i + 3] - b[4 * i + 1] + plus);
  const alive = new Set(s.map((_, i) => i));
  const keep: number[] = [];
  const kept: number[] = [];
  while (alive.size) {
    let t = -1;
    for (const i of alive) if (t < 0 || s[i] > s[t] || (s[i] === s[t] && i < t)) t = i;
    alive.delete(t);
    keep.push(t);
    kept.push(s[t]);
    for (const j of [...alive]) {
      const iw = Math.min(b[4 * t + 2], b[4 * j + 2]) - Math.max(b[4 * t], b[4 * j]) + plus;
      const ih = Math.min(b[4 * t + 3], b[4 * j + 3]) - Math.max(b[4 * t + 1], b[4 * j + 1]) + plus;
      if (!(iw > 0 && ih > 0)) continue;
      const ov = (iw * ih) / (area(t) + area(j) - iw * ih);
      let weight = 1;
      if (o.method === 'linear') weight = ov > o.iouThreshold ? 1 - ov : 1;
      else if (o.method === 'gaussian') weight = Math.exp(-(ov * ov) / o.sigma);
      else if (ov > o.iouThreshold) {
        alive.delete(j);
        continue;
      }
      s[j] *= weight;
      if (s[j] < o.scoreThreshold) alive.delete(j);
    }
  }
  return { keep, scores: kept };
}

// ---------------------------------------------------------------------------
// Generators: random boxes, integer-grid boxes (ties, identical, zero-area, inverted),
// and detector-like clusters.

interface BoxSet {
  boxes: Tensor;
  scores: Tensor;
}

function toSet(rows: number[][], scores: number[], dtype: 'float32' | 'float64'): BoxSet {
  return { boxes: tensor(rows.length ? rows : [], [rows.length, 4], dtype), scores: tensor(scores, [scores.length], dtype) };
}

const gridSet = (dtype: 'float32' | 'float64', maxLen = 40) =>
  fc
    .array(
      fc.tuple(fc.integer({ min: -2, max: 6 }), fc.integer({ min: -2, max: 6 }), fc.integer({ min: -1, max: 5 }), fc.integer({ min: -1, max: 5 }), fc.integer({ min: 0, max: 4 })),
      { maxLength: maxLen },
    )
    .map((a) => toSet(a.map(([x, y, w, h]) => [x, y, x + w, y + h]), a.map((t) => t[4] / 4), dtype));

const randomSet = (dtype: 'float32' | 'float64', maxLen = 60) =>
  fc
    .array(
      fc.tuple(
        fc.double({ min: -20, max: 100, noNaN: true }),
        fc.double({ min: -20, max: 100, noNaN: true }),
        fc.double({ min: 0.01, max: 40, noNaN: true }),
        fc.double({ min: 0.01, max: 40, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
      ),
      { maxLength: maxLen },
    )
    .map((a) => toSet(a.map(([x, y, w, h]) => [x, y, x + w, y + h]), a.map((t) => t[4]), dtype));

/** Clusters of jittered boxes, like a detector's raw output. */
const clusteredSet = (dtype: 'float32' | 'float64', maxLen = 400) =>
  fc.record({ n: fc.integer({ min: 1, max: maxLen }), k: fc.integer({ min: 1, max: 20 }), seed: fc.integer(), ties: fc.boolean(), big: fc.boolean() }).map(({ n, k, seed, ties, big }) => {
    let st = seed >>> 0;
    const rnd = () => ((st = (Math.imul(st, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const centers = Array.from({ length: k }, () => [rnd() * 500, rnd() * 500, 10 + rnd() * 60, 10 + rnd() * 60]);
    const rows: number[][] = [];
    const scores: number[] = [];
    for (let i = 0; i < n; i++) {
      const [cx, cy, w, h] = centers[Math.floor(rnd() * k)];
      const x = cx + (rnd() - 0.5) * 12;
      const y = cy + (rnd() - 0.5) * 12;
      const ww = w * (0.8 + 0.4 * rnd());
      const hh = h * (0.8 + 0.4 * rnd());
      rows.push([x - ww / 2, y - hh / 2, x + ww / 2, y + hh / 2]);
      scores.push(ties ? Math.floor(rnd() * 6) / 6 : rnd());
      // Now and then a box spanning much of the image (the grids' shared list of big boxes).
      if (big && rnd() < 0.02) rows[i] = [rnd() * 100, rnd() * 100, 300 + rnd() * 300, 300 + rnd() * 300];
    }
    return toSet(rows, scores, dtype);
  });

const anySet = fc.oneof(gridSet('float32'), gridSet('float64'), randomSet('float32'), randomSet('float64'), clusteredSet('float32'), clusteredSet('float64'));
const threshold = fc.oneof(fc.constantFrom(0, 0.5, 1, -0.1, -1, NaN), fc.double({ min: 0, max: 1, noNaN: true }));

function list(t: Tensor): number[] {
  return Array.from(t.data);
}

describe('NMS properties', () => {
  it('the grid-pruned NMS equals the plain greedy, on random, grid and clustered boxes', () => {
    fc.assert(
      fc.property(anySet, threshold, ({ boxes, scores }, thr) => {
        expect(list(nms(boxes, scores, thr))).toEqual(naiveNms(boxes, scores, thr));
      }),
      { numRuns: 400 },
    );
  });

  it('equals the plain greedy on large clustered inputs', () => {
    fc.assert(
      fc.property(clusteredSet('float32', 3000), fc.constantFrom(0.3, 0.5, 0.7, 0), ({ boxes, scores }, thr) => {
        expect(list(nms(boxes, scores, thr))).toEqual(naiveNms(boxes, scores, thr));
      }),
      { numRuns: 25 },
    );
  });

  it('keeps a subset sorted by score, pairwise IoU <= threshold, idempotent', () => {
    fc.assert(
      fc.property(anySet, fc.double({ min: 0, max: 1, noNaN: true }), ({ boxes, scores }, thr) => {
        const keep = list(nms(boxes, scores, thr));
        const s = scores.data;
        expect(new Set(keep).size).toBe(keep.length);
        for (let k = 1; k < keep.length; k++) {
          const a = s[keep[k - 1]];
          const c = s[keep[k]];
          expect(a > c || (a === c && keep[k - 1] < keep[k])).toBe(true);
        }
        // Pairwise IoU of kept boxes <= threshold (box_iou evaluates the same float expression
        // as the NMS kernel for NaN-free boxes; NaN is 0/0 of two zero-area boxes).
        const sub = keep.map((i) => [...boxes.data.subarray(4 * i, 4 * i + 4)]);
        const subSet = toSet(sub, keep.map((i) => s[i]), boxes.dtype as 'float32');
        const iou = boxIou(subSet.boxes, subSet.boxes).data;
        for (let a = 0; a < keep.length; a++) {
          for (let c = a + 1; c < keep.length; c++) {
            const v = iou[a * keep.length + c];
            expect(Number.isNaN(v) || v <= thr, `IoU ${v} of kept boxes ${keep[a]}, ${keep[c]}`).toBe(true);
          }
        }
        // Idempotent: NMS over the kept boxes keeps them all.
        expect(naiveNms(subSet.boxes, subSet.scores, thr)).toEqual(keep.map((_, k) => k));
        expect(list(nms(subSet.boxes, subSet.scores, thr))).toEqual(keep.map((_, k) => k));
      }),
      { numRuns: 200 },
    );
  });

  it('is invariant to permuting the input (distinct scores)', () => {
    fc.assert(
      fc.property(randomSet('float64'), fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), ({ boxes, scores }, seed, thr) => {
        const n = scores.shape[0];
        const perm = [...Array(n).keys()];
        let st = seed >>> 0;
        for (let i = n - 1; i > 0; i--) {
          st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
          const j = st % (i + 1);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        fc.pre(new Set(scores.data).size === n);
        const pb = toSet(perm.map((p) => [...boxes.data.subarray(4 * p, 4 * p + 4)]), perm.map((p) => scores.data[p]), 'float64');
        const keep = list(nms(boxes, scores, thr));
        expect(list(nms(pb.boxes, pb.scores, thr)).map((i) => perm[i])).toEqual(keep);
      }),
      { numRuns: 200 },
    );
  });

  it('batchedNms above 1000 boxes equals per-class NMS merged by score', () => {
    fc.assert(
      fc.property(clusteredSet('float32', 1600), fc.integer({ min: 1, max: 12 }), fc.integer(), ({ boxes, scores }, classes, seed) => {
        const n = scores.shape[0];
        fc.pre(n > 1000);
        const idx = Int32Array.from({ length: n }, (_, i) => (Math.imul(i + 1, seed | 1) >>> 7) % classes);
        const got = list(batchedNms(boxes, scores, tensor(idx), 0.5));
        const expected: number[] = [];
        for (let c = 0; c < classes; c++) {
          const members = [...Array(n).keys()].filter((i) => idx[i] === c);
          const sub = toSet(members.map((i) => [...boxes.data.subarray(4 * i, 4 * i + 4)]), members.map((i) => scores.data[i]), 'float32');
          expected.push(...naiveNms(sub.boxes, sub.scores, 0.5).map((k) => members[k]));
        }
        expect([...got].sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
        for (let k = 1; k < got.length; k++) expect(scores.data[got[k - 1]]).toBeGreaterThanOrEqual(scores.data[got[k]]);
      }),
      { numRuns: 20 },
    );
  });

  it('nmsFromMask over a full suppression mask reproduces nms', () => {
    fc.assert(
      fc.property(anySet, fc.double({ min: 0, max: 1, noNaN: true }), ({ boxes, scores }, thr) => {
        const n = scores.shape[0];
        const order = nmsSortOrder(scores.data as Float32Array);
        const cols = Math.max(1, Math.ceil(n / 32));
        const mask = new Uint32Array(n * cols);
        for (let i = 0; i < n; i++) {
          for (let j = i + 1; j < n; j++) {
            const pair = toSet([[...boxes.data.subarray(4 * order[i], 4 * order[i] + 4)], [...boxes.data.subarray(4 * order[j], 4 * order[j] + 4)]], [1, 0], boxes.dtype as 'float32');
            if (naiveNms(pair.boxes, pair.scores, thr).length === 1) mask[i * cols + (j >> 5)] |= 1 << (j & 31);
          }
        }
        expect(list(nmsFromMask(order, mask, cols))).toEqual(list(nms(boxes, scores, thr)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('NMS contracts', () => {
  const b = tensor([
    [0, 0, 1, 1],
    [0, 0, 1, 1],
  ]);
  it('checks shapes, dtypes and lengths', () => {
    expect(() => nms(b, tensor([1]), 0.5)).toThrow(/same number of elements/);
    expect(() => nms(b, tensor([1, 2], [2], 'float64'), 0.5)).toThrow(/same dtype/);
    expect(() => nms(tensor([[0, 0, 1]]), tensor([1]), 0.5)).toThrow(/\[N, 4\]/);
    expect(() => nms(b.to('int32'), tensor([1, 2], [2], 'int32'), 0.5)).toThrow(VisionOpsError);
    expect(() => nms(b, tensor([1, 2]), '0.5' as unknown as number)).toThrow(/iouThreshold/);
    expect(() => batchedNms(b, tensor([1, 2]), tensor([0, 1]), 0.5)).toThrow(/int32/);
    expect(() => batchedNms(b, tensor([1, 2]), tensor([0], [1], 'int32'), 0.5)).toThrow(/one category per box/);
    expect(() => softNms(b, tensor([1, NaN]))).toThrow(/finite/);
    expect(() => softNms(b, tensor([1, 2]), { sigma: 0, method: 'gaussian' })).toThrow(/sigma/);
    expect(() => softNms(b, tensor([1, 2]), { method: 'cubic' as 'linear' })).toThrow(/method/);
    expect(() => nmsFromMask(new Int32Array(40), new Uint32Array(40), 1)).toThrow(/mask/);
  });

  it('NaN scores come first, like torch.sort(descending=True)', () => {
    expect(list(nms(tensor([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]]), tensor([0.5, NaN, 0.9]), 0.5))).toEqual([1, 2, 0]);
  });

  it('scales to 20,000 clustered boxes (the grid path)', () => {
    const rows: number[][] = [];
    const scores: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const c = i % 200;
      const x = (c % 20) * 50 + ((i * 7) % 13);
      const y = Math.floor(c / 20) * 50 + ((i * 11) % 13);
      rows.push([x, y, x + 30, y + 30]);
      scores.push(((i * 7919) % 10007) / 10007);
    }
    const set = toSet(rows, scores, 'float32');
    expect(list(nms(set.boxes, set.scores, 0.5))).toEqual(naiveNms(set.boxes, set.scores, 0.5));
  });
});

describe('Soft-NMS properties', () => {
  const methodArb = fc.constantFrom<'linear' | 'gaussian' | 'hard'>('linear', 'gaussian', 'hard');
  const conventionArb = fc.constantFrom<'continuous' | 'pixel_plus1'>('continuous', 'pixel_plus1');

  it('the heap + grid implementation equals the O(n²) algorithm', () => {
    fc.assert(
      fc.property(
        fc.oneof(gridSet('float64'), randomSet('float32'), clusteredSet('float64', 300)),
        methodArb,
        conventionArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(0.5, 0.1, 2),
        fc.constantFrom(0.001, 0, 0.3, -0.2, -Infinity),
        fc.boolean(),
        ({ boxes, scores: s0 }, method, boxConvention, iouThreshold, sigma, scoreThreshold, negative) => {
          // Negative scores move up under the weights, which takes the eager path.
          const scores = negative ? tensor(Array.from(s0.data, (v) => v - 0.5), [s0.shape[0]], s0.dtype) : s0;
          const o = { method, boxConvention, iouThreshold, sigma, scoreThreshold };
          const got = softNms(boxes, scores, o);
          const ref = naiveSoftNms(boxes, scores, o);
          expect(list(got.keep)).toEqual(ref.keep);
          expectClose(got.scores, tensor(ref.scores, [ref.scores.length], scores.dtype), { rtol: 0, atol: 0 });
        },
      ),
      { numRuns: 400 },
    );
  });

  // Bodla et al.: with the Gaussian penalty exp(-iou²/σ), σ → 0 sends the score of every
  // overlapping box to 0, i.e. hard NMS at threshold 0 (any overlap suppresses). On integer
  // boxes the smallest positive IoU is >= 1/(2·40²), so σ = 1e-12 already underflows exp.
  it('gaussian with sigma -> 0 is hard NMS at threshold 0', () => {
    fc.assert(
      fc.property(gridSet('float64', 60), ({ boxes, scores }) => {
        const s = tensor(Array.from(scores.data, (v) => v + 0.01), [scores.shape[0]], 'float64');
        const got = softNms(boxes, s, { method: 'gaussian', sigma: 1e-12 });
        expect(list(got.keep)).toEqual(list(nms(boxes, s, 0)));
      }),
      { numRuns: 200 },
    );
  });

  // The 'hard' method is exactly greedy NMS (same float64 IoU, same visiting order) when the
  // score threshold removes nothing; the linear method at threshold >= 1 rescales nothing.
  it("'hard' equals nms; linear at threshold 1 keeps every box in score order", () => {
    fc.assert(
      fc.property(fc.oneof(randomSet('float64'), gridSet('float64'), clusteredSet('float64', 300)), fc.double({ min: 0, max: 1, noNaN: true }), ({ boxes, scores }, thr) => {
        const hard = softNms(boxes, scores, { method: 'hard', iouThreshold: thr, scoreThreshold: -Infinity });
        expect(list(hard.keep)).toEqual(list(nms(boxes, scores, thr)));
        const none = softNms(boxes, scores, { method: 'linear', iouThreshold: 1, scoreThreshold: -Infinity });
        expect(list(none.keep)).toEqual(list(nms(boxes, scores, Infinity)));
        expectClose(none.scores, tensor(list(none.keep).map((i) => scores.data[i]), [none.keep.shape[0]], 'float64'));
      }),
      { numRuns: 200 },
    );
  });

  // Linear with threshold 0 has no hard cut: every overlapping box is rescaled by (1 - IoU)
  // for each earlier selection, so a final score is the initial one times that product
  // (over the selected boxes before it), and selections come out by decreasing score.
  it('linear at threshold 0: final score = initial score x prod(1 - IoU) over earlier selections', () => {
    fc.assert(
      fc.property(fc.oneof(randomSet('float64'), clusteredSet('float64', 150)), ({ boxes, scores }) => {
        const r = softNms(boxes, scores, { method: 'linear', iouThreshold: 0, scoreThreshold: 0 });
        const keep = list(r.keep);
        const b = boxes.data;
        keep.forEach((j, k) => {
          let expected = scores.data[j];
          for (const t of keep.slice(0, k)) {
            const iw = Math.min(b[4 * t + 2], b[4 * j + 2]) - Math.max(b[4 * t], b[4 * j]);
            const ih = Math.min(b[4 * t + 3], b[4 * j + 3]) - Math.max(b[4 * t + 1], b[4 * j + 1]);
            if (iw > 0 && ih > 0) {
              const area = (i: number) => (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
              expected *= 1 - (iw * ih) / (area(t) + area(j) - iw * ih);
            }
          }
          expect(r.scores.data[k]).toBe(expected);
          if (k > 0) expect(r.scores.data[k]).toBeLessThanOrEqual(r.scores.data[k - 1]);
        });
        // Scores stay >= 0 (an exact duplicate gets 0, which is not < 0): nothing is removed.
        expect(keep.length).toBe(scores.shape[0]);
      }),
      { numRuns: 150 },
    );
  });

  it('batchedSoftNms equals per-class softNms merged by score', () => {
    fc.assert(
      fc.property(clusteredSet('float64', 200), fc.integer({ min: 1, max: 5 }), methodArb, ({ boxes, scores }, classes, method) => {
        const n = scores.shape[0];
        const idx = Int32Array.from({ length: n }, (_, i) => (i * 7) % classes);
        const got = batchedSoftNms(boxes, scores, tensor(idx), { method });
        const pairs: [number, number][] = [];
        for (let c = 0; c < classes; c++) {
          const members = [...Array(n).keys()].filter((i) => idx[i] === c);
          const sub = toSet(members.map((i) => [...boxes.data.subarray(4 * i, 4 * i + 4)]), members.map((i) => scores.data[i]), 'float64');
          const r = naiveSoftNms(sub.boxes, sub.scores, { method, iouThreshold: 0.3, sigma: 0.5, scoreThreshold: 0.001, boxConvention: 'continuous' });
          r.keep.forEach((k, t) => pairs.push([members[k], r.scores[t]]));
        }
        pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        expect(list(got.keep)).toEqual(pairs.map((p) => p[0]));
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------
// Differential: hundreds of generated cases against torchvision (and the Python Soft-NMS reference)

describe.skipIf(!hasTorch)(`NMS vs live torchvision (${hasTorch ? 'torch found' : noTorchReason})`, () => {
  let torch: TorchWorker;
  beforeAll(async () => {
    torch = await TorchWorker.start();
  });
  afterAll(() => torch?.close());

  async function check(op: string, args: Args): Promise<void> {
    let expected: Tensor | SoftNmsResult | undefined;
    try {
      expected = await torch.call<Tensor | SoftNmsResult>(op, args);
    } catch (e) {
      if (!(e instanceof TorchError)) throw e;
    }
    if (expected === undefined) expect(() => OPS[op](args)).toThrow(VisionOpsError);
    else compare(op, OPS[op](args), expected);
  }

  it('nms', async () => {
    await fc.assert(
      fc.asyncProperty(anySet, threshold, ({ boxes, scores }, thr) => check('nms', { boxes, scores, iou_threshold: thr })),
      { numRuns: 300 },
    );
  });

  it('batched_nms on both sides of the 1000-box switch, negative coordinates included', async () => {
    const sets = fc.oneof(anySet, clusteredSet('float32', 1500));
    await fc.assert(
      fc.asyncProperty(sets, fc.integer({ min: 1, max: 80 }), fc.boolean(), threshold, async ({ boxes, scores }, classes, shift, thr) => {
        const n = scores.shape[0];
        const idxs = tensor(Int32Array.from({ length: n }, (_, i) => (i * 2654435761) % classes));
        // Shifted into negative coordinates the offset trick can merge classes, as in torchvision.
        const b = shift ? tensor(Array.from(boxes.data, (v) => v - 700), [n, 4], boxes.dtype) : boxes;
        await check('batched_nms', { boxes: b, scores, idxs, iou_threshold: thr });
      }),
      { numRuns: 200 },
    );
  });

  it('soft_nms and batched_soft_nms against the float64 Python reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(gridSet('float32'), randomSet('float64'), clusteredSet('float32', 150)),
        fc.constantFrom('linear', 'gaussian', 'hard'),
        fc.constantFrom('continuous', 'pixel_plus1'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        async ({ boxes, scores }, method, box_convention, iou_threshold, classes) => {
          await check('soft_nms', { boxes, scores, method, box_convention, iou_threshold });
          const idxs = tensor(Int32Array.from({ length: scores.shape[0] }, (_, i) => i % classes));
          await check('batched_soft_nms', { boxes, scores, idxs, method, box_convention, iou_threshold });
        },
      ),
      { numRuns: 150 },
    );
  });
});

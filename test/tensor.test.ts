import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, arange, argsortDescending, batched4d, expectSameDType, expectShape, logicalNot, zerosLike, argmax, broadcastShapes, clamp, div, DTypeError, eq, Generator, IndexError, max, mean, min, mul,
  ones, rand, randn, ShapeError, sigmoid, sub, sum, tensor, Tensor, where, zeros,
} from '../src';

describe('Tensor views', () => {
  const t = arange(24).reshape(2, 3, 4);

  it('reshape, permute, transpose, narrow, slice, select share memory and index correctly', () => {
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.reshape(-1, 4).shape).toEqual([6, 4]);
    const p = t.permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.get(3, 1, 2)).toBe(t.get(1, 2, 3));
    expect(p.data).toBe(t.data);
    expect(t.transpose(0, 2).get(1, 2, 0)).toBe(t.get(0, 2, 1));
    expect(t.narrow(2, 1, 2).toArray()).toEqual([[[1, 2], [5, 6], [9, 10]], [[13, 14], [17, 18], [21, 22]]]);
    expect(t.slice(2, 0, undefined, 3).toArray()).toEqual([[[0, 3], [4, 7], [8, 11]], [[12, 15], [16, 19], [20, 23]]]);
    expect(t.slice(1, -1).select(0, 1).toArray()).toEqual([[20, 21, 22, 23]]);
    expect(t.unsqueeze(1).shape).toEqual([2, 1, 3, 4]);
    expect(t.unsqueeze(-1).shape).toEqual([2, 3, 4, 1]);
    expect(t.unsqueeze(1).squeeze().shape).toEqual([2, 3, 4]);
  });

  it('contiguous() of a permuted view copies in row-major order', () => {
    const c = t.permute(2, 1, 0).contiguous();
    expect(c.isContiguous()).toBe(true);
    expect(c.get(3, 2, 1)).toBe(t.get(1, 2, 3));
    expect(Array.from(t.transpose(0, 1).reshape(-1).data.slice(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('expand broadcasts without copying', () => {
    const e = tensor([1, 2, 3]).expand(2, 3);
    expect(e.strides).toEqual([0, 1]);
    expect(e.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });

  it('views of random permutations agree with explicit indexing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer(), (shape, seed) => {
        const x = rand(shape, { generator: new Generator(seed) });
        const perm = [...shape.keys()].reverse();
        const p = x.permute(perm).contiguous();
        const idx = shape.map((d) => d - 1);
        return p.get(...[...idx].reverse()) === x.get(...idx);
      }),
    );
  });

  it('rejects bad shapes and dims with typed errors', () => {
    expect(() => t.reshape(5, -1)).toThrow(ShapeError);
    expect(() => t.permute(0, 0, 1)).toThrow(ShapeError);
    expect(() => t.narrow(3, 0, 1)).toThrow(IndexError);
    expect(() => t.narrow(1, 2, 2)).toThrow(/exceeds dimension size/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(ShapeError);
  });
});

describe('elementwise and reductions', () => {
  it('broadcasts like PyTorch', () => {
    expect(broadcastShapes([3, 1, 5], [4, 1])).toEqual([3, 4, 5]);
    expect(() => broadcastShapes([3, 2], [3])).toThrow(/not broadcastable/);
    const a = tensor([[1], [2]]);
    const b = tensor([10, 20, 30]);
    expect(add(a, b).toArray()).toEqual([[11, 21, 31], [12, 22, 32]]);
    expect(sub(a, 1).toArray()).toEqual([[0], [1]]);
    expect(mul(2, b).toArray()).toEqual([20, 40, 60]);
  });

  it('promotes dtypes: int / int is float, comparisons are bool, int + float scalar is float', () => {
    const i = arange(4);
    expect(i.dtype).toBe('int32');
    expect(div(i, 2).dtype).toBe('float32');
    expect(add(i, 0.5).dtype).toBe('float32');
    expect(add(i, 1).dtype).toBe('int32');
    expect(eq(i, 2).toArray()).toEqual([false, false, true, false]);
    expect(where(eq(i, 2), i, -1).toArray()).toEqual([-1, -1, 2, -1]);
  });

  it('sigmoid is stable and clamp keeps NaN', () => {
    expect(sigmoid(tensor([-1000, 0, 1000])).toArray()).toEqual([0, 0.5, 1]);
    expect(clamp(tensor([NaN, -2, 2]), -1, 1).toArray()).toEqual([NaN, -1, 1]);
  });

  it('reduces over dims with keepdim; max propagates NaN; argmax picks the first maximum', () => {
    const x = tensor([[1, 5, 5], [7, 2, NaN]]);
    expect(sum(tensor([[1, 2], [3, 4]]), { dim: 0 }).toArray()).toEqual([4, 6]);
    expect(sum(tensor([[1, 2], [3, 4]]), { dim: [0, 1], keepdim: true }).shape).toEqual([1, 1]);
    expect(mean(tensor([[1, 2], [3, 4]]), { dim: -1 }).toArray()).toEqual([1.5, 3.5]);
    const m = max(x, { dim: 1 });
    expect(m.values.toArray()).toEqual([5, NaN]);
    expect(m.indices.toArray()).toEqual([1, 2]);
    expect(min(x, { dim: 0 }).indices.toArray()).toEqual([0, 1, 1]);
    expect(argmax(tensor([3, 9, 9])).item()).toBe(1);
    expect(max(ones([2, 2])).item()).toBe(1);
    expect(() => mean(arange(3))).toThrow(DTypeError);
    expect(() => sum(zeros([2]), { dim: 1 })).toThrow(IndexError);
  });

  it('seeded generators reproduce and randn has unit variance', () => {
    const a = randn([1000], { generator: new Generator(7) });
    const b = randn([1000], { generator: new Generator(7) });
    expect(a.toArray()).toEqual(b.toArray());
    const v = mean(mul(a, a)).item();
    expect(v).toBeGreaterThan(0.85);
    expect(v).toBeLessThan(1.15);
    expect(new Tensor(new Float32Array(4), [2, 2], 'float32').numel).toBe(4);
  });
});

describe('argument checks and small helpers', () => {
  it('batched4d accepts 3-D and 4-D and restores the rank', () => {
    const x3 = zeros([2, 3, 4]);
    const { x4, unbatch } = batched4d('op', 'input', x3);
    expect(x4.shape).toEqual([1, 2, 3, 4]);
    expect(unbatch(x4).shape).toEqual([2, 3, 4]);
    expect(() => batched4d('op', 'input', zeros([3, 4]))).toThrow(/op\(\): Expected 3D \(unbatched\) or 4D \(batched\) tensor for argument 'input'/);
  });

  it('expectShape and expectSameDType name the argument', () => {
    expect(() => expectShape('op', 'boxes', zeros([3, 5]), [3, 4])).toThrow("op(): argument 'boxes' must have shape [3, 4], got [3, 5]");
    expect(() => expectSameDType('op', ['input', 'weight'], zeros([1]), arange(1))).toThrow(DTypeError);
  });

  it('zerosLike keeps shape and dtype; logicalNot gives bool', () => {
    const z = zerosLike(arange(6).reshape(2, 3));
    expect([z.shape, z.dtype]).toEqual([[2, 3], 'int32']);
    expect(logicalNot(tensor([0, 2, -1])).toArray()).toEqual([true, false, false]);
  });
});

describe('argsortDescending', () => {
  it('is torch.sort(stable=True, descending=True): NaN first, ties and -0/+0 in index order, both digit widths', () => {
    const v = [1, NaN, -0, 3, 0, -Infinity, 3, Infinity, -2.5];
    const expected = [1, 7, 3, 6, 0, 2, 4, 8, 5];
    expect(Array.from(argsortDescending(Float32Array.from(v)))).toEqual(expected);
    expect(Array.from(argsortDescending(Float64Array.from(v)))).toEqual(expected);
    const g = new Generator(3);
    const big = Float64Array.from({ length: 70_000 }, () => Math.round(g.normal() * 1000) / 100); // many ties
    const order = Array.from(argsortDescending(big));
    const reference = [...big.keys()].sort((a, b) => big[b] - big[a] || a - b);
    expect(order).toEqual(reference);
  });
});


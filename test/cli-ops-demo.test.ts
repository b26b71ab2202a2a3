import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/command';
import { opsDemo, runDemo, sampleImage } from '../src/cli/ops-demo';

function capture(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return { lines, restore: () => spy.mockRestore() };
}

describe('visionops ops-demo', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints every layer with its output shape and a summary, exit code 0', async () => {
    const { lines, restore } = capture();
    const code = await opsDemo.run([]);
    restore();
    expect(code).toBe(0);
    const expected: [string, string][] = [
      ['input', '[1, 3, 64, 64]'],
      ['enc1', '[1, 16, 64, 64]'],
      ['pool1', '[1, 16, 32, 32]'],
      ['enc2', '[1, 32, 32, 32]'],
      ['pool2', '[1, 32, 16, 16]'],
      ['mid', '[1, 32, 16, 16]'],
      ['up2', '[1, 32, 32, 32]'],
      ['skip2', '[1, 32, 32, 32]'],
      ['dec2', '[1, 16, 32, 32]'],
      ['unpool1', '[1, 16, 64, 64]'],
      ['dec1', '[1, 8, 64, 64]'],
      ['head', '[1, 4, 64, 64]'],
      ['resize', '[1, 4, 96, 96]'],
    ];
    const rows = lines.slice(1, -1);
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      expect(row.trim().startsWith(expected[i][0])).toBe(true);
      expect(row).toContain(expected[i][1]);
      expect(row).toMatch(/\d+\.\d\d ms$/);
    });
    expect(lines.at(-1)).toMatch(/^ops-demo: 12 layers in [\d.]+ ms; output \[1, 4, 96, 96\]; class shares [\d./]+; checksum -?[\d.]+$/);
  });

  it('is deterministic for a seed and changes with it; --size scales every shape', async () => {
    const a = runDemo(32, 7).at(-1)!.out;
    const b = runDemo(32, 7).at(-1)!.out;
    const c = runDemo(32, 8).at(-1)!.out;
    expect(a.shape).toEqual([1, 4, 48, 48]);
    expect(Array.from(a.contiguous().data)).toEqual(Array.from(b.contiguous().data));
    expect(Array.from(a.contiguous().data)).not.toEqual(Array.from(c.contiguous().data));
    const { lines, restore } = capture();
    await opsDemo.run(['--size', '16', '--seed', '3']);
    restore();
    expect(lines.find((l) => l.includes('unpool1'))).toContain('[1, 16, 16, 16]');
  });

  it('the unpooled map is zero except at the pooled maxima positions', () => {
    const steps = runDemo(16, 1);
    const unpooled = steps.find((s) => s.name === 'unpool1')!.out.contiguous().data;
    let nonZero = 0;
    for (const v of unpooled) if (v !== 0) nonZero++;
    expect(nonZero).toBeLessThanOrEqual(unpooled.length / 4);
  });

  it('the sample image holds gradients in [0, 1] and a binary shape channel', () => {
    const img = sampleImage(8).contiguous().data;
    expect(img[0]).toBe(0);
    expect(img[7]).toBe(1);
    expect(img[64 + 56]).toBe(1);
    expect(new Set(img.subarray(128)).size).toBe(2);
  });

  it('rejects bad arguments with a usage error', async () => {
    await expect(opsDemo.run(['--size', '30'])).rejects.toThrow(UsageError);
    await expect(opsDemo.run(['--size', 'big'])).rejects.toThrow(UsageError);
    await expect(opsDemo.run(['--bogus'])).rejects.toThrow(UsageError);
    await expect(opsDemo.run(['extra'])).rejects.toThrow(UsageError);
  });
});

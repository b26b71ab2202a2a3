import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../src/cli/command';
import { show } from '../src/cli/show';
import { decodePng, encodePng } from '../src/coco/png';
import { ValueError } from '../src/tensor/errors';

describe('visionops show', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vo-show-'));
  const gt = join(dir, 'gt.json');
  writeFileSync(
    gt,
    JSON.stringify({
      images: [{ id: 5, width: 20, height: 10 }],
      categories: [{ id: 1, name: 'thing' }],
      annotations: [
        { id: 1, image_id: 5, category_id: 1, bbox: [2, 2, 10, 6], area: 60, iscrowd: 0, segmentation: [[4, 4, 9, 4, 9, 7, 4, 7]] },
      ],
    }),
  );
  const quiet = () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
  };

  it('draws onto a given PNG and writes a PNG of the same size', async () => {
    quiet();
    const bg = { data: new Uint8Array(4 * 200).fill(255), width: 20, height: 10 };
    const image = join(dir, 'img.png');
    writeFileSync(image, encodePng(bg, deflateSync));
    const out = join(dir, 'out.png');
    const args = ['--gt', gt, '--image-id', '5', '--image', image, '--out', out, '--alpha', '1', '--line-width', '1', '--no-polygons'];
    expect(await show.run(args)).toBe(0);
    const img = decodePng(new Uint8Array(readFileSync(out)), inflateSync);
    expect([img.width, img.height]).toEqual([20, 10]);
    const px = (x: number, y: number) => Array.from(img.data.subarray(4 * (y * 20 + x), 4 * (y * 20 + x) + 4));
    expect(px(0, 0)).toEqual([255, 255, 255, 255]);
    expect(px(2, 2)).toEqual(px(6, 5)); // box outline and mask fill share the category colour (alpha 1)
    expect(px(2, 2)).not.toEqual([255, 255, 255, 255]);
    expect(px(3, 5)).toEqual([255, 255, 255, 255]); // between box edge and mask
  });

  it('falls back to a grey canvas of the image size', async () => {
    quiet();
    const out = join(dir, 'grey.png');
    expect(await show.run(['--gt', gt, '--image-id', '5', '--out', out, '--no-masks', '--no-boxes', '--no-polygons'])).toBe(0);
    const img = decodePng(new Uint8Array(readFileSync(out)), inflateSync);
    expect(img.data.every((v, i) => v === (i % 4 === 3 ? 255 : 128))).toBe(true);
  });

  it('reports usage and input errors', async () => {
    quiet();
    await expect(show.run(['--gt', gt, '--out', 'x.png'])).rejects.toThrow(UsageError);
    await expect(show.run(['--gt', gt, '--image-id', 'abc', '--out', 'x.png'])).rejects.toThrow(/--image-id/);
    await expect(show.run(['--gt', gt, '--image-id', '6', '--out', 'x.png'])).rejects.toThrow(/image 6 is not/);
    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, readFileSync(gt, 'utf8').slice(0, 40));
    await expect(show.run(['--gt', truncated, '--image-id', '5', '--out', 'x.png'])).rejects.toThrow(/not valid JSON/);
    const jpeg = join(dir, 'a.jpg');
    writeFileSync(jpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]));
    await expect(show.run(['--gt', gt, '--image-id', '5', '--image', jpeg, '--out', 'x.png'])).rejects.toThrow(ValueError);
  });
});

import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CocoAnnotation, CocoCategory } from '../src/coco/coco';
import { decode, frPyObjects, merge } from '../src/coco/mask';
import { decodePng, encodePng } from '../src/coco/png';
import { categoryColor, PALETTE, renderAnnotations } from '../src/coco/render';
import { ShapeError, ValueError } from '../src/tensor/errors';

function canvas(width: number, height: number, rgba: [number, number, number, number]) {
  const data = new Uint8ClampedArray(4 * width * height);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { data, width, height };
}

function pixel(img: { data: ArrayLike<number>; width: number }, x: number, y: number): number[] {
  const i = 4 * (y * img.width + x);
  return [img.data[i], img.data[i + 1], img.data[i + 2], img.data[i + 3]];
}

describe('PNG', () => {
  const { cases } = JSON.parse(readFileSync(new URL('./fixtures/coco/mask/png-cases.json', import.meta.url), 'utf8')) as {
    cases: { name: string; width: number; height: number; png_b64: string; rgba_b64: string }[];
  };
  it.each(cases.map((c) => [c.name, c] as const))('decodes Pillow output: %s', (_n, c) => {
    const img = decodePng(new Uint8Array(Buffer.from(c.png_b64, 'base64')), inflateSync);
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(Buffer.from(img.data).toString('base64')).toBe(c.rgba_b64);
  });

  it('encode then decode gives the pixels back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (w, h, seed) => {
        const data = new Uint8Array(4 * w * h).map((_, i) => (seed * 31 + i * i * 7) & 0xff);
        const png = encodePng({ data, width: w, height: h }, deflateSync);
        expect(decodePng(png, inflateSync)).toEqual({ data, width: w, height: h });
      }),
      { numRuns: 100 },
    );
  });

  it('mutated files decode or fail with a ValueError, never anything else', () => {
    const png = encodePng(canvas(5, 4, [10, 200, 30, 255]), deflateSync);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), (edits, cut) => {
        const bytes = png.slice(0, png.length - (cut % 16));
        for (const [at, v] of edits) bytes[at % bytes.length] = v;
        try {
          const img = decodePng(bytes, inflateSync);
          expect(img.data.length).toBe(4 * img.width * img.height);
        } catch (e) {
          expect(e).toBeInstanceOf(ValueError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('well-formed files with random headers and pixel data: pixels or a ValueError', () => {
    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const chunk = (type: string, body: Uint8Array): Buffer => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(body.length, 0);
      head.write(type, 4, 'latin1');
      let c = 0xffffffff;
      for (const b of [...head.subarray(4), ...body]) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
      const tail = Buffer.alloc(4);
      tail.writeUInt32BE((c ^ 0xffffffff) >>> 0, 0);
      return Buffer.concat([head, body, tail]);
    };
    fc.assert(
      fc.property(
        fc.record({
          w: fc.integer({ min: 0, max: 6 }),
          h: fc.integer({ min: 0, max: 6 }),
          depth: fc.constantFrom(1, 2, 3, 4, 8, 16),
          colorType: fc.constantFrom(0, 2, 3, 4, 5, 6),
          interlace: fc.constantFrom(0, 0, 0, 1),
          raw: fc.uint8Array({ maxLength: 300 }),
          palette: fc.option(fc.uint8Array({ maxLength: 48 })),
        }),
        ({ w, h, depth, colorType, interlace, raw, palette }) => {
          const ihdr = Buffer.alloc(13);
          ihdr.writeUInt32BE(w, 0);
          ihdr.writeUInt32BE(h, 4);
          ihdr.set([depth, colorType, 0, 0, interlace], 8);
          const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
          if (palette) parts.push(chunk('PLTE', palette));
          parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
          try {
            const img = decodePng(new Uint8Array(Buffer.concat(parts)), inflateSync);
            expect([img.width, img.height, img.data.length]).toEqual([w, h, 4 * w * h]);
          } catch (e) {
            expect(e).toBeInstanceOf(ValueError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects bad files clearly', () => {
    const png = encodePng(canvas(3, 2, [1, 2, 3, 4]), deflateSync);
    expect(() => decodePng(png.subarray(0, 30), inflateSync)).toThrow(/truncated/);
    const corrupt = png.slice();
    corrupt[40] ^= 1;
    expect(() => decodePng(corrupt, inflateSync)).toThrow(/CRC mismatch|truncated/);
    expect(() => decodePng(new Uint8Array([1, 2, 3]), inflateSync)).toThrow(/signature/);
    expect(() => encodePng({ data: new Uint8Array(5), width: 1, height: 1 }, deflateSync)).toThrow(ShapeError);
  });
});

describe('renderAnnotations', () => {
  const cats: CocoCategory[] = [
    { id: 7, name: 'a' },
    { id: 3, name: 'person', keypoints: ['p', 'q', 'r'], skeleton: [[1, 2], [2, 3]] },
  ];
  const poly = [2.5, 3, 14, 2, 15.5, 12, 4, 13];

  it('fills exactly the pycocotools mask, blended with the category colour', () => {
    const img = canvas(20, 16, [0, 0, 0, 255]);
    const ann: CocoAnnotation = { id: 1, image_id: 1, category_id: 7, segmentation: [poly] };
    renderAnnotations(img, [ann], { cats, alpha: 0.5, drawPolygons: false, drawBoxes: false });
    const m = decode(merge(frPyObjects([poly], 16, 20)));
    const c = categoryColor(7, { cats });
    expect(c).toEqual(PALETTE[0]);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 20; x++) {
        const inside = (m.data[y + 16 * x] as number) === 1;
        expect(pixel(img, x, y)).toEqual(inside ? [...c.map((v) => Math.round(v * 0.5)), 255] : [0, 0, 0, 255]);
      }
    }
  });

  it('crowd RLE (uncompressed) masks and per-category colours via options', () => {
    const img = canvas(4, 3, [255, 255, 255, 255]);
    const ann: CocoAnnotation = { id: 2, image_id: 1, category_id: 9, iscrowd: 1, segmentation: { size: [3, 4], counts: [4, 2, 6] } };
    renderAnnotations(img, [ann], { alpha: 1, colors: { 9: [10, 20, 30] }, drawBoxes: false });
    // runs are column-major: pixels 4 and 5 are (y=1, x=1) and (y=2, x=1)
    expect(pixel(img, 1, 1)).toEqual([10, 20, 30, 255]);
    expect(pixel(img, 1, 2)).toEqual([10, 20, 30, 255]);
    expect(pixel(img, 1, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(img, 2, 1)).toEqual([255, 255, 255, 255]);
  });

  it('draws boxes as outlines and composites onto transparent pixels', () => {
    const img = canvas(12, 10, [0, 0, 0, 0]);
    renderAnnotations(img, [{ id: 1, image_id: 1, category_id: 3, bbox: [2, 2, 6, 5] }], { cats, lineWidth: 1, colors: () => [200, 100, 50] });
    expect(pixel(img, 2, 2)).toEqual([200, 100, 50, 255]);
    expect(pixel(img, 5, 2)).toEqual([200, 100, 50, 255]);
    expect(pixel(img, 8, 5)).toEqual([200, 100, 50, 255]);
    expect(pixel(img, 5, 5)).toEqual([0, 0, 0, 0]); // inside the box, untouched
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0, 0]);
  });

  it('draws visible keypoints and the skeleton between visible ones', () => {
    const img = canvas(30, 10, [0, 0, 0, 255]);
    const kp = [3, 5, 2, 15, 5, 1, 27, 5, 0];
    renderAnnotations(img, [{ id: 1, image_id: 1, category_id: 3, keypoints: kp, num_keypoints: 2 }], { cats, lineWidth: 1, colors: () => [0, 255, 0] });
    expect(pixel(img, 9, 5)).toEqual([0, 255, 0, 255]); // on the bone 1-2
    expect(pixel(img, 21, 5)).toEqual([0, 0, 0, 255]); // bone 2-3: keypoint 3 invisible
    expect(pixel(img, 27, 5)).toEqual([0, 0, 0, 255]);
  });

  it('huge or non-finite coordinates draw clipped or nothing, quickly', () => {
    const img = canvas(8, 8, [0, 0, 0, 255]);
    const t0 = performance.now();
    renderAnnotations(img, [{ id: 1, image_id: 1, category_id: 1, bbox: [-1e12, 3, 2e12, 1e9] }], { drawMasks: false, lineWidth: 1, colors: () => [9, 9, 9] });
    renderAnnotations(img, [{ id: 2, image_id: 1, category_id: 1, bbox: [NaN, 1, 2, 2] }], { drawMasks: false });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(pixel(img, 4, 3)).toEqual([9, 9, 9, 255]);
    expect(pixel(img, 4, 4)).toEqual([0, 0, 0, 255]);
  });

  it('rejects mismatched masks and bad options', () => {
    const img = canvas(4, 4, [0, 0, 0, 255]);
    const ann: CocoAnnotation = { id: 1, image_id: 1, category_id: 1, segmentation: { size: [5, 4], counts: [20] } };
    expect(() => renderAnnotations(img, [ann])).toThrow(/differs from the image/);
    expect(() => renderAnnotations(img, [], { alpha: 2 })).toThrow(ValueError);
    expect(() => renderAnnotations(img, [], { lineWidth: 0.5 })).toThrow(ValueError);
    expect(() => renderAnnotations({ data: new Uint8Array(3), width: 4, height: 4 }, [])).toThrow(ShapeError);
  });
});

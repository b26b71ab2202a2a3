/** COCO dataset API (pycocotools coco.py): index, queries, RLE conversion, loadRes, file loading and input validation. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COCO, type CocoDataset, type CocoResult } from '../src/coco/coco';
import { loadCocoFile, loadResFile, readJsonFile } from '../src/coco/node';
import { area, frPyObjects, rleFrPoly, rleMerge, rleToString } from '../src/coco/mask';
import { ValueError } from '../src/tensor/errors';

function dataset(): CocoDataset {
  return {
    info: { description: 'tiny', year: 2024 },
    images: [
      { id: 7, width: 20, height: 10 },
      { id: 3, width: 8, height: 6 },
      { id: 5, width: 8, height: 6 },
    ],
    categories: [
      { id: 2, name: 'cat', supercategory: 'animal' },
      { id: 1, name: 'person', supercategory: 'person' },
      { id: 4, name: 'dog', supercategory: 'animal' },
    ],
    annotations: [
      { id: 10, image_id: 7, category_id: 2, bbox: [1, 1, 4, 3], area: 12, iscrowd: 0, segmentation: [[1, 1, 5, 1, 5, 4, 1, 4]] },
      { id: 11, image_id: 3, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 1, segmentation: { size: [6, 8], counts: [0, 2, 4, 2, 40] } },
      { id: 12, image_id: 7, category_id: 1, bbox: [2, 2, 5, 5], area: 25, iscrowd: 0, segmentation: [[2, 2, 7, 2, 7, 7, 2, 7], [10, 1, 12, 1, 12, 3]] },
      { id: 13, image_id: 5, category_id: 2, bbox: [0, 0, 1, 1], area: 100, iscrowd: 0, segmentation: [[0, 0, 1, 0, 1, 1, 0, 1]] },
    ],
  };
}

describe('COCO index and queries', () => {
  const coco = new COCO(dataset());

  it('indexes anns, imgs, cats, imgToAnns and catToImgs', () => {
    expect([...coco.anns.keys()]).toEqual([10, 11, 12, 13]);
    expect([...coco.imgs.keys()]).toEqual([7, 3, 5]);
    expect([...coco.cats.keys()]).toEqual([2, 1, 4]);
    expect(coco.imgToAnns.get(7)!.map((a) => a.id)).toEqual([10, 12]);
    expect(coco.catToImgs.get(2)).toEqual([7, 5]);
    expect(coco.catToImgs.get(4)).toBeUndefined();
  });

  it('getAnnIds filters by image (in the order given), category, exclusive area range and iscrowd', () => {
    expect(coco.getAnnIds()).toEqual([10, 11, 12, 13]);
    expect(coco.getAnnIds({ imgIds: [5, 7] })).toEqual([13, 10, 12]);
    expect(coco.getAnnIds({ imgIds: 7, catIds: 1 })).toEqual([12]);
    expect(coco.getAnnIds({ areaRng: [4, 25] })).toEqual([10]); // 4 and 25 excluded
    expect(coco.getAnnIds({ iscrowd: 1 })).toEqual([11]);
    expect(coco.getAnnIds({ iscrowd: 0, catIds: [2] })).toEqual([10, 13]);
    expect(coco.getAnnIds({ imgIds: [99] })).toEqual([]);
  });

  it('getCatIds filters by name, supercategory and id in dataset order', () => {
    expect(coco.getCatIds()).toEqual([2, 1, 4]);
    expect(coco.getCatIds({ supNms: 'animal' })).toEqual([2, 4]);
    expect(coco.getCatIds({ catNms: ['dog', 'person'] })).toEqual([1, 4]);
    expect(coco.getCatIds({ supNms: ['animal'], catIds: [4] })).toEqual([4]);
  });

  it('getImgIds: all images in dataset order, or the intersection with each category', () => {
    expect(coco.getImgIds()).toEqual([7, 3, 5]);
    expect(coco.getImgIds({ catIds: [2] })).toEqual([5, 7]);
    expect(coco.getImgIds({ catIds: [2, 1] })).toEqual([7]);
    expect(coco.getImgIds({ imgIds: [3, 5], catIds: [2] })).toEqual([5]);
    expect(coco.getImgIds({ imgIds: [3] })).toEqual([3]);
  });

  it('loadAnns / loadCats / loadImgs return objects, unknown ids raise ValueError', () => {
    expect(coco.loadAnns([12, 10]).map((a) => a.id)).toEqual([12, 10]);
    expect(coco.loadCats(4)[0].name).toBe('dog');
    expect(coco.loadImgs([3])[0].width).toBe(8);
    expect(() => coco.loadAnns([10, 99])).toThrow(/annotation with id 99/);
    expect(() => coco.loadImgs(1)).toThrow(ValueError);
  });

  it('info prints the info fields', () => {
    const lines: string[] = [];
    coco.info((l) => lines.push(l));
    expect(lines).toEqual(['description: tiny', 'year: 2024']);
  });
});

describe('COCO annToRLE / annToMask', () => {
  const coco = new COCO(dataset());

  it('merges polygon parts at the image size', () => {
    const ann = coco.anns.get(12)!;
    const want = rleMerge([rleFrPoly([2, 2, 7, 2, 7, 7, 2, 7], 10, 20), rleFrPoly([10, 1, 12, 1, 12, 3], 10, 20)], false);
    expect(coco.annToRLE(ann)).toEqual({ size: [10, 20], counts: rleToString(want) });
    expect(coco.annToRle(ann).cnts).toEqual(want.cnts);
  });

  it('uncompressed RLE keeps its counts (frPyObjects); compressed comes back as is', () => {
    const ann = coco.anns.get(11)!;
    const rle = coco.annToRLE(ann);
    expect(rle).toEqual(frPyObjects({ size: [6, 8], counts: [0, 2, 4, 2, 40] }, 6, 8));
    const compressed = new COCO({ images: [{ id: 1, width: 8, height: 6 }], annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: rle }] });
    expect(compressed.annToRLE(compressed.anns.get(1)!)).toBe(rle);
  });

  it('annToMask decodes to an [h, w] uint8 mask whose sum is the RLE area', () => {
    const ann = coco.anns.get(10)!;
    const m = coco.annToMask(ann);
    expect(m.shape).toEqual([10, 20]);
    const data = m.contiguous().data;
    let s = 0;
    for (let i = 0; i < data.length; i++) s += data[i];
    expect(s).toBe(area(coco.annToRLE(ann)));
    expect(s).toBeGreaterThan(0);
  });

  it('malformed segmentations raise errors naming the annotation and field', () => {
    const bad = (segmentation: unknown) => {
      const c = new COCO({ images: [{ id: 1, width: 8, height: 6 }], annotations: [{ id: 5, image_id: 1, category_id: 1, segmentation: segmentation as never }] });
      return () => c.annToRLE(c.anns.get(5)!);
    };
    expect(bad([])).toThrow(/annotation 5\.segmentation is an empty polygon list/);
    expect(bad([[1, 2, 'x', 4, 5, 6]])).toThrow(/segmentation\[0\] must be a polygon/);
    expect(bad({ size: [6], counts: 'abc' })).toThrow(/segmentation\.size/);
    expect(bad({ size: [6, 8], counts: [1, 2] })).toThrow(/sum to 3, expected height\*width = 48/);
    expect(bad({ size: [6, 8], counts: [1, -2] })).toThrow(/non-negative integers/);
    expect(bad({ size: [6, 8], counts: 5 })).toThrow(/segmentation\.counts must be a string or an array/);
    expect(bad(undefined)).toThrow(/segmentation is missing/);
    const noSize = new COCO({ images: [{ id: 1 }], annotations: [{ id: 5, image_id: 1, category_id: 1, segmentation: [[0, 0, 1, 0, 1, 1]] }] });
    expect(() => noSize.annToRLE(noSize.anns.get(5)!)).toThrow(/image 1\.height must be a number/);
  });
});

describe('COCO validation', () => {
  it('rejects non-object datasets and non-array sections', () => {
    expect(() => new COCO([] as never)).toThrow(/dataset must be a COCO json object/);
    expect(() => new COCO({ annotations: {} as never })).toThrow(/dataset\.annotations must be an array/);
    expect(() => new COCO({ images: [null as never] })).toThrow(/dataset\.images\[0\] must be an object/);
  });

  it('names the missing or malformed field', () => {
    expect(() => new COCO({ annotations: [{ image_id: 1, category_id: 1 } as never] })).toThrow(/annotations\[0\]\.id must be a number, got undefined \(missing\)/);
    expect(() => new COCO({ annotations: [{ id: 1, image_id: '1', category_id: 1 } as never] })).toThrow(/annotations\[0\]\.image_id must be a number/);
    expect(() => new COCO({ categories: [{ id: 1 }], annotations: [{ id: 1, image_id: 1 } as never] })).toThrow(/annotations\[0\]\.category_id/);
    expect(() => new COCO({ images: [{ width: 3 } as never] })).toThrow(/images\[0\]\.id/);
  });
});

describe('COCO loadRes (pycocotools derivations)', () => {
  const coco = new COCO(dataset());

  it('bbox results: area = w*h, box polygon, iscrowd 0, ids 1..N in input order; inputs untouched', () => {
    const results: CocoResult[] = [
      { image_id: 7, category_id: 2, score: 0.9, bbox: [1.5, 2, 3, 4.25] },
      { image_id: 3, category_id: 1, score: 0.8, bbox: [0, 0, 2, 2], extra: 'kept' },
    ];
    const frozen = structuredClone(results);
    const res = coco.loadRes(results);
    const [a, b] = res.loadAnns([1, 2]);
    expect(a).toMatchObject({ id: 1, area: 12.75, iscrowd: 0, segmentation: [[1.5, 2, 1.5, 6.25, 4.5, 6.25, 4.5, 2]] });
    expect(b).toMatchObject({ id: 2, area: 4, extra: 'kept' });
    expect(results).toEqual(frozen);
    expect(res.dataset.images).toEqual(coco.dataset.images);
    expect(res.dataset.categories).toEqual(coco.dataset.categories);
    expect(res.dataset.categories).not.toBe(coco.dataset.categories);
    expect(res.getAnnIds({ imgIds: 7 })).toEqual([1]);
  });

  it('segmentation results: area and bbox from the RLE; the first result decides the type', () => {
    const seg = frPyObjects([[1, 1, 4, 1, 4, 3, 1, 3]], 6, 8)[0];
    const res = coco.loadRes([{ image_id: 3, category_id: 1, score: 0.5, segmentation: seg }]);
    const ann = res.anns.get(1)!;
    expect(ann.area).toBe(area(seg));
    expect(ann.bbox).toEqual([1, 1, 3, 2]);
    expect(ann.iscrowd).toBe(0);
    // detectron2-style segm results carrying a bbox take the box branch: box area, given segmentation kept.
    const both = coco.loadRes([{ image_id: 3, category_id: 1, score: 0.5, segmentation: seg, bbox: [0, 0, 5, 5] }]);
    expect(both.anns.get(1)).toMatchObject({ area: 25, segmentation: seg });
    expect(() => coco.loadRes([{ image_id: 3, category_id: 1, score: 0.5, segmentation: [[1, 1, 4, 1, 4, 3]] }])).toThrow(/compressed RLE/);
    expect(() => coco.loadRes([{ image_id: 3, category_id: 1, score: 0.5, segmentation: seg }, { image_id: 3, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }])).toThrow(
      /results\[1\]\.segmentation/,
    );
  });

  it('keypoint results: bbox and area from the keypoint extent (visibility ignored), no iscrowd', () => {
    const res = coco.loadRes([{ image_id: 7, category_id: 1, score: 1, keypoints: [3, 4, 0, 10, 2, 2, 5, 9, 1] }]);
    const ann = res.anns.get(1)!;
    expect(ann.bbox).toEqual([3, 2, 7, 7]);
    expect(ann.area).toBe(49);
    expect(ann.iscrowd).toBeUndefined();
    expect(() => coco.loadRes([{ image_id: 7, category_id: 1, score: 1, keypoints: [3] }])).toThrow(/triplets/);
  });

  it('rejects results for unknown images and (by default) unknown categories', () => {
    expect(() => coco.loadRes([{ image_id: 8, category_id: 1, score: 1, bbox: [0, 0, 1, 1] }])).toThrow(/do not correspond to this dataset: 1 image id\(s\) not in it \(8\)/);
    expect(() => coco.loadRes([{ image_id: 7, category_id: 9, score: 1, bbox: [0, 0, 1, 1] }])).toThrow(/category id\(s\) not in the dataset: 9/);
    const res = coco.loadRes([{ image_id: 7, category_id: 9, score: 1, bbox: [0, 0, 1, 1] }], { allowUnknownCategories: true });
    expect(res.anns.size).toBe(1);
  });

  it('names missing or malformed result fields', () => {
    expect(() => coco.loadRes({} as never)).toThrow(/results must be an array/);
    expect(() => coco.loadRes([null as never])).toThrow(/results\[0\] must be an object/);
    expect(() => coco.loadRes([{ image_id: 7, category_id: 2, bbox: [0, 0, 1, 1] } as never])).toThrow(/results\[0\]\.score must be a number/);
    expect(() => coco.loadRes([{ image_id: 7, category_id: 2, score: 1, bbox: [0, 0, 1, 1] }, { image_id: 7, category_id: 2, score: 1 }])).toThrow(/results\[1\].*bbox must be an array of 4 numbers/);
    expect(() => coco.loadRes([{ image_id: 7, category_id: 2, score: 1 }])).toThrow(/none of bbox, segmentation, keypoints/);
  });

  it('empty results give an empty result set over the same images', () => {
    const res = coco.loadRes([]);
    expect(res.anns.size).toBe(0);
    expect(res.imgs.size).toBe(3);
  });
});

describe('COCO files (Node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'visionops-coco-'));
  const gtPath = join(dir, 'gt.json');
  writeFileSync(gtPath, JSON.stringify(dataset()));

  it('fromFile / loadCocoFile / loadResFile read json files', async () => {
    const a = await COCO.fromFile(gtPath);
    const b = await loadCocoFile(gtPath);
    expect(a.getAnnIds()).toEqual(b.getAnnIds());
    const resPath = join(dir, 'res.json');
    writeFileSync(resPath, JSON.stringify([{ image_id: 5, category_id: 2, score: 0.3, bbox: [0, 0, 2, 2] }]));
    expect((await a.loadResFile(resPath)).anns.get(1)!.area).toBe(4);
    expect((await loadResFile(b, resPath)).anns.size).toBe(1);
  });

  it('unreadable files, invalid or truncated json and wrong top-level types raise clear errors', async () => {
    await expect(COCO.fromFile(join(dir, 'missing.json'))).rejects.toThrow(/cannot read COCO annotation file .*missing\.json/);
    const full = JSON.stringify(dataset());
    for (const cut of [1, 17, full.length >> 1, full.length - 1]) {
      const p = join(dir, `trunc${cut}.json`);
      writeFileSync(p, full.slice(0, cut));
      await expect(loadCocoFile(p)).rejects.toThrow(/is not valid JSON/);
    }
    const arr = join(dir, 'arr.json');
    writeFileSync(arr, '[1, 2]');
    await expect(loadCocoFile(arr)).rejects.toThrow(/must hold a json object/);
    const obj = join(dir, 'obj.json');
    writeFileSync(obj, '{"a": 1}');
    await expect(loadResFile(new COCO(dataset()), obj)).rejects.toThrow(/must hold a json array of results/);
    await expect(readJsonFile(dir)).rejects.toThrow(/cannot read json file/);
  });
});

/**
 * The COCO dataset API of pycocotools (`pycocotools/coco.py`): an index over a
 * COCO-format dataset (instances or person_keypoints), the id queries, RLE
 * conversion of annotations and `loadRes`, which turns a detection results list
 * into a second COCO object with pycocotools' derivations of area, bbox,
 * segmentation and ids.
 *
 * Browser-safe: no Node built-ins here. Reading files lives in `./node`
 * (`loadCocoFile`, `loadResFile`), reached from {@link COCO.fromFile} and
 * {@link COCO.loadResFile} through a dynamic import.
 *
 * Ids must be numbers (pycocotools accepts any hashable; every COCO-format
 * dataset uses integers). Input objects are never mutated: `loadRes` copies
 * each result before adding `area`, `id`, ... (pycocotools writes into them).
 */
import { ValueError } from '../tensor/errors';
import { decode, rleArea, rleFrPoly, rleFrString, rleMerge, rleToBbox, rleToString, type Rle, type RLE } from './mask';

/** A polygon: flat `[x0, y0, x1, y1, ...]` in pixel coordinates. */
export type Polygon = number[];

/** RLE as stored in COCO json: compressed (`counts` string) or uncompressed (`counts` run lengths). */
export interface RleObject {
  size: [number, number];
  counts: string | number[];
}

/** COCO segmentation: a list of polygons or an RLE object. */
export type Segmentation = Polygon[] | RleObject;

export interface CocoImage {
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name?: string;
  supercategory?: string;
  keypoints?: string[];
  skeleton?: number[][];
  [key: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox?: number[];
  area?: number;
  iscrowd?: number | boolean;
  segmentation?: Segmentation;
  keypoints?: number[];
  num_keypoints?: number;
  score?: number;
  [key: string]: unknown;
}

export interface CocoDataset {
  info?: Record<string, unknown>;
  licenses?: unknown[];
  images?: CocoImage[];
  annotations?: CocoAnnotation[];
  categories?: CocoCategory[];
  [key: string]: unknown;
}

/** One detection result, as in the COCO results format. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  segmentation?: RleObject | Polygon[];
  keypoints?: number[];
  [key: string]: unknown;
}

export interface LoadResOptions {
  /**
   * Accept results whose `category_id` is not among the dataset's categories
   * (pycocotools does; COCOeval then never looks at them). Default false: such
   * results raise a ValueError, since they almost always mean a label-mapping bug.
   */
  allowUnknownCategories?: boolean;
}

/** One id, a list of ids, or nothing (pycocotools accepts an int or a list). */
export type IdArg = number | readonly number[] | undefined;

function idList(ids: IdArg): readonly number[] {
  return ids === undefined ? [] : typeof ids === 'number' ? [ids] : ids;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === undefined) return 'undefined (missing)';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x === null) return 'null';
  return typeof x === 'object' ? 'an object' : `${typeof x} ${JSON.stringify(x)}`;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && v === v;

/** True when `v` is an array of `n` numbers; hot loops test this and build error messages only on failure. */
function isNumbers(v: unknown, n: number): v is number[] {
  if (!Array.isArray(v) || v.length !== n) return false;
  for (let i = 0; i < n; i++) if (!isNum(v[i])) return false;
  return true;
}

/** @internal Throws `ValueError("<where>.<field> must be a number, got ...")` unless `obj[field]` is a number. */
export function requireNumber(obj: Record<string, unknown>, field: string, where: string): number {
  const v = obj[field];
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ValueError(`${where}.${field} must be a number, got ${describe(v)}`);
  return v;
}

/** @internal Throws unless `obj[field]` is an array of `n` numbers (any length when n is undefined). */
export function requireNumbers(obj: Record<string, unknown>, field: string, where: string, n?: number): number[] {
  const v = obj[field];
  if (!Array.isArray(v) || (n !== undefined && v.length !== n) || !v.every((x) => typeof x === 'number' && !Number.isNaN(x))) {
    const want = n === undefined ? 'an array of numbers' : `an array of ${n} numbers`;
    throw new ValueError(`${where}.${field} must be ${want}, got ${describe(v)}`);
  }
  return v as number[];
}

function checkArrayField(dataset: Record<string, unknown>, key: string): unknown[] | undefined {
  const v = dataset[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ValueError(`COCO dataset.${key} must be an array, got ${describe(v)}`);
  v.forEach((x, i) => {
    if (!isObject(x)) throw new ValueError(`COCO dataset.${key}[${i}] must be an object, got ${describe(x)}`);
  });
  return v;
}

/**
 * Validates a segmentation and converts it to a low-level RLE (pycocotools
 * `annToRLE`): polygons are rasterised at the image size and merged, an
 * uncompressed RLE keeps its own `size` and its counts as given, a compressed
 * RLE is parsed. `where` names the annotation in error messages.
 */
export function segmentationToRle(segm: unknown, h: number | undefined, w: number | undefined, where: string): Rle {
  if (Array.isArray(segm)) {
    if (segm.length === 0) throw new ValueError(`${where}.segmentation is an empty polygon list`);
    if (h === undefined || w === undefined) throw new ValueError(`${where}: polygon segmentation needs the image's height and width`);
    const parts = segm.map((poly, j) => {
      if (!Array.isArray(poly) || !poly.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new ValueError(`${where}.segmentation[${j}] must be a polygon (array of numbers), got ${describe(poly)}`);
      }
      return rleFrPoly(poly, h, w);
    });
    return parts.length === 1 ? parts[0] : rleMerge(parts, false);
  }
  if (!isObject(segm)) throw new ValueError(`${where}.segmentation must be a polygon list or an RLE object, got ${describe(segm)}`);
  const size = segm.size;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ValueError(`${where}.segmentation.size must be [height, width] (non-negative integers), got ${describe(size)}`);
  }
  const [sh, sw] = size as [number, number];
  const counts = segm.counts;
  if (typeof counts === 'string') return rleFrString(counts, sh, sw);
  if (Array.isArray(counts)) {
    let total = 0;
    for (const c of counts) {
      if (!Number.isInteger(c) || c < 0) throw new ValueError(`${where}.segmentation.counts must hold non-negative integers, got ${JSON.stringify(c)}`);
      total += c;
    }
    if (total !== sh * sw) throw new ValueError(`${where}.segmentation.counts sum to ${total}, expected height*width = ${sh * sw}`);
    return { h: sh, w: sw, cnts: Uint32Array.from(counts as number[]) };
  }
  throw new ValueError(`${where}.segmentation.counts must be a string or an array of run lengths, got ${describe(counts)}`);
}

/**
 * pycocotools `COCO`: holds a dataset and its indexes. `anns`, `imgs`, `cats`
 * are Maps keyed by id; `imgToAnns` maps an image id to its annotations (file
 * order), `catToImgs` a category id to the image id of each of its annotations.
 */
export class COCO {
  dataset: CocoDataset;
  anns = new Map<number, CocoAnnotation>();
  imgs = new Map<number, CocoImage>();
  cats = new Map<number, CocoCategory>();
  imgToAnns = new Map<number, CocoAnnotation[]>();
  catToImgs = new Map<number, number[]>();

  /** Builds the index of a parsed COCO json object (validated: ids present and numeric). */
  constructor(dataset: CocoDataset = {}) {
    if (!isObject(dataset)) throw new ValueError(`COCO: dataset must be a COCO json object, got ${describe(dataset)}`);
    this.dataset = dataset;
    this.createIndex();
  }

  /** Reads and indexes a COCO json file (Node only). */
  static async fromFile(path: string): Promise<COCO> {
    const { loadCocoFile } = await import('./node');
    return loadCocoFile(path);
  }

  /** (Re)builds `anns`, `imgs`, `cats`, `imgToAnns` and `catToImgs` from `dataset`. */
  createIndex(): void {
    const ds = this.dataset as Record<string, unknown>;
    const annotations = checkArrayField(ds, 'annotations') as CocoAnnotation[] | undefined;
    const images = checkArrayField(ds, 'images') as CocoImage[] | undefined;
    const categories = checkArrayField(ds, 'categories') as CocoCategory[] | undefined;
    const anns = new Map<number, CocoAnnotation>();
    const imgs = new Map<number, CocoImage>();
    const cats = new Map<number, CocoCategory>();
    const imgToAnns = new Map<number, CocoAnnotation[]>();
    const catToImgs = new Map<number, number[]>();
    if (annotations) {
      for (let i = 0; i < annotations.length; i++) {
        const ann = annotations[i];
        const id = ann.id, imgId = ann.image_id;
        if (!isNum(id) || !isNum(imgId) || (categories && !isNum(ann.category_id))) {
          for (const f of ['id', 'image_id', 'category_id']) requireNumber(ann, f, `annotations[${i}]`);
        }
        const list = imgToAnns.get(imgId);
        if (list) list.push(ann);
        else imgToAnns.set(imgId, [ann]);
        anns.set(id, ann);
      }
    }
    images?.forEach((img, i) => imgs.set(requireNumber(img, 'id', `images[${i}]`), img));
    categories?.forEach((cat, i) => cats.set(requireNumber(cat, 'id', `categories[${i}]`), cat));
    if (annotations && categories) {
      for (const ann of annotations) {
        const list = catToImgs.get(ann.category_id);
        if (list) list.push(ann.image_id);
        else catToImgs.set(ann.category_id, [ann.image_id]);
      }
    }
    this.anns = anns;
    this.imgs = imgs;
    this.cats = cats;
    this.imgToAnns = imgToAnns;
    this.catToImgs = catToImgs;
  }

  /** Prints `dataset.info` key by key, like pycocotools. */
  info(log: (line: string) => void = console.log): void {
    const info = this.dataset.info ?? {};
    for (const [k, v] of Object.entries(info)) log(`${k}: ${String(v)}`);
  }

  /**
   * Annotation ids passing all given filters (pycocotools `getAnnIds`): images
   * (in the order given), categories, `areaRng` exclusive at both ends
   * (`lo < area < hi`, unlike COCOeval's inclusive ranges), `iscrowd`.
   */
  getAnnIds(opts: { imgIds?: IdArg; catIds?: IdArg; areaRng?: readonly number[]; iscrowd?: number | boolean | null } = {}): number[] {
    const imgIds = idList(opts.imgIds);
    const catIds = idList(opts.catIds);
    const areaRng = opts.areaRng ?? [];
    let anns: CocoAnnotation[] = this.dataset.annotations ?? [];
    if (imgIds.length) anns = imgIds.flatMap((id) => this.imgToAnns.get(id) ?? []);
    if (catIds.length) {
      const set = new Set(catIds);
      anns = anns.filter((a) => set.has(a.category_id));
    }
    if (areaRng.length) {
      if (areaRng.length !== 2) throw new ValueError(`getAnnIds: areaRng must be [min, max], got ${JSON.stringify(areaRng)}`);
      anns = anns.filter((a) => {
        const area = requireNumber(a, 'area', `annotation ${a.id}`);
        return area > areaRng[0] && area < areaRng[1];
      });
    }
    const crowd = opts.iscrowd;
    if (crowd !== undefined && crowd !== null) anns = anns.filter((a) => Number(a.iscrowd) === Number(crowd));
    return anns.map((a) => a.id);
  }

  /** Category ids filtered by name, supercategory and id (pycocotools `getCatIds`), in dataset order. */
  getCatIds(opts: { catNms?: string | readonly string[]; supNms?: string | readonly string[]; catIds?: IdArg } = {}): number[] {
    const names = typeof opts.catNms === 'string' ? [opts.catNms] : opts.catNms ?? [];
    const sups = typeof opts.supNms === 'string' ? [opts.supNms] : opts.supNms ?? [];
    const ids = idList(opts.catIds);
    let cats = this.dataset.categories ?? [];
    if (names.length) cats = cats.filter((c) => names.includes(c.name as string));
    if (sups.length) cats = cats.filter((c) => sups.includes(c.supercategory as string));
    if (ids.length) cats = cats.filter((c) => ids.includes(c.id));
    return cats.map((c) => c.id);
  }

  /**
   * Image ids (pycocotools `getImgIds`): with no filter every image in dataset
   * order; otherwise the given images intersected with the images of each
   * category, returned in ascending order (pycocotools returns a Python set's order).
   */
  getImgIds(opts: { imgIds?: IdArg; catIds?: IdArg } = {}): number[] {
    const imgIds = idList(opts.imgIds);
    const catIds = idList(opts.catIds);
    if (!imgIds.length && !catIds.length) return [...this.imgs.keys()];
    let ids = new Set(imgIds);
    catIds.forEach((catId, i) => {
      const of = new Set(this.catToImgs.get(catId) ?? []);
      ids = i === 0 && ids.size === 0 ? of : new Set([...ids].filter((x) => of.has(x)));
    });
    return [...ids].sort((a, b) => a - b);
  }

  /** Annotations with the given ids (ValueError naming the first unknown id). */
  loadAnns(ids: IdArg): CocoAnnotation[] {
    return idList(ids).map((id) => lookup(this.anns, id, 'annotation'));
  }

  /** Categories with the given ids. */
  loadCats(ids: IdArg): CocoCategory[] {
    return idList(ids).map((id) => lookup(this.cats, id, 'category'));
  }

  /** Images with the given ids. */
  loadImgs(ids: IdArg): CocoImage[] {
    return idList(ids).map((id) => lookup(this.imgs, id, 'image'));
  }

  /** Low-level RLE of an annotation's segmentation (what COCOeval's segm IoU uses). */
  annToRle(ann: CocoAnnotation): Rle {
    const where = `annotation ${ann.id}`;
    if (ann.segmentation === undefined) throw new ValueError(`${where}.segmentation is missing`);
    const img = this.imgs.get(ann.image_id);
    if (Array.isArray(ann.segmentation)) {
      if (!img) throw new ValueError(`${where}: image ${ann.image_id} is not in the dataset`);
      const h = requireNumber(img, 'height', `image ${img.id}`);
      const w = requireNumber(img, 'width', `image ${img.id}`);
      return segmentationToRle(ann.segmentation, h, w, where);
    }
    return segmentationToRle(ann.segmentation, undefined, undefined, where);
  }

  /**
   * pycocotools `annToRLE`: the annotation's segmentation as a compressed RLE
   * (a compressed input comes back as the same object).
   */
  annToRLE(ann: CocoAnnotation): RLE {
    const s = ann.segmentation;
    if (isObject(s) && typeof s.counts === 'string') {
      this.annToRle(ann); // validates
      return s as RLE;
    }
    const R = this.annToRle(ann);
    return { size: [R.h, R.w], counts: rleToString(R) };
  }

  /** pycocotools `annToMask`: the binary mask of an annotation (as returned by `decode`). */
  annToMask(ann: CocoAnnotation): ReturnType<typeof decode> {
    return decode(this.annToRLE(ann));
  }

  /**
   * pycocotools `loadRes`: a COCO object holding `results` as annotations,
   * over this dataset's images and categories. The result type is decided by
   * the first result (pycocotools' rule): `bbox` (non-empty) → area = w*h,
   * segmentation = the box polygon unless given, iscrowd = 0; else
   * `segmentation` (compressed RLE) → area and (if absent) bbox from the RLE;
   * else `keypoints` → bbox and area from the keypoints' extent. Ids are
   * 1..N in input order. Results for images outside the dataset are an error
   * (pycocotools' assertion), as are results for unknown categories unless
   * `allowUnknownCategories`.
   */
  loadRes(results: readonly CocoResult[], opts: LoadResOptions = {}): COCO {
    if (!Array.isArray(results)) throw new ValueError(`loadRes: results must be an array of result objects, got ${describe(results)}`);
    const imgIds = new Set<number>(), catIds = new Set<number>();
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (!isObject(r)) throw new ValueError(`loadRes: results[${i}] must be an object, got ${describe(r)}`);
      if (!isNum(r.image_id) || !isNum(r.category_id) || !isNum(r.score)) {
        for (const f of ['image_id', 'category_id', 'score']) requireNumber(r, f, `results[${i}]`);
      }
      imgIds.add(r.image_id as number);
      catIds.add(r.category_id as number);
    }
    const unknownImgs = [...imgIds].filter((id) => !this.imgs.has(id));
    if (unknownImgs.length) {
      throw new ValueError(`loadRes: results do not correspond to this dataset: ${unknownImgs.length} image id(s) not in it (${unknownImgs.slice(0, 5).join(', ')}${unknownImgs.length > 5 ? ', ...' : ''})`);
    }
    if (!opts.allowUnknownCategories && this.dataset.categories) {
      const unknownCats = [...catIds].filter((id) => !this.cats.has(id));
      if (unknownCats.length) {
        throw new ValueError(`loadRes: results use category id(s) not in the dataset: ${unknownCats.slice(0, 5).join(', ')}${unknownCats.length > 5 ? ', ...' : ''}`);
      }
    }
    const anns = results.length ? deriveResults(results) : [];
    const res = new COCO({
      images: [...(this.dataset.images ?? [])],
      categories: this.dataset.categories ? structuredClone(this.dataset.categories) : [],
      annotations: anns,
    });
    return res;
  }

  /** `loadRes` on a results json file (Node only). */
  async loadResFile(path: string, opts: LoadResOptions = {}): Promise<COCO> {
    const { loadResFile } = await import('./node');
    return loadResFile(this, path, opts);
  }
}

function lookup<T>(map: Map<number, T>, id: number, what: string): T {
  const v = map.get(id);
  if (v === undefined) throw new ValueError(`no ${what} with id ${id}`);
  return v;
}

function deriveResults(results: readonly CocoResult[]): CocoAnnotation[] {
  const first = results[0];
  // Copies via Object.assign then plain property writes: V8 lays out spread copies of parsed json
  // in a form several times slower to read back, and a per-result object literal is garbage.
  const out = new Array<CocoAnnotation>(results.length);
  if (Array.isArray(first.bbox) && first.bbox.length > 0) {
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const bb = r.bbox as number[];
      if (!isNumbers(bb, 4)) requireNumbers(r, 'bbox', `results[${i}] (results[0] has a bbox, so every result needs one)`, 4);
      const x1 = bb[0], x2 = bb[0] + bb[2], y1 = bb[1], y2 = bb[1] + bb[3];
      const a = Object.assign({}, r) as CocoAnnotation;
      if (a.segmentation === undefined) a.segmentation = [[x1, y1, x1, y2, x2, y2, x2, y1]];
      a.area = bb[2] * bb[3];
      a.id = i + 1;
      a.iscrowd = 0;
      out[i] = a;
    }
    return out;
  }
  if (first.segmentation !== undefined) {
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const s = r.segmentation as unknown;
      if (!isObject(s) || typeof s.counts !== 'string') {
        throw new ValueError(`results[${i}].segmentation must be a compressed RLE {size, counts: string} (results[0] has a segmentation and no bbox), got ${describe(s)}`);
      }
      const R = segmentationToRle(s, undefined, undefined, `results[${i}]`);
      const a = Object.assign({}, r) as CocoAnnotation;
      a.area = rleArea(R);
      if (a.bbox === undefined) a.bbox = Array.from(rleToBbox(R));
      a.id = i + 1;
      a.iscrowd = 0;
      out[i] = a;
    }
    return out;
  }
  if (first.keypoints !== undefined) {
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const where = `results[${i}]`;
      const s = requireNumbers(r, 'keypoints', `${where} (results[0] has keypoints, so every result needs them)`);
      if (s.length < 2) throw new ValueError(`${where}.keypoints must hold x, y, v triplets, got ${s.length} number(s)`);
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let j = 0; j < s.length; j += 3) {
        x0 = Math.min(x0, s[j]);
        x1 = Math.max(x1, s[j]);
      }
      for (let j = 1; j < s.length; j += 3) {
        y0 = Math.min(y0, s[j]);
        y1 = Math.max(y1, s[j]);
      }
      const a = Object.assign({}, r) as CocoAnnotation;
      a.area = (x1 - x0) * (y1 - y0);
      a.id = i + 1;
      a.bbox = [x0, y0, x1 - x0, y1 - y0];
      out[i] = a;
    }
    return out;
  }
  throw new ValueError('loadRes: results[0] has none of bbox, segmentation, keypoints; cannot tell the result type');
}

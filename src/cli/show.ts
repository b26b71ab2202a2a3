/**
 * `visionops show`: renders one image's annotations to a PNG, like
 * pycocotools' `showAnns` over `imshow`. The image itself is drawn when a PNG
 * of it is given; otherwise the annotations go onto a grey canvas of the
 * image's size. (COCO images are JPEG: convert one with any tool to use it.)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { deflateSync, inflateSync } from 'node:zlib';
import { COCO } from '../coco/coco';
import { decodePng, encodePng, type RgbaImage } from '../coco/png';
import { renderAnnotations } from '../coco/render';
import { ValueError } from '../tensor/errors';
import { EXIT, parseFlags, UsageError, type Command } from './command';

const usage =
  'visionops show --gt instances.json --image-id N --out ann.png [--image image.png] [--alpha 0.5] [--line-width 2] ' +
  '[--no-masks] [--no-polygons] [--no-boxes] [--no-keypoints]';

async function readImage(path: string): Promise<RgbaImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ValueError(`cannot read image '${path}': ${(e as Error).message}`);
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    throw new ValueError(`'${path}' is a JPEG; only PNG images can be read (convert it, e.g. \`convert in.jpg out.png\`)`);
  }
  return decodePng(bytes, (z) => inflateSync(z));
}

function numberFlag(v: string | boolean | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return x;
}

export const show: Command = {
  usage,
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, {
      gt: 'string',
      'image-id': 'string',
      out: 'string',
      image: 'string',
      alpha: 'string',
      'line-width': 'string',
      'no-masks': 'boolean',
      'no-polygons': 'boolean',
      'no-boxes': 'boolean',
      'no-keypoints': 'boolean',
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
    for (const f of ['gt', 'image-id', 'out']) if (flags[f] === undefined) throw new UsageError(`--${f} is required`);
    const imageId = Number(flags['image-id']);
    if (!Number.isInteger(imageId)) throw new UsageError(`--image-id must be an integer, got '${flags['image-id']}'`);
    const alpha = numberFlag(flags.alpha, 'alpha', 0.5);
    const lineWidth = numberFlag(flags['line-width'], 'line-width', 2);

    const coco = await COCO.fromFile(flags.gt as string);
    const info = coco.imgs.get(imageId);
    if (!info) throw new ValueError(`image ${imageId} is not in '${flags.gt}'`);
    let target: RgbaImage;
    if (typeof flags.image === 'string') {
      target = await readImage(flags.image);
      if ((info.width !== undefined && info.width !== target.width) || (info.height !== undefined && info.height !== target.height)) {
        throw new ValueError(`'${flags.image}' is ${target.width}x${target.height} but image ${imageId} is ${info.width}x${info.height}`);
      }
    } else {
      const { width, height } = info;
      if (!Number.isInteger(width) || !Number.isInteger(height) || width! < 1 || height! < 1) {
        throw new ValueError(`image ${imageId} has no valid width/height; pass --image`);
      }
      const data = new Uint8Array(4 * width! * height!).fill(128);
      for (let i = 3; i < data.length; i += 4) data[i] = 255;
      target = { data, width: width!, height: height! };
      console.error('visionops show: no --image given, drawing on a grey background');
    }
    const anns = coco.loadAnns(coco.getAnnIds({ imgIds: [imageId] }));
    renderAnnotations(target, anns, {
      cats: [...coco.cats.values()],
      alpha,
      lineWidth,
      drawMasks: !flags['no-masks'],
      drawPolygons: !flags['no-polygons'],
      drawBoxes: !flags['no-boxes'],
      drawKeypoints: !flags['no-keypoints'],
    });
    await writeFile(flags.out as string, encodePng(target, (raw) => deflateSync(raw)));
    console.log(`wrote ${flags.out} (${target.width}x${target.height}, ${anns.length} annotations)`);
    return EXIT.ok;
  },
};

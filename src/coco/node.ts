/**
 * Node-only file loading for the COCO API. Kept apart from `./coco` so that the
 * library entry stays free of Node built-ins; `COCO.fromFile` and
 * `COCO.prototype.loadResFile` reach this module through a dynamic import.
 */
import { readFile } from 'node:fs/promises';
import { ValueError } from '../tensor/errors';
import { COCO, type CocoDataset, type CocoResult, type LoadResOptions } from './coco';

/** Reads and parses a json file; unreadable files and invalid json raise a ValueError naming the file. */
export async function readJsonFile(path: string, what = 'json file'): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValueError(`cannot read ${what} '${path}': ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValueError(`${what} '${path}' is not valid JSON: ${(e as Error).message}`);
  }
}

/** `COCO` of a dataset json file (pycocotools `COCO(annotation_file)`). */
export async function loadCocoFile(path: string): Promise<COCO> {
  const data = await readJsonFile(path, 'COCO annotation file');
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ValueError(`COCO annotation file '${path}' must hold a json object with images/annotations/categories`);
  }
  return new COCO(data as CocoDataset);
}

/** `coco.loadRes(path)`: results read from a json file holding an array of results. */
export async function loadResFile(coco: COCO, path: string, opts: LoadResOptions = {}): Promise<COCO> {
  const data = await readJsonFile(path, 'results file');
  if (!Array.isArray(data)) throw new ValueError(`results file '${path}' must hold a json array of results`);
  return coco.loadRes(data as CocoResult[], opts);
}

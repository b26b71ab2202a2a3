/**
 * A small PNG encoder and decoder over a zlib function passed in, so the
 * library stays free of Node built-ins: in Node pass `deflateSync` /
 * `inflateSync` from `node:zlib`; in a browser, any zlib-format (RFC 1950)
 * implementation, or skip PNG and draw into a canvas `ImageData` directly.
 *
 * Encodes 8-bit RGBA. Decodes non-interlaced 8-bit grey, grey+alpha, RGB,
 * RGBA and palette images (1/2/4/8-bit palette and grey, 16-bit reduced to
 * 8), which covers what image tools write; interlaced images are refused.
 */
import { ShapeError, ValueError } from '../tensor/errors';

/** Compresses or decompresses a zlib stream. */
export type ZlibFn = (data: Uint8Array) => Uint8Array;

/** RGBA pixels, row-major, 4 bytes per pixel (a canvas `ImageData` fits). */
export interface RgbaImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Decoded images above this many pixels are refused (a header can claim 2^31 x 2^31). */
const MAX_PIXELS = 2 ** 28;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

function checkImage(img: RgbaImage, name: string): void {
  const { width, height } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ValueError(`${name}: width and height must be positive integers, got ${width} x ${height}`);
  }
  if (img.data.length !== 4 * width * height) {
    throw new ShapeError(`${name}: data has ${img.data.length} bytes, expected 4*width*height = ${4 * width * height}`);
  }
}

/** Encodes RGBA pixels as an 8-bit RGBA PNG; `deflate` must produce a zlib stream. */
export function encodePng(img: RgbaImage, deflate: ZlibFn): Uint8Array {
  checkImage(img, 'encodePng');
  const { width, height, data } = img;
  const stride = 4 * width;
  // filter type 1 (Sub) on every row: cheap, and it shrinks flat colour areas a lot
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const s = y * stride;
    raw[o] = 1;
    for (let i = 0; i < 4; i++) raw[o + 1 + i] = data[s + i];
    for (let i = 4; i < stride; i++) raw[o + 1 + i] = (data[s + i] - data[s + i - 4]) & 0xff;
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit, RGBA, deflate, adaptive filtering, no interlace
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', deflate(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a PNG to RGBA pixels; `inflate` must decompress a zlib stream. */
export function decodePng(bytes: Uint8Array, inflate: ZlibFn): RgbaImage {
  const bad = (why: string): never => {
    throw new ValueError(`decodePng: ${why}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad('not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let p = 8;
  for (;;) {
    if (p + 12 > bytes.length) bad('truncated file (no IEND chunk)');
    const len = dv.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (p + 12 + len > bytes.length) bad(`truncated ${type} chunk`);
    const body = bytes.subarray(p + 8, p + 8 + len);
    if (crc32(bytes, p + 4, p + 8 + len) !== dv.getUint32(p + 8 + len)) bad(`CRC mismatch in ${type} chunk`);
    p += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) bad('IHDR chunk must be 13 bytes');
      const h = new DataView(body.buffer, body.byteOffset, 13);
      width = h.getUint32(0);
      height = h.getUint32(4);
      depth = body[8];
      colorType = body[9];
      if (body[12] !== 0) bad('interlaced PNGs are not supported');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
  }
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (channels === undefined) bad(`unknown colour type ${colorType}`);
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[colorType].includes(depth)) bad(`bit depth ${depth} is invalid for colour type ${colorType}`);
  if (width < 1 || height < 1 || width * height > MAX_PIXELS) bad(`image size ${width} x ${height} is empty or too large`);
  if (colorType === 3 && !palette) bad('palette image without PLTE chunk');

  const z = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let zo = 0;
  for (const c of idat) {
    z.set(c, zo);
    zo += c.length;
  }
  let raw: Uint8Array;
  try {
    raw = inflate(z);
  } catch (e) {
    return bad(`corrupt image data (${e instanceof Error ? e.message : String(e)})`);
  }
  const bpp = Math.max(1, (channels * depth) >> 3); // filter unit in bytes
  const stride = Math.ceil((width * channels * depth) / 8);
  if (raw.length < (stride + 1) * height) bad(`image data too short: ${raw.length} bytes for ${height} rows of ${stride + 1}`);

  // undo the per-row filters in place
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[o + i - bpp] : 0;
      const b = y > 0 ? rows[o - stride + i] : 0;
      const c = i >= bpp && y > 0 ? rows[o - stride + i - bpp] : 0;
      const x = raw[src + i];
      let v: number;
      if (f === 0) v = x;
      else if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) v = x + paeth(a, b, c);
      else return bad(`unknown filter type ${f} in row ${y}`);
      rows[o + i] = v & 0xff;
    }
  }

  // sample k of row y, scaled to 8 bits
  const sample = (y: number, k: number): number => {
    const o = y * stride;
    if (depth === 8) return rows[o + k];
    if (depth === 16) return rows[o + 2 * k];
    const perByte = 8 / depth;
    const byte = rows[o + Math.floor(k / perByte)];
    const shift = 8 - depth * ((k % perByte) + 1);
    const v = (byte >> shift) & ((1 << depth) - 1);
    return colorType === 3 ? v : Math.round((v * 255) / ((1 << depth) - 1));
  };
  const out = new Uint8Array(4 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = 4 * (y * width + x);
      if (colorType === 3) {
        const i = sample(y, x);
        if (3 * i + 2 >= palette!.length) bad(`palette index ${i} out of range`);
        out[q] = palette![3 * i];
        out[q + 1] = palette![3 * i + 1];
        out[q + 2] = palette![3 * i + 2];
        out[q + 3] = trns && i < trns.length ? trns[i] : 255;
      } else if (channels <= 2) {
        const g = sample(y, channels * x);
        out[q] = out[q + 1] = out[q + 2] = g;
        out[q + 3] = channels === 2 ? sample(y, 2 * x + 1) : 255;
      } else {
        out[q] = sample(y, channels * x);
        out[q + 1] = sample(y, channels * x + 1);
        out[q + 2] = sample(y, channels * x + 2);
        out[q + 3] = channels === 4 ? sample(y, 4 * x + 3) : 255;
      }
    }
  }
  return { data: out, width, height };
}

/**
 * Shader plumbing shared by the kernels: uniform structs, workgroup-count
 * folding under `maxComputeWorkgroupsPerDimension`, storage bindings of buffer
 * slices (for splitting work under `maxStorageBufferBindingSize`).
 */
import type { GPUBufferLike } from './types';

export type ParamType = 'u32' | 'i32' | 'f32';

/**
 * A uniform struct declared once per kernel: `wgsl` declares `struct Params`
 * and `var<uniform> p: Params` at `@group(0) @binding(0)`; `pack` lays the
 * values out (all scalars are 4 bytes, so fields follow each other).
 */
export interface ParamSpec<K extends string> {
  readonly wgsl: string;
  pack(values: Record<K, number>): ArrayBuffer;
}

export function params<K extends string>(fields: Record<K, ParamType>): ParamSpec<K> {
  const names = Object.keys(fields) as K[];
  const wgsl = `struct Params {\n${names.map((n) => `  ${n}: ${fields[n]},`).join('\n')}\n}\n@group(0) @binding(0) var<uniform> p: Params;\n`;
  const bytes = Math.max(16, Math.ceil((names.length * 4) / 16) * 16);
  return {
    wgsl,
    pack(values) {
      const buf = new ArrayBuffer(bytes);
      const view = new DataView(buf);
      names.forEach((n, i) => {
        const v = values[n];
        const t = fields[n];
        if (t === 'f32') view.setFloat32(i * 4, v, true);
        else if (t === 'i32') view.setInt32(i * 4, v, true);
        else view.setUint32(i * 4, v, true);
      });
      return buf;
    },
  };
}

/**
 * WGSL for the flat id of the current workgroup when a 1-D launch of more than
 * `maxComputeWorkgroupsPerDimension` groups was folded into x and y (see
 * {@link foldWorkgroups}). Kernels declare `@builtin(workgroup_id) wg: vec3u`
 * and `@builtin(num_workgroups) nwg: vec3u`.
 */
export const FLAT_WORKGROUP = 'let wid = wg.x + wg.y * nwg.x;';

/**
 * Entry point of a kernel with one thread per item: 256-thread workgroups on
 * the folded grid, `e` the item index, threads past `p.total` (a field of the
 * kernel's uniform `p`) return. The kernel's body follows, then its closing `}`.
 */
export const FLAT_MAIN = `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  ${FLAT_WORKGROUP}
  let e = wid * 256u + li;
  if (e >= p.total) { return; }`;

/** Splits `count` workgroups into an x-by-y grid with both sides within `maxPerDim`. */
export function foldWorkgroups(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}

/** A storage binding of part of a buffer. */
export interface BufferSlice {
  readonly buffer: GPUBufferLike;
  /** Byte offset, a multiple of the device's storage offset alignment. */
  readonly offset: number;
  readonly size: number;
}

/**
 * Binds elements `[start, start + count)` (4-byte elements) of `buffer`.
 * Binding offsets must be aligned, so the slice may start up to `align - 4`
 * bytes earlier: `shift` is how many elements the kernel adds to its indices.
 */
export function sliceOf(buffer: GPUBufferLike, start: number, count: number, align: number): { slice: BufferSlice; shift: number } {
  const byteStart = start * 4;
  const offset = Math.floor(byteStart / align) * align;
  const shift = (byteStart - offset) / 4;
  return { slice: { buffer, offset, size: Math.max(4, (shift + count) * 4) }, shift };
}

/**
 * How many units (images, planes, boxes...) go into one dispatch so that every
 * binding stays within `maxBytes`: `unitBytes` lists the bytes one unit takes
 * in each split binding. Throws when a single unit is already too big.
 */
export function unitsPerChunk(op: string, total: number, unitBytes: readonly number[], maxBytes: number, what: string): number {
  const worst = Math.max(4, ...unitBytes);
  const n = Math.floor(maxBytes / worst);
  if (n < 1) {
    throw new RangeError(
      `${op}(): one ${what} needs a ${worst}-byte storage binding, above this device's limit of ${maxBytes} bytes ` +
        '(maxStorageBufferBindingSize); split the input or run this op on the CPU',
    );
  }
  return Math.min(total, n);
}

const bitsView = new DataView(new ArrayBuffer(4));

/** The bits of `v` rounded to float32, as an int32 (how tables carry floats among integers). */
export function f32Bits(v: number): number {
  bitsView.setFloat32(0, v, true);
  return bitsView.getInt32(0, true);
}

/** Cache of compiled pipelines by WGSL source. */
export class PipelineCache<P> {
  private readonly map = new Map<string, P>();
  constructor(private readonly compile: (code: string) => P) {}
  get(code: string): P {
    let p = this.map.get(code);
    if (!p) {
      p = this.compile(code);
      this.map.set(code, p);
    }
    return p;
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * Splits `count` rows (of an output plane) into consecutive bands `[r0, r1)`,
 * each as long as the bindings allow: `bytes(r0, r1)` lists what the band takes
 * in each split binding and must not shrink as `r1` grows. A one-row band that
 * does not fit throws {@link unitsPerChunk}'s RangeError about one `what`.
 */
export function rowBands(op: string, count: number, bytes: (r0: number, r1: number) => readonly number[], maxBytes: number, what: string): [number, number][] {
  const fits = (r0: number, r1: number) => Math.max(...bytes(r0, r1)) <= maxBytes;
  const bands: [number, number][] = [];
  for (let r0 = 0; r0 < count; ) {
    unitsPerChunk(op, 1, bytes(r0, r0 + 1), maxBytes, what);
    // Galloping, then bisecting, calls `bytes` O(log band) times: it may cost O(band) itself.
    let ok = r0 + 1;
    let bad = count + 1;
    for (let step = 1; ok < count && bad > count; step *= 2) {
      const r1 = Math.min(count, ok + step);
      if (fits(r0, r1)) ok = r1;
      else bad = r1;
    }
    while (bad - ok > 1) {
      const mid = Math.floor((ok + bad) / 2);
      if (fits(r0, mid)) ok = mid;
      else bad = mid;
    }
    bands.push([r0, ok]);
    r0 = ok;
  }
  return bands;
}

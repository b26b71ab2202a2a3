import type { GPUBufferLike, GPUDeviceLike } from './types';

/** Byte counts the backend reports through `backend.memory()`. */
export interface GPUMemoryInfo {
  /** Bytes of buffers held by live GPU tensors and in-flight temporaries. */
  bytesInUse: number;
  /** Bytes of free buffers kept for reuse. */
  bytesPooled: number;
  /** Buffers currently allocated on the device (in use + pooled). */
  buffers: number;
  /** Live {@link GPUTensor}s created by this backend and not yet disposed. */
  tensors: number;
}

/**
 * Rounds a request up to a size class: steps of a quarter of the enclosing
 * power of two (at least 256 bytes), so a freed buffer serves later requests
 * of similar size while wasting at most 25%.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(256, pow / 4);
  return Math.ceil(bytes / step) * step;
}

/**
 * Free lists of device buffers keyed by usage and size class. Buffers given
 * back are only reused by work submitted later; WebGPU orders queue operations,
 * so a reused buffer is never written before earlier commands finished with it.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBufferLike[]>();
  private readonly sizes = new WeakMap<GPUBufferLike, number>();
  bytesInUse = 0;
  bytesPooled = 0;
  buffers = 0;

  constructor(
    private readonly device: GPUDeviceLike,
    /** Free bytes above which released buffers are destroyed instead of kept. */
    private readonly maxPooledBytes: number,
  ) {}

  acquire(bytes: number, usage: number): GPUBufferLike {
    const size = sizeClass(bytes);
    const list = this.free.get(key(size, usage));
    let buf = list?.pop();
    if (buf) {
      this.bytesPooled -= size;
    } else {
      buf = this.device.createBuffer({ size, usage });
      this.sizes.set(buf, size);
      this.buffers++;
    }
    this.bytesInUse += size;
    return buf;
  }

  release(buf: GPUBufferLike, usage: number): void {
    const size = this.sizes.get(buf) ?? buf.size;
    this.bytesInUse -= size;
    if (this.bytesPooled + size > this.maxPooledBytes) {
      buf.destroy();
      this.buffers--;
      return;
    }
    const k = key(size, usage);
    const list = this.free.get(k);
    if (list) list.push(buf);
    else this.free.set(k, [buf]);
    this.bytesPooled += size;
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) buf.destroy();
      this.buffers -= list.length;
    }
    this.free.clear();
    this.bytesPooled = 0;
  }
}

function key(size: number, usage: number): string {
  return `${usage}:${size}`;
}

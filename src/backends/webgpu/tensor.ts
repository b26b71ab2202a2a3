import { fmtShape, shapeSize, Tensor, ValueError } from '../../tensor';
import type { GPUBufferLike } from './types';

/** Element types a GPU tensor holds: WGSL has `f32` and `i32`, no 64-bit floats. */
export type GPUDType = 'float32' | 'int32';

/** What a {@link GPUTensor} needs from the backend that made it. */
export interface GPUTensorOwner {
  readTensor(t: GPUTensor): Promise<Tensor>;
  releaseTensor(t: GPUTensor): void;
}

/**
 * A tensor whose elements live in a device buffer (dense, row-major, 4 bytes
 * per element). Results of GPU ops stay on the device until {@link read}.
 * Free it with {@link dispose} (or a `using` declaration, through
 * `Symbol.dispose`): its buffer returns to the backend's pool.
 */
export class GPUTensor {
  readonly shape: readonly number[];
  readonly dtype: GPUDType;
  private buf: GPUBufferLike | null;

  /** @internal Tensors are made by the backend (`upload` and the ops). */
  constructor(
    private readonly owner: GPUTensorOwner,
    buffer: GPUBufferLike,
    shape: readonly number[],
    dtype: GPUDType,
  ) {
    this.buf = buffer;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return shapeSize(this.shape);
  }

  get isDisposed(): boolean {
    return this.buf === null;
  }

  /** The device buffer; elements start at byte 0. Throws once disposed. */
  get buffer(): GPUBufferLike {
    if (!this.buf) throw new ValueError(`GPUTensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    return this.buf;
  }

  /** Copies the elements back into a CPU {@link Tensor} (float32 or int32). */
  read(): Promise<Tensor> {
    return this.owner.readTensor(this);
  }

  /** Same as {@link read}. */
  toCPU(): Promise<Tensor> {
    return this.read();
  }

  /** Returns the buffer to the pool. Calling it twice is harmless. */
  dispose(): void {
    if (!this.buf) return;
    this.owner.releaseTensor(this);
    this.buf = null;
  }

  toString(): string {
    return `GPUTensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype})`;
  }
}

// `Symbol.dispose` is missing from older runtimes and from the ES2022 lib.
const disposeSymbol = (Symbol as unknown as { dispose?: symbol }).dispose;
if (disposeSymbol) {
  Object.defineProperty(GPUTensor.prototype, disposeSymbol, {
    value(this: GPUTensor) {
      this.dispose();
    },
  });
}

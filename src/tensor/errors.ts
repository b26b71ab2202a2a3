/**
 * Typed errors. Every check in the library throws one of these with a message
 * that names the argument and what was expected, in the spirit of PyTorch's
 * messages, so a bad call fails at the boundary and never deep in a kernel.
 */

/** Base class of every error the library throws on bad input. */
export class VisionOpsError extends Error {
  override name = 'VisionOpsError';
}

/** A tensor has the wrong number of dimensions or incompatible sizes. */
export class ShapeError extends VisionOpsError {
  override name = 'ShapeError';
}

/** A tensor has a dtype the operation does not accept. */
export class DTypeError extends VisionOpsError {
  override name = 'DTypeError';
}

/** An argument has an invalid value (PyTorch raises RuntimeError/ValueError). */
export class ValueError extends VisionOpsError {
  override name = 'ValueError';
}

/** An index or dimension is out of range (PyTorch's IndexError). */
export class IndexError extends VisionOpsError {
  override name = 'IndexError';
}

/** Formats a shape the way PyTorch prints it: `[2, 3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

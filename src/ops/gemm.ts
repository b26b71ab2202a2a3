/**
 * Packed, register-blocked matrix product used by the convolutions:
 * `C[M, N] += A[M, K] · B[K, N]` in float64.
 *
 * A is packed once into panels of {@link MR} rows (for each k, the MR values
 * of that column are adjacent), B is a row-major block the caller fills (an
 * im2col tile or a slice of the input) with row stride `ldb`, and C is a
 * row-major float64 tile. The micro-kernel keeps an MR x NR block of C in local
 * variables across the whole k loop, so each k step costs MR + NR loads for
 * MR * NR multiply-adds. 8 x 6 measured fastest among 2..8 x 2..8 shapes in V8
 * (x64, scalar doubles). Float64 panels avoid a float32 -> float64 conversion per
 * load and make the accumulation more accurate than float32 BLAS.
 */

/** Rows of a packed A panel (micro-kernel height). */
export const MR = 8;
/** Columns of the micro-kernel; callers round their B tile width up to a multiple of NR. */
export const NR = 6;

/** Rounds `n` up to a multiple of `m`. */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Packs the M x K matrix `A[r][c] = src[offset + r*rowStride + c*colStride]`
 * into MR-row panels, zero-filling the rows past M. Panel `p` starts at
 * `p * MR * K` and holds column k at `p*MR*K + k*MR`.
 */
export function packA(
  src: ArrayLike<number>,
  offset: number,
  rowStride: number,
  colStride: number,
  m: number,
  k: number,
): Float64Array {
  const panels = Math.ceil(m / MR);
  const out = new Float64Array(panels * MR * k);
  for (let p = 0; p < panels; p++) {
    const rows = Math.min(MR, m - p * MR);
    const base = p * MR * k;
    for (let i = 0; i < rows; i++) {
      let s = offset + (p * MR + i) * rowStride;
      for (let c = 0, d = base + i; c < k; c++, d += MR, s += colStride) out[d] = src[s];
    }
  }
  return out;
}

/**
 * `C[0:mPad, 0:ncPad] += A[:, k0:k0+kc] · B[0:kc, 0:ncPad]` where `a` is
 * {@link packA}'s output for a K-column matrix, `b` holds kc rows of stride
 * `ldb` (at least `ncPad` wide, `ncPad` a multiple of NR) and `c` has row
 * stride `ldc` and at least `mPanels * MR` rows.
 */
export function gemmBlock(
  a: Float64Array,
  kTotal: number,
  k0: number,
  kc: number,
  mPanels: number,
  b: Float64Array,
  ldb: number,
  ncPad: number,
  c: Float64Array,
  ldc: number,
): void {
  for (let j = 0; j < ncPad; j += NR) {
    for (let p = 0; p < mPanels; p++) {
      kernel8x6(a, (p * kTotal + k0) * MR, b, j, ldb, kc, c, p * MR * ldc + j, ldc);
    }
  }
}

function kernel8x6(a: Float64Array, ao: number, b: Float64Array, bo: number, ldb: number, kc: number, c: Float64Array, co: number, ldc: number): void {
  const r1 = co + ldc;
  const r2 = r1 + ldc;
  const r3 = r2 + ldc;
  const r4 = r3 + ldc;
  const r5 = r4 + ldc;
  const r6 = r5 + ldc;
  const r7 = r6 + ldc;
  let c00 = c[co], c01 = c[co + 1], c02 = c[co + 2], c03 = c[co + 3], c04 = c[co + 4], c05 = c[co + 5];
  let c10 = c[r1], c11 = c[r1 + 1], c12 = c[r1 + 2], c13 = c[r1 + 3], c14 = c[r1 + 4], c15 = c[r1 + 5];
  let c20 = c[r2], c21 = c[r2 + 1], c22 = c[r2 + 2], c23 = c[r2 + 3], c24 = c[r2 + 4], c25 = c[r2 + 5];
  let c30 = c[r3], c31 = c[r3 + 1], c32 = c[r3 + 2], c33 = c[r3 + 3], c34 = c[r3 + 4], c35 = c[r3 + 5];
  let c40 = c[r4], c41 = c[r4 + 1], c42 = c[r4 + 2], c43 = c[r4 + 3], c44 = c[r4 + 4], c45 = c[r4 + 5];
  let c50 = c[r5], c51 = c[r5 + 1], c52 = c[r5 + 2], c53 = c[r5 + 3], c54 = c[r5 + 4], c55 = c[r5 + 5];
  let c60 = c[r6], c61 = c[r6 + 1], c62 = c[r6 + 2], c63 = c[r6 + 3], c64 = c[r6 + 4], c65 = c[r6 + 5];
  let c70 = c[r7], c71 = c[r7 + 1], c72 = c[r7 + 2], c73 = c[r7 + 3], c74 = c[r7 + 4], c75 = c[r7 + 5];
  for (let k = 0; k < kc; k++, ao += MR, bo += ldb) {
    const b0 = b[bo], b1 = b[bo + 1], b2 = b[bo + 2], b3 = b[bo + 3], b4 = b[bo + 4], b5 = b[bo + 5];
    let x = a[ao];
    c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3; c04 += x * b4; c05 += x * b5;
    x = a[ao + 1];
    c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3; c14 += x * b4; c15 += x * b5;
    x = a[ao + 2];
    c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3; c24 += x * b4; c25 += x * b5;
    x = a[ao + 3];
    c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3; c34 += x * b4; c35 += x * b5;
    x = a[ao + 4];
    c40 += x * b0; c41 += x * b1; c42 += x * b2; c43 += x * b3; c44 += x * b4; c45 += x * b5;
    x = a[ao + 5];
    c50 += x * b0; c51 += x * b1; c52 += x * b2; c53 += x * b3; c54 += x * b4; c55 += x * b5;
    x = a[ao + 6];
    c60 += x * b0; c61 += x * b1; c62 += x * b2; c63 += x * b3; c64 += x * b4; c65 += x * b5;
    x = a[ao + 7];
    c70 += x * b0; c71 += x * b1; c72 += x * b2; c73 += x * b3; c74 += x * b4; c75 += x * b5;
  }
  c[co] = c00; c[co + 1] = c01; c[co + 2] = c02; c[co + 3] = c03; c[co + 4] = c04; c[co + 5] = c05;
  c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13; c[r1 + 4] = c14; c[r1 + 5] = c15;
  c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23; c[r2 + 4] = c24; c[r2 + 5] = c25;
  c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33; c[r3 + 4] = c34; c[r3 + 5] = c35;
  c[r4] = c40; c[r4 + 1] = c41; c[r4 + 2] = c42; c[r4 + 3] = c43; c[r4 + 4] = c44; c[r4 + 5] = c45;
  c[r5] = c50; c[r5 + 1] = c51; c[r5 + 2] = c52; c[r5 + 3] = c53; c[r5 + 4] = c54; c[r5 + 5] = c55;
  c[r6] = c60; c[r6 + 1] = c61; c[r6 + 2] = c62; c[r6 + 3] = c63; c[r6 + 4] = c64; c[r6 + 5] = c65;
  c[r7] = c70; c[r7 + 1] = c71; c[r7 + 2] = c72; c[r7 + 3] = c73; c[r7 + 4] = c74; c[r7 + 5] = c75;
}

/**
 * conv2d and convTranspose2d on the GPU. Argument checks and output geometry
 * come from the CPU op's resolvers ({@link resolveConv2d},
 * {@link resolveConvTranspose2d}), so both backends accept and reject the same calls.
 */
import {
  resolveConv2d,
  resolveConvTranspose2d,
  type Conv2dParams,
  type Conv2dPlan,
  type ConvGeometry,
  type ConvTranspose2dParams,
} from '../../../ops/conv';
import type { BufferCopy, Dispatch, GPUInput, WebGPUBackend } from '../backend';
import { FLAT_MAIN, params, unitsPerChunk, type BufferSlice } from '../program';
import type { GPUTensor } from '../tensor';

export interface GPUConv2dOptions extends Conv2dParams {
  bias?: GPUInput | null;
}

export interface GPUConvTranspose2dOptions extends ConvTranspose2dParams {
  bias?: GPUInput | null;
}

const convParams = params({
  cIn: 'u32', H: 'u32', W: 'u32', cOut: 'u32', cInG: 'u32', cOutG: 'u32', groups: 'u32',
  kh: 'u32', kw: 'u32', sh: 'u32', sw: 'u32', dh: 'u32', dw: 'u32', pt: 'i32', pl: 'i32',
  outH: 'u32', outW: 'u32', xShift: 'u32', wShift: 'u32', bShift: 'u32', yShift: 'u32', mBase: 'u32', total: 'u32',
  // One output phase of a transposed conv (see phasePlan).
  ry: 'u32', rx: 'u32', qH: 'u32', qW: 'u32', ky0: 'u32', kx0: 'u32', nky: 'u32', nkx: 'u32',
  tky: 'u32', tkx: 'u32', diy: 'u32', dix: 'u32', cy: 'i32', cx: 'i32',
});
const NO_PHASE = { ry: 0, rx: 0, qH: 0, qW: 0, ky0: 0, kx0: 0, nky: 0, nkx: 0, tky: 0, tkx: 0, diy: 0, dix: 0, cy: 0, cx: 0 };
type ConvValues = Parameters<typeof convParams.pack>[0];

/** Tile of the implicit GEMM: 64 output positions x 64 output channels, K in steps of 16; 16x16 threads, 4x4 each. */
const BM = 64;

function bindings(hasBias: boolean, outBinding: number): string {
  return `@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
${hasBias ? '@group(0) @binding(3) var<storage, read> Bias: array<f32>;' : ''}
@group(0) @binding(${outBinding}) var<storage, read_write> Y: array<f32>;`;
}

/**
 * Implicit-GEMM convolution: rows are output positions of one image and group,
 * columns output channels, the reduction runs over (input channel, ky, kx).
 * Each K step stages a 16 x 64 im2col tile (zero outside the padded input) and a
 * 16 x 64 weight tile in workgroup memory; every thread keeps a 4 x 4 block of
 * accumulators, reading rows strided by 16 so that neighbouring threads write
 * neighbouring output positions. `transposed` turns it into one output phase
 * of convTranspose2d (weight `[C_in, C_out / groups, kH, kW]`): the outputs
 * `(ry + s*qy, rx + s*qx)`, whose taps are exactly those with
 * `ky*d = ry + pad (mod s)`, `ky = ky0 + tky*j`, reading input row `qy + cy - diy*j`:
 * a dense stride-1 problem, so no multiply-add is spent on skipped taps.
 */
function gemmShader(hasBias: boolean, transposed: boolean, wgy: number): string {
  // 16 x wgy threads; the channel tile is 4 * wgy wide (64, or 32 for narrow layers).
  const threads = 16 * wgy;
  const bn = 4 * wgy;
  return `${convParams.wgsl}${bindings(hasBias, hasBias ? 4 : 3)}
const BM = ${BM}u;
const BN = ${bn}u;
const BK = 16u;
var<workgroup> As: array<f32, ${16 * BM}>;
var<workgroup> Bs: array<f32, ${16 * bn}>;

@compute @workgroup_size(16, ${wgy})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let khw = p.kh * p.kw;
  let M = ${transposed ? 'p.qH * p.qW' : 'p.outH * p.outW'};
  let taps = ${transposed ? 'p.nky * p.nkx' : 'khw'};
  let K = p.cInG * taps;
  let plane = p.H * p.W;
  let m0 = p.mBase + wg.x * BM;
  let n0 = wg.y * BN;
  let img = wg.z / p.groups;
  let g = wg.z % p.groups;
  let xBase = p.xShift + (img * p.cIn + g * p.cInG) * plane;
  let wBase = p.wShift + g * p.cOutG * p.cInG * khw;
  // This thread stages im2col column aRow (one output position) at K rows aK0 + 4r,
  // and weight row bK (one K index) for output channels bN0 + 16r.
  let aCol = li % BM;
  let aK0 = li / BM;
  let am = m0 + aCol;
  ${
    transposed
      ? 'let oy = i32(am / p.qW) + p.cy;\n  let ox = i32(am % p.qW) + p.cx;'
      : 'let oy = i32((am / p.outW) * p.sh) - p.pt;\n  let ox = i32((am % p.outW) * p.sw) - p.pl;'
  }
  let bK = li % BK;
  let bN0 = li / BK;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < K; k0 += BK) {
${Array.from({ length: (16 * BM) / threads }, (_, r) => `    {
      let kk = aK0 + ${(r * threads) / BM}u;
      let k = k0 + kk;
      var v = 0.0;
      if (k < K && am < M) {
        let ci = k / taps;
        let rem = k % taps;
        ${
          transposed
            ? `let iy = oy - i32((rem / p.nkx) * p.diy);
        let ix = ox - i32((rem % p.nkx) * p.dix);`
            : `let iy = oy + i32((rem / p.kw) * p.dh);
        let ix = ox + i32((rem % p.kw) * p.dw);`
        }
        if (iy >= 0 && iy < i32(p.H) && ix >= 0 && ix < i32(p.W)) {
          v = X[xBase + ci * plane + u32(iy) * p.W + u32(ix)];
        }
      }
      As[kk * BM + aCol] = v;
    }`).join('\n')}
${[0, 1, 2, 3].map((r) => `    {
      let nn = bN0 + ${(r * threads) / 16}u;
      var v = 0.0;
      if (n0 + nn < p.cOutG && k0 + bK < K) {
        ${
          transposed
            ? `let kb = k0 + bK;
        let rem = kb % taps;
        let ky = p.ky0 + (rem / p.nkx) * p.tky;
        let kx = p.kx0 + (rem % p.nkx) * p.tkx;
        v = Wt[wBase + ((kb / taps) * p.cOutG + n0 + nn) * khw + ky * p.kw + kx];`
            : 'v = Wt[wBase + (n0 + nn) * K + k0 + bK];'
        }
      }
      Bs[bK * BN + nn] = v;
    }`).join('\n')}
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ar = kk * BM + lid.x;
      let br = kk * BN + lid.y;
      let a = vec4f(As[ar], As[ar + 16u], As[ar + 32u], As[ar + 48u]);
      let b = vec4f(Bs[br], Bs[br + ${wgy}u], Bs[br + ${2 * wgy}u], Bs[br + ${3 * wgy}u]);
      acc0 = fma(vec4f(a.x), b, acc0);
      acc1 = fma(vec4f(a.y), b, acc1);
      acc2 = fma(vec4f(a.z), b, acc2);
      acc3 = fma(vec4f(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + lid.y + ${wgy}u * j;
    if (n >= p.cOutG) { continue; }
    let co = g * p.cOutG + n;
    ${hasBias ? 'let bv = Bias[p.bShift + co];' : 'let bv = 0.0;'}
    let yBase = p.yShift + (img * p.cOut + co) * p.outH * p.outW;
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + lid.x + 16u * i;
      ${
        transposed
          ? 'if (m < M) { Y[yBase + (p.ry + p.sh * (m / p.qW)) * p.outW + p.rx + p.sw * (m % p.qW)] = accs[i][j] + bv; }'
          : 'if (m < M) { Y[yBase + m] = accs[i][j] + bv; }'
      }
    }
  }
}
`;
}

/** Outputs of one row, and rows, each thread of the direct kernel computes. */
const DIRECT_RUN = 4;
const DIRECT_ROWS = 2;
/**
 * Kernels with more taps run their rows in a loop, one output row a thread:
 * unrolling them all makes shaders that SwiftShader takes seconds (15x15) to
 * minutes (31x31) to compile.
 */
const MAX_UNROLLED_TAPS = 49;

/** Output rows a direct-kernel thread computes. */
function directRows(geo: Geometry): number {
  return geo.kh * geo.kw <= MAX_UNROLLED_TAPS ? DIRECT_ROWS : 1;
}

/**
 * Direct convolution for depthwise and other convs with few channels per
 * group: each thread computes {@link DIRECT_ROWS} x {@link DIRECT_RUN}
 * neighbouring outputs. The shader is specialised on the kernel's size,
 * stride and dilation, so the input rows and columns the block reads are
 * known: each is loaded once into registers and serves every output and tap
 * that reads it (for 3x3 stride 1: 24 loads for 8 outputs, where a thread per
 * output would make 72), and every weight once per block. Above
 * {@link MAX_UNROLLED_TAPS} taps the kernel rows run in a loop, each row's
 * columns loaded once for one output row.
 * `p.total` counts threads (images x channels x row blocks x runs).
 */
function directShader(hasBias: boolean, geo: Geometry): string {
  const { kw, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = geo;
  const Q = DIRECT_RUN;
  const R = directRows(geo);
  const looped = R === 1;
  // Kernel rows unrolled in the body; a looped kernel's body is one row, `ky` the loop's.
  const kh = looped ? 1 : geo.kh;
  const distinct = (n: number, k: number, s: number, d: number) =>
    [...new Set(Array.from({ length: n * k }, (_, i) => Math.floor(i / k) * s + (i % k) * d))].sort((a, b) => a - b);
  const rows = distinct(R, kh, sh, dh);
  const cols = distinct(Q, kw, sw, dw);
  const v = (r: number, c: number) => `x${r}_${c}`;
  // Rows and columns outside the image read as 0 (a clamped load, then a select: no branches).
  const loads = rows.map((r) => `let y${r} = iyk + ${r}; let yIn${r} = y${r} >= 0 && y${r} < H; let row${r} = xPlane + clamp(y${r}, 0, H - 1) * W;`);
  const colIdx = cols.map((c) => `let x${c} = ix0 + ${c}; let xIn${c} = x${c} >= 0 && x${c} < W; let col${c} = clamp(x${c}, 0, W - 1);`);
  const values = rows.flatMap((r) => cols.map((c) => `let ${v(r, c)} = select(0.0, X[row${r} + col${c}], yIn${r} && xIn${c});`));
  const weights = Array.from({ length: kh * kw }, (_, t) => `let w${t} = vec4f(Wt[wRow + ${t}u]);`);
  // acc<r>_<a>: outputs ox0 + 4a .. ox0 + 4a + 3 of row oy0 + r.
  const groups = Array.from({ length: Q / 4 }, (_, a) => a);
  const taps = Array.from({ length: R }, (_, r) =>
    groups.flatMap((a) =>
      Array.from({ length: kh * kw }, (_, t) => {
        const [ky, kx] = [Math.floor(t / kw), t % kw];
        const lanes = [0, 1, 2, 3].map((l) => v(r * sh + ky * dh, (4 * a + l) * sw + kx * dw));
        return `acc${r}_${a} = fma(vec4f(${lanes.join(', ')}), w${t}, acc${r}_${a});`;
      }),
    ),
  ).flat();
  const accs = Array.from({ length: R }, (_, r) => groups.map((a) => `var acc${r}_${a} = vec4f(${hasBias ? 'Bias[p.bShift + co]' : '0.0'});`)).flat();
  const stores = Array.from({ length: R }, (_, r) => {
    const lines = groups.flatMap((a) =>
      [0, 1, 2, 3].map((l) => {
        const k = 4 * a + l;
        const store = `Y[o + ${r}u * p.outW + ${k}u] = acc${r}_${a}.${'xyzw'[l]};`;
        return k === 0 ? store : `if (ox0 + ${k}u < p.outW) { ${store} }`;
      }),
    );
    return r === 0 ? lines.join('\n  ') : `if (oy0 + ${r}u < p.outH) {\n    ${lines.join('\n    ')}\n  }`;
  });
  return `${convParams.wgsl}${bindings(hasBias, hasBias ? 4 : 3)}
${FLAT_MAIN}
  let runs = (p.outW + ${Q - 1}u) / ${Q}u;
  let rowBlocks = (p.outH + ${R - 1}u) / ${R}u;
  let ox0 = (e % runs) * ${Q}u;
  let t = e / runs;
  let oy0 = (t % rowBlocks) * ${R}u;
  let t2 = t / rowBlocks;
  let co = t2 % p.cOut;
  let img = t2 / p.cOut;
  let g = co / p.cOutG;
  let plane = p.H * p.W;
  let xBase = p.xShift + (img * p.cIn + g * p.cInG) * plane;
  let wBase = p.wShift + co * p.cInG * ${geo.kh * kw}u;
  let iy0 = i32(oy0) * ${sh} - p.pt;
  let ix0 = i32(ox0) * ${sw} - p.pl;
  let H = i32(p.H);
  let W = i32(p.W);
  ${colIdx.join('\n  ')}
  ${accs.join(' ')}
  for (var ci = 0u; ci < p.cInG; ci++) {
    let xPlane = i32(xBase + ci * plane);
    ${looped ? `for (var ky = 0u; ky < ${geo.kh}u; ky++) {` : '{'}
    let iyk = iy0${looped ? ` + i32(ky) * ${dh}` : ''};
    let wRow = wBase + ci * ${geo.kh * kw}u${looped ? ` + ky * ${kw}u` : ''};
    ${loads.join('\n    ')}
    ${values.join('\n    ')}
    ${weights.join('\n    ')}
    ${taps.join('\n    ')}
    }
  }
  let o = p.yShift + ((img * p.cOut + co) * p.outH + oy0) * p.outW + ox0;
  ${stores.join('\n  ')}
}
`;
}

/**
 * Transposed convolution as a gather: output (oy, ox) takes input (iy, ix)
 * through tap (ky, kx) when `oy + pad - ky*dilation` is a non-negative multiple
 * of the stride below `H * stride`.
 */
function transposedShader(hasBias: boolean): string {
  return `${convParams.wgsl}${bindings(hasBias, hasBias ? 4 : 3)}
${FLAT_MAIN}
  let M = p.outH * p.outW;
  let m = e % M;
  let t = e / M;
  let co = t % p.cOut;
  let img = t / p.cOut;
  let g = co / p.cOutG;
  let cog = co % p.cOutG;
  let plane = p.H * p.W;
  let xBase = p.xShift + (img * p.cIn + g * p.cInG) * plane;
  let khw = p.kh * p.kw;
  let wBase = p.wShift + (g * p.cInG * p.cOutG + cog) * khw;
  let oy = i32(m / p.outW) + p.pt;
  let ox = i32(m % p.outW) + p.pl;
  ${hasBias ? 'var acc = Bias[p.bShift + co];' : 'var acc = 0.0;'}
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = oy - i32(ky * p.dh);
    if (ty < 0 || ty % i32(p.sh) != 0) { continue; }
    let iy = u32(ty) / p.sh;
    if (iy >= p.H) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let tx = ox - i32(kx * p.dw);
      if (tx < 0 || tx % i32(p.sw) != 0) { continue; }
      let ix = u32(tx) / p.sw;
      if (ix >= p.W) { continue; }
      let xi = xBase + iy * p.W + ix;
      let wi = wBase + ky * p.kw + kx;
      for (var ci = 0u; ci < p.cInG; ci++) {
        acc = fma(X[xi + ci * plane], Wt[wi + ci * p.cOutG * khw], acc);
      }
    }
  }
  Y[p.yShift + e] = acc;
}
`;
}

/** Either plan with its leading padding under one name (`cOut` is conv2d's `outC`: 0 for an empty weight). */
interface Geometry extends ConvGeometry {
  padTop: number;
  padLeft: number;
}

type Kernel = 'gemm' | 'direct' | 'transposed' | 'gemm-transposed';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The output phases of a transposed conv along one axis: outputs `r + s*q`
 * (q < count) take the taps `k0 + step*j` (j < taps), which read input
 * `q + c - inStep*j`. Taps solve `k*d = r + pad (mod s)`.
 */
function axisPhases(out: number, s: number, pad: number, k: number, d: number) {
  const g = gcd(d, s);
  const step = s / g;
  return Array.from({ length: s }, (_, r) => {
    const count = r < out ? Math.ceil((out - r) / s) : 0;
    let k0 = 0;
    while (k0 < step && (((k0 * d - r - pad) % s) + s) % s !== 0) k0++;
    const taps = k0 < step && k0 < k ? Math.ceil((k - k0) / step) : 0;
    return { r, count, k0: taps ? k0 : 0, step, taps, inStep: d / g, c: taps ? (r + pad - k0 * d) / s : 0 };
  });
}

function phases(geo: Geometry): (typeof NO_PHASE)[] {
  const list: (typeof NO_PHASE)[] = [];
  for (const y of axisPhases(geo.outH, geo.strideH, geo.padTop, geo.kh, geo.dilationH)) {
    for (const x of axisPhases(geo.outW, geo.strideW, geo.padLeft, geo.kw, geo.dilationW)) {
      if (y.count * x.count === 0) continue;
      list.push({
        ry: y.r, rx: x.r, qH: y.count, qW: x.count, ky0: y.k0, kx0: x.k0, nky: y.taps, nkx: x.taps,
        tky: y.step, tkx: x.step, diy: y.inStep, dix: x.inStep, cy: y.c, cx: x.c,
      });
    }
  }
  return list;
}

/** Picks the tiled GEMM when the output-channel and reduction extents fill its tiles reasonably. */
function conv2dKernel(plan: Conv2dPlan): Kernel {
  return plan.cOutG >= 16 && plan.cInG * plan.kh * plan.kw >= 16 ? 'gemm' : 'direct';
}

type Bound = { slice: BufferSlice; shift: number };

/** The dispatches of one conv over `nc` images bound at `xs` / `ys` (laid out as `geo` says). */
function convDispatches(b: WebGPUBackend, kernel: Kernel, geo: Geometry, nc: number, xs: Bound, w: Bound, bs: Bound | null, ys: Bound): Dispatch[] {
  const maxWG = b.limits.maxWorkgroupsPerDimension;
  // A 32-channel tile when a 64-wide one would be mostly padding.
  const wgy = geo.cOutG <= 32 ? 8 : 16;
  const hasBias = bs !== null;
  const code = {
    gemm: () => gemmShader(hasBias, false, wgy),
    'gemm-transposed': () => gemmShader(hasBias, true, wgy),
    direct: () => directShader(hasBias, geo),
    transposed: () => transposedShader(hasBias),
  }[kernel]();
  const M = geo.outH * geo.outW;
  const values: ConvValues = {
    cIn: geo.cIn, H: geo.h, W: geo.w, cOut: geo.cOut, cInG: geo.cInG, cOutG: geo.cOutG, groups: geo.groups,
    kh: geo.kh, kw: geo.kw, sh: geo.strideH, sw: geo.strideW, dh: geo.dilationH, dw: geo.dilationW,
    pt: geo.padTop, pl: geo.padLeft, outH: geo.outH, outW: geo.outW,
    xShift: xs.shift, wShift: w.shift, bShift: bs ? bs.shift : 0, yShift: ys.shift, mBase: 0, total: nc * geo.cOut * M,
    ...NO_PHASE,
  };
  const bindingsList = [xs.slice, w.slice, ...(bs ? [bs.slice] : []), ys.slice];
  const dispatches: Dispatch[] = [];
  if (kernel === 'gemm' || kernel === 'gemm-transposed') {
    for (const phase of kernel === 'gemm-transposed' ? phases(geo) : [NO_PHASE]) {
      const positions = kernel === 'gemm-transposed' ? phase.qH * phase.qW : M;
      // Position tiles beyond the per-dimension limit go to further dispatches with a base offset.
      const tilesM = Math.ceil(positions / BM);
      for (let t0 = 0; t0 < tilesM; t0 += maxWG) {
        const tiles = Math.min(maxWG, tilesM - t0);
        dispatches.push({
          code,
          uniforms: convParams.pack({ ...values, ...phase, mBase: t0 * BM }),
          bindings: bindingsList,
          workgroups: [tiles, Math.ceil(geo.cOutG / (4 * wgy)), nc * geo.groups],
        });
      }
    }
  } else {
    // The direct kernel runs one thread per run of outputs of a row, the transposed one per output.
    const threads = kernel === 'direct' ? nc * geo.cOut * Math.ceil(geo.outH / directRows(geo)) * Math.ceil(geo.outW / DIRECT_RUN) : nc * geo.cOut * M;
    dispatches.push({ code, uniforms: convParams.pack({ ...values, total: threads }), bindings: bindingsList, workgroups: Math.ceil(threads / 256) });
  }
  return dispatches;
}

/**
 * The input rows `[first, last]` that output rows `[r0, r0 + rows)` read (clipped
 * to the image; possibly empty) and the top padding that makes them a conv of
 * their own. conv2d reads rows `r*s - pad + k*d`; a transposed conv's output row
 * `r` takes input row `i` when `r + pad - k*d = i*s`.
 */
function bandRows(geo: Geometry, transposed: boolean, r0: number, rows: number): { first: number; last: number; pad: number } {
  const { h: H, strideH: s, dilationH: d, kh, padTop: pad } = geo;
  if (transposed) {
    // Rounding the first row down keeps the band's padding non-negative (one unused row at most).
    const first = Math.max(0, Math.floor((r0 + pad - (kh - 1) * d) / s));
    return { first, last: Math.min(H - 1, Math.floor((r0 + rows - 1 + pad) / s)), pad: pad + r0 - first * s };
  }
  const lo = r0 * s - pad;
  const first = Math.max(0, lo);
  return { first, last: Math.min(H - 1, lo + (rows - 1) * s + d * (kh - 1)), pad: first - lo };
}

/**
 * A convolution whose image (input or output) or weight exceeds a storage
 * binding: per image and group, bands of output rows and, within a band,
 * blocks of output channels. The band's input rows (per input channel of the
 * group) and, for the transposed conv, whose weight is `[C_in, C_out/groups, kH, kW]`,
 * the block's weights are copied into scratch buffers; the block is computed
 * as an ordinary single-group conv with its top padding moved to the band into
 * a third one, then copied into place.
 */
function bandedConv(b: WebGPUBackend, op: string, kernel: Kernel, geo: Geometry, X: GPUTensor, Wt: GPUTensor, B: GPUTensor | null, out: GPUTensor, maxBytes: number, temps: GPUTensor[]): (Dispatch | BufferCopy)[] {
  const { h: H, w: W, outH, outW, cInG, cOutG, kh, kw } = geo;
  const transposed = kernel === 'transposed' || kernel === 'gemm-transposed';
  const khw = kh * kw;
  // Most input rows any band of `rows` output rows reads: the unclipped count, which for the
  // transposed conv depends on the band's first row modulo the stride.
  const { strideH: s, dilationH: d, padTop: pad } = geo;
  const inRows = (rows: number) => {
    let most = (rows - 1) * s + d * (kh - 1) + 1;
    if (transposed) {
      most = 0;
      for (let r = 0; r < s; r++) most = Math.max(most, Math.floor((r + rows - 1 + pad) / s) - Math.floor((r + pad - (kh - 1) * d) / s) + 1);
    }
    return Math.min(H, most);
  };
  const fits = (rows: number) => cInG * inRows(rows) * W * 4 <= maxBytes && rows * outW * 4 <= maxBytes;
  unitsPerChunk(op, 1, [cInG * inRows(1) * W * 4, outW * 4, cInG * khw * 4], maxBytes, 'output row (with the input rows it reads)');
  let band = 1;
  for (let hi = outH; band < hi; ) {
    const mid = Math.ceil((band + hi) / 2);
    if (fits(mid)) band = mid;
    else hi = mid - 1;
  }
  const block = unitsPerChunk(op, cOutG, [band * outW * 4, cInG * khw * 4], maxBytes, 'output channel');
  const xScratch = b.empty([Math.max(1, cInG * inRows(band) * W)], 'float32', op);
  const yScratch = b.empty([block * band * outW], 'float32', op);
  const wScratch = transposed ? b.empty([Math.max(1, cInG * block * khw)], 'float32', op) : null;
  temps.push(xScratch, yScratch, ...(wScratch ? [wScratch] : []));
  const plane = H * W;
  const M = outH * outW;
  const steps: (Dispatch | BufferCopy)[] = [];
  for (let img = 0; img < geo.n; img++) {
    for (let g = 0; g < geo.groups; g++) {
      const xBase = (img * geo.cIn + g * cInG) * plane;
      for (let r0 = 0; r0 < outH; r0 += band) {
        const rows = Math.min(band, outH - r0);
        const { first, last, pad } = bandRows(geo, transposed, r0, rows);
        const hIn = Math.max(0, last - first + 1);
        if (hIn === H) {
          steps.push({ src: X.buffer, srcOffset: xBase * 4, dst: xScratch.buffer, dstOffset: 0, bytes: cInG * plane * 4 });
        } else {
          for (let ci = 0; ci < cInG; ci++) {
            steps.push({ src: X.buffer, srcOffset: (xBase + ci * plane + first * W) * 4, dst: xScratch.buffer, dstOffset: ci * hIn * W * 4, bytes: hIn * W * 4 });
          }
        }
        for (let c0 = 0; c0 < cOutG; c0 += block) {
          const cb = Math.min(block, cOutG - c0);
          const co = g * cOutG + c0;
          const piece: Geometry = { ...geo, n: 1, cIn: cInG, groups: 1, h: hIn, cOut: cb, cOutG: cb, outH: rows, padTop: pad };
          let w: Bound;
          if (wScratch) {
            for (let ci = 0; ci < cInG; ci++) {
              const src = ((g * cInG + ci) * cOutG + c0) * khw * 4;
              steps.push({ src: Wt.buffer, srcOffset: src, dst: wScratch.buffer, dstOffset: ci * cb * khw * 4, bytes: cb * khw * 4 });
            }
            w = b.slice(wScratch);
          } else {
            w = b.slice(Wt, co * cInG * khw, cb * cInG * khw);
          }
          const bs = B ? b.slice(B, co, cb) : null;
          steps.push(...convDispatches(b, kernel, piece, 1, b.slice(xScratch), w, bs, b.slice(yScratch)));
          const yBase = (img * geo.cOut + co) * M + r0 * outW;
          if (rows === outH) {
            steps.push({ src: yScratch.buffer, srcOffset: 0, dst: out.buffer, dstOffset: yBase * 4, bytes: cb * M * 4 });
          } else {
            for (let j = 0; j < cb; j++) {
              steps.push({ src: yScratch.buffer, srcOffset: j * rows * outW * 4, dst: out.buffer, dstOffset: (yBase + j * M) * 4, bytes: rows * outW * 4 });
            }
          }
        }
      }
    }
  }
  return steps;
}

async function runConv(
  b: WebGPUBackend,
  op: string,
  kernel: Kernel,
  geo: Geometry,
  x: GPUInput,
  weight: GPUInput,
  bias: GPUInput | null,
): Promise<GPUTensor> {
  const temps: GPUTensor[] = [];
  try {
    const X = b.input(op, 'input', x, temps);
    const Wt = b.input(op, 'weight', weight, temps);
    const B = bias ? b.input(op, 'bias', bias, temps) : null;
    const out = b.empty(geo.outShape, 'float32', op);
    const inImage = geo.cIn * geo.h * geo.w;
    const outImage = geo.cOut * geo.outH * geo.outW;
    if (geo.n * outImage === 0) return out;
    const maxBytes = b.limits.maxBindingBytes - b.limits.offsetAlignment;
    const fits = Math.max(inImage, outImage, Wt.numel) * 4 <= maxBytes;
    if (!fits) {
      await b.run(bandedConv(b, op, kernel, geo, X, Wt, B, out, maxBytes, temps));
      return out;
    }
    unitsPerChunk(op, 1, [Wt.numel * 4], maxBytes, 'weight tensor');
    let perChunk = unitsPerChunk(op, geo.n, [inImage * 4, outImage * 4], maxBytes, 'image');
    if (kernel === 'gemm' || kernel === 'gemm-transposed') perChunk = Math.max(1, Math.min(perChunk, Math.floor(b.limits.maxWorkgroupsPerDimension / geo.groups)));
    const w = b.slice(Wt);
    const bs = B ? b.slice(B) : null;
    const dispatches: Dispatch[] = [];
    for (let n0 = 0; n0 < geo.n; n0 += perChunk) {
      const nc = Math.min(perChunk, geo.n - n0);
      dispatches.push(...convDispatches(b, kernel, geo, nc, b.slice(X, n0 * inImage, nc * inImage), w, bs, b.slice(out, n0 * outImage, nc * outImage)));
    }
    await b.run(dispatches);
    return out;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** GPU {@link conv2d}: same options and checks; float32 accumulation (see docs/webgpu.md for tolerances). */
export function conv2dGPU(b: WebGPUBackend, x: GPUInput, weight: GPUInput, options: GPUConv2dOptions = {}): Promise<GPUTensor> {
  const bias = options.bias ?? null;
  const plan = resolveConv2d(x.shape, weight.shape, { ...options, biasShape: bias?.shape ?? null });
  const geo: Geometry = { ...plan, cOut: plan.outC };
  return runConv(b, 'conv2d', conv2dKernel(plan), geo, x, weight, bias);
}

/** GPU {@link convTranspose2d}: same options and checks. */
export function convTranspose2dGPU(b: WebGPUBackend, x: GPUInput, weight: GPUInput, options: GPUConvTranspose2dOptions = {}): Promise<GPUTensor> {
  const bias = options.bias ?? null;
  const plan = resolveConvTranspose2d(x.shape, weight.shape, { ...options, biasShape: bias?.shape ?? null });
  const geo: Geometry = { ...plan, padTop: plan.padH, padLeft: plan.padW };
  const kernel = plan.cOutG >= 16 && plan.cInG * plan.kh * plan.kw >= 16 ? 'gemm-transposed' : 'transposed';
  return runConv(b, 'convTranspose2d', kernel, geo, x, weight, bias);
}

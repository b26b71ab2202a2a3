/**
 * `visionops ops-demo`: a small U-Net/SegNet-style forward pass on a synthetic
 * image, printing each layer's output shape and time. It exercises conv2d,
 * dilated conv2d, maxPool2d with indices, maxUnpool2d, convTranspose2d and
 * bilinear interpolate end to end; weights come from the seeded Generator, so
 * the output (and the printed checksum) is the same on every run.
 *
 *   visionops ops-demo [--size N] [--seed S]
 */
import { conv2d, convTranspose2d } from '../ops/conv';
import { interpolate } from '../ops/interpolate';
import { maxPool2d, maxUnpool2d } from '../ops/pool';
import { add, argmax, fmtShape, Generator, randn, relu, Tensor } from '../tensor';
import { EXIT, parseFlags, UsageError, type Command } from './command';

const usage = 'visionops ops-demo [--size N] [--seed S]   (N: image size, a multiple of 4 in [8, 512], default 64; S: weight seed, default 0)';

/**
 * A deterministic 1x3xNxN test image: red is a horizontal gradient, green a
 * vertical one, blue a disc and a bar, so every layer sees edges and ramps.
 */
export function sampleImage(size: number): Tensor {
  const data = new Float32Array(3 * size * size);
  const plane = size * size;
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      data[i] = x / (size - 1);
      data[plane + i] = y / (size - 1);
      const inDisc = (x - c * 0.7) ** 2 + (y - c * 0.8) ** 2 < (size / 5) ** 2;
      const inBar = x > size * 0.6 && x < size * 0.8 && y > size * 0.15;
      data[2 * plane + i] = inDisc || inBar ? 1 : 0;
    }
  }
  return new Tensor(data, [1, 3, size, size], 'float32');
}

/** He-initialised `[out, in, k, k]` weights and a small bias from `gen`. */
function layer(gen: Generator, out: number, inC: number, k: number): { w: Tensor; b: Tensor } {
  const w = randn([out, inC, k, k], { generator: gen });
  const scale = Math.sqrt(2 / (inC * k * k));
  for (let i = 0; i < w.data.length; i++) w.data[i] *= scale;
  const b = randn([out], { generator: gen });
  for (let i = 0; i < b.data.length; i++) b.data[i] *= 0.1;
  return { w, b };
}

interface Step {
  name: string;
  op: string;
  out: Tensor;
  ms: number;
}

/** Runs the network and returns every step (the last is the resized logits). */
export function runDemo(size: number, seed: number): Step[] {
  const gen = new Generator(seed);
  const steps: Step[] = [];
  const timed = <T>(name: string, op: string, f: () => T, shown: (r: T) => Tensor): T => {
    const t0 = performance.now();
    const r = f();
    steps.push({ name, op, out: shown(r), ms: performance.now() - t0 });
    return r;
  };
  const time = (name: string, op: string, f: () => Tensor): Tensor => timed(name, op, f, (t) => t);
  const enc1W = layer(gen, 16, 3, 3);
  const enc2W = layer(gen, 32, 16, 3);
  const midW = layer(gen, 32, 32, 3);
  // convTranspose2d weights are [C_in, C_out, k, k]
  const upW = layer(gen, 32, 32, 2);
  const dec2W = layer(gen, 16, 32, 3);
  const dec1W = layer(gen, 8, 16, 3);
  const headW = layer(gen, 4, 8, 1);

  const image = time('input', 'synthetic image', () => sampleImage(size));
  const enc1 = time('enc1', 'conv2d 3x3 3->16 + relu', () => relu(conv2d(image, enc1W.w, { bias: enc1W.b, padding: 1 })));
  const pool1 = timed('pool1', 'maxPool2d 2x2 + indices', () => maxPool2d(enc1, { kernelSize: 2, returnIndices: true }), (r) => r.output);
  const enc2 = time('enc2', 'conv2d 3x3 16->32 + relu', () => relu(conv2d(pool1.output, enc2W.w, { bias: enc2W.b, padding: 1 })));
  const pool2 = time('pool2', 'maxPool2d 3x3 stride 2 pad 1', () => maxPool2d(enc2, { kernelSize: 3, stride: 2, padding: 1 }));
  const mid = time('mid', 'conv2d 3x3 dilation 2 32->32 + relu', () => relu(conv2d(pool2, midW.w, { bias: midW.b, padding: 2, dilation: 2 })));
  const up2 = time('up2', 'convTranspose2d 2x2 stride 2 32->32', () => convTranspose2d(mid, upW.w, { bias: upW.b, stride: 2 }));
  const skip2 = time('skip2', 'add skip (enc2) + relu', () => relu(add(up2, enc2)));
  const dec2 = time('dec2', 'conv2d 3x3 32->16 + relu', () => relu(conv2d(skip2, dec2W.w, { bias: dec2W.b, padding: 1 })));
  const unpool1 = time('unpool1', 'maxUnpool2d 2x2 (pool1 indices)', () => maxUnpool2d(dec2, pool1.indices, { kernelSize: 2 }));
  const dec1 = time('dec1', 'conv2d 3x3 16->8 + relu', () => relu(conv2d(unpool1, dec1W.w, { bias: dec1W.b, padding: 1 })));
  const logits = time('head', 'conv2d 1x1 8->4', () => conv2d(dec1, headW.w, { bias: headW.b }));
  time('resize', `interpolate bilinear -> ${(size * 3) / 2}x${(size * 3) / 2}`, () => interpolate(logits, { size: [(size * 3) / 2, (size * 3) / 2], mode: 'bilinear' }));
  return steps;
}

function intFlag(v: string | boolean | undefined, name: string, fallback: number, ok: (n: number) => boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || !ok(n)) throw new UsageError(`--${name} got '${String(v)}'`);
  return n;
}

export const opsDemo: Command = {
  usage,
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, { size: 'string', seed: 'string' });
    if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
    const size = intFlag(flags.size, 'size', 64, (n) => n >= 8 && n <= 512 && n % 4 === 0);
    const seed = intFlag(flags.seed, 'seed', 0, (n) => n >= 0 && n < 2 ** 32);
    console.log(`visionops ops-demo: U-Net-style forward pass on a synthetic 1x3x${size}x${size} image (weights seeded with ${seed})`);
    runDemo(size, seed); // warm-up, so the printed times are not the JIT's first compilation
    const steps = runDemo(size, seed);
    for (const s of steps) {
      console.log(`  ${s.name.padEnd(8)} ${s.op.padEnd(38)} ${fmtShape(s.out.shape).padEnd(18)} ${s.ms.toFixed(2).padStart(8)} ms`);
    }
    const out = steps[steps.length - 1].out;
    const classes = argmax(out, { dim: 1 }).contiguous().data;
    const shares = [0, 0, 0, 0];
    for (const k of classes) shares[k]++;
    let checksum = 0;
    for (const v of out.contiguous().data) checksum += v;
    const total = steps.reduce((acc, s) => acc + s.ms, 0);
    console.log(
      `ops-demo: ${steps.length - 1} layers in ${total.toFixed(1)} ms; output ${fmtShape(out.shape)}; ` +
        `class shares ${shares.map((n) => (n / classes.length).toFixed(3)).join('/')}; checksum ${checksum.toFixed(4)}`,
    );
    return EXIT.ok;
  },
};

import Benchmark from 'benchmark';

/** One implementation measured in a benchmark row. */
export interface BenchImpl {
  /** e.g. 'visionops', 'tfjs-cpu', 'tfjs-wasm'. */
  name: string;
  /** Runs once before this implementation is timed (e.g. switch the tfjs backend). */
  before?: () => void | Promise<void>;
  /** The measured work; must force completion (read results back). */
  fn: () => void | Promise<void>;
  /** Set when `fn` returns a promise. */
  async?: boolean;
  /** Runs after timing (e.g. free peer tensors). */
  after?: () => void | Promise<void>;
}

/** A benchmark row: our implementation first, then peers on the same inputs. */
export interface BenchCase {
  /** Family, e.g. 'conv', 'pool', 'nms', 'coco'. Filter with `npm run bench -- <family>`. */
  family: string;
  name: string;
  /** Floating-point operations of one call, for GFLOP/s (convolutions). */
  flops?: number;
  /** Builds the inputs; may be async (loading wasm, generating data). */
  setup?: () => void | Promise<void>;
  impls: BenchImpl[];
  /** Measure fewer samples for very slow rows. */
  maxTime?: number;
}

export interface ImplResult {
  name: string;
  medianMs: number;
  meanMs: number;
  rme: number;
  samples: number;
  gflops?: number;
  error?: string;
}

export interface CaseResult {
  family: string;
  name: string;
  results: ImplResult[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(impl: BenchImpl, maxTime: number, flops?: number): Promise<ImplResult> {
  await impl.before?.();
  try {
    await impl.fn(); // warm-up: JIT, wasm compilation, caches
    const bench = impl.async
      ? new Benchmark(impl.name, { defer: true, maxTime, minSamples: 5, fn: (d: { resolve(): void }) => void (impl.fn() as Promise<void>).then(() => d.resolve()) })
      : new Benchmark(impl.name, { maxTime, minSamples: 5, fn: impl.fn });
    await new Promise<void>((resolve, reject) => {
      bench.on('complete', () => resolve());
      bench.on('error', (e: { target: { error: unknown } }) => reject(e.target.error));
      bench.run({ async: true });
    });
    const sample = bench.stats.sample.map((s) => s * 1000);
    const medianMs = median(sample);
    return {
      name: impl.name,
      medianMs,
      meanMs: bench.stats.mean * 1000,
      rme: bench.stats.rme,
      samples: sample.length,
      gflops: flops ? flops / (medianMs * 1e6) : undefined,
    };
  } catch (e) {
    return { name: impl.name, medianMs: NaN, meanMs: NaN, rme: NaN, samples: 0, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await impl.after?.();
  }
}

export async function runCases(cases: BenchCase[], log: (line: string) => void = console.log): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const c of cases) {
    await c.setup?.();
    const results: ImplResult[] = [];
    for (const impl of c.impls) results.push(await measure(impl, c.maxTime ?? 3, c.flops));
    out.push({ family: c.family, name: c.name, results });
    log(formatCase(out[out.length - 1]));
  }
  return out;
}

/** `name: ours ms | peer ms (ours/peer ×)` — a ratio below 1 means we are faster. */
export function formatCase(r: CaseResult): string {
  const [ours, ...peers] = r.results;
  const fmt = (x: ImplResult) =>
    x.error ? `${x.name}: error (${x.error})` : `${x.name} ${x.medianMs.toFixed(2)} ms${x.gflops ? ` (${x.gflops.toFixed(1)} GFLOP/s)` : ''}`;
  const ratios = peers
    .filter((p) => !p.error && !ours.error)
    .map((p) => `${(ours.medianMs / p.medianMs).toFixed(2)}x ${p.name}`)
    .join(', ');
  return `[${r.family}] ${r.name}\n    ${[ours, ...peers].map(fmt).join(' | ')}${ratios ? `\n    ours/peer: ${ratios}` : ''}`;
}

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeTree, encodeTree } from './fixtures';

const PYTHON = process.env.VISIONOPS_TORCH_PYTHON ?? '/usr/bin/python3';
const WORKER = fileURLToPath(new URL('../../scripts/fixtures/torch_worker.py', import.meta.url));

/**
 * Whether the differential suites can run: Debian's python3 with torch and
 * torchvision. `VISIONOPS_NO_TORCH=1` turns them off.
 */
export const hasTorch: boolean =
  process.env.VISIONOPS_NO_TORCH !== '1' &&
  spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 60_000 }).status === 0;

export const noTorchReason = `differential tests need ${PYTHON} with torch and torchvision (apt-get install python3-torchvision)`;

// CI sets VISIONOPS_REQUIRE_TORCH=1 so a missing install fails loudly instead of skipping.
if (!hasTorch && process.env.VISIONOPS_REQUIRE_TORCH === '1') throw new Error(`VISIONOPS_REQUIRE_TORCH=1 but ${noTorchReason}`);

/** Thrown on the JS side when torch raised; `pyType` is the Python exception class. */
export class TorchError extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

/** A long-lived Python process answering `call(op, args)` with torch's result. */
export class TorchWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<void>;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    let markReady: () => void;
    this.ready = new Promise((r) => (markReady = r));
    const stderr: string[] = [];
    proc.stderr.on('data', (d) => stderr.push(String(d)));
    proc.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`torch worker exited (${code}): ${stderr.join('')}`));
      this.pending.clear();
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) return markReady();
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) {
        const [pyType, ...rest] = String(msg.error).split(': ');
        p.reject(new TorchError(pyType, rest.join(': ')));
      } else p.resolve(decodeTree(msg.result));
    });
  }

  static async start(): Promise<TorchWorker> {
    const w = new TorchWorker(spawn(PYTHON, [WORKER], { stdio: ['pipe', 'pipe', 'pipe'] }));
    await w.ready;
    return w;
  }

  /** Sends tensors/options to the handler `op`; resolves with decoded tensors. */
  call<T = unknown>(op: string, args: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.stdin.write(`${JSON.stringify({ id, op, args: encodeTree(args) })}\n`);
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

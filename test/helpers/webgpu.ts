/**
 * WebGPU for the GPU tests, from Dawn (the `webgpu` package) in Node. When it
 * cannot be had, `gpuEnv()` gives the reason and the suites register as skipped
 * with that reason in their name; with VISIONOPS_REQUIRE_WEBGPU=1 (CI) a missing
 * WebGPU fails instead.
 */
import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { createWebGPUBackend, type WebGPUBackend, type WebGPUBackendOptions } from '../../src/backends/webgpu';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export type GPUEnv = { device: GPUDevice; info: string } | { device: null; reason: string };

let cached: Promise<GPUEnv> | null = null;
// Dawn tears its instance down when the object from create() is garbage
// collected, even with devices still in use (native crashes: "futex facility
// returned an unexpected error code"), so the instance and adapter are kept here.
const keepAlive: unknown[] = [];

async function acquire(): Promise<GPUEnv> {
  // The Vulkan loader reads this when Dawn creates its instance, so setting it here is early enough.
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    return { device: null, reason: `the webgpu package cannot be loaded (${(e as Error).message})` };
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter();
  keepAlive.push(gpu, adapter);
  if (!adapter) return { device: null, reason: `no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})` };
  const requiredLimits = {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
  const device = await adapter.requestDevice({ requiredLimits });
  return { device, info: `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim() };
}

/** The shared test device (one per test file), or why there is none. */
export function gpuEnv(): Promise<GPUEnv> {
  cached ??= acquire().catch((e: Error) => ({ device: null, reason: `WebGPU setup failed: ${e.message}` }));
  return cached;
}

/** A fresh backend on the shared device, validating every dispatch. */
export async function testBackend(options: Omit<WebGPUBackendOptions, 'device'> = {}): Promise<WebGPUBackend> {
  const env = await gpuEnv();
  if (!env.device) throw new Error(env.reason);
  return createWebGPUBackend({ device: env.device, validate: true, onFallback: false, ...options });
}

/**
 * `describe` when WebGPU is available; otherwise a skipped suite whose name
 * carries the reason (or a failure when VISIONOPS_REQUIRE_WEBGPU=1).
 */
export async function describeGPU(name: string, body: () => void): Promise<void> {
  const env = await gpuEnv();
  if (env.device) {
    describe(name, body);
  } else if (process.env.VISIONOPS_REQUIRE_WEBGPU === '1') {
    describe(name, () => {
      throw new Error(`WebGPU is required (VISIONOPS_REQUIRE_WEBGPU=1) but unavailable: ${env.reason}`);
    });
  } else {
    describe.skip(`${name} [skipped: WebGPU unavailable: ${env.reason}]`, body);
  }
}

/** Records the size of every storage binding `b`'s dispatches use, for tests that check splitting stays under the limit. */
export function recordBindingSizes(b: WebGPUBackend): number[] {
  const sizes: number[] = [];
  const run = b.run.bind(b);
  b.run = (list) => {
    for (const d of list) if ('bindings' in d) sizes.push(...d.bindings.map((s) => s.size));
    return run(list);
  };
  return sizes;
}

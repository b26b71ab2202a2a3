/**
 * TensorFlow.js peers, loaded lazily so a bench run without them still works.
 * tfjs has one global backend: each peer implementation switches it in `before`.
 */
import type * as TF from '@tensorflow/tfjs-core';

let tfPromise: Promise<typeof TF> | null = null;

export function loadTf(): Promise<typeof TF> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-backend-wasm');
    return tf;
  })();
  return tfPromise;
}

export type TfBackend = 'cpu' | 'wasm';

export async function useTfBackend(backend: TfBackend): Promise<typeof TF> {
  const tf = await loadTf();
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs backend '${backend}' failed to initialise`);
    await tf.ready();
  }
  return tf;
}

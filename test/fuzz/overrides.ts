// The kernels the native backend runs with code of its own, read from tfjs's kernel registry at run time (so that a
// new override cannot be left out of the fuzz): every kernel registered for `native` that cpu lacks, or whose
// function is neither cpu's nor the wrapper that every copied cpu kernel gets.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND, nativeKernelNames } from '../../src/engine/index.ts';

export function overriddenKernels(): string[] {
  const cpu = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k.kernelFunc]));
  const nat = tf.getKernelsForBackend(NATIVE_BACKEND);
  if (nat.length === 0) throw new Error('fuzz: no kernels registered for the native backend');
  const listed = new Set(nativeKernelNames());
  // The copies of cpu kernels share one wrapper (backend.ts guardAliasing), hence one source text: the most
  // common among the kernels with a cpu counterpart that the backend does not list as its own.
  const count = new Map<string, number>();
  for (const k of nat) {
    if (!cpu.has(k.kernelName) || listed.has(k.kernelName)) continue;
    const s = k.kernelFunc.toString();
    count.set(s, (count.get(s) ?? 0) + 1);
  }
  const copy = [...count].sort((a, b) => b[1] - a[1])[0]?.[0];
  return nat
    .filter((k) => {
      const c = cpu.get(k.kernelName);
      if (!c) return true;
      if (k.kernelFunc === c) return false;
      return listed.has(k.kernelName) || k.kernelFunc.toString() !== copy;
    })
    .map((k) => k.kernelName)
    .sort();
}

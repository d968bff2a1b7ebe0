// Fused optimizer updates (one pass over p, g and the slots instead of ~12 elementwise kernels).
import { type KernelArgs, type KernelFunc, type Kernels, type TensorInfo, addon, f32 } from './util.ts';

function adamw({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { p, g, m, v } = inputs;
  const a = attrs as {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    step: number;
  };
  const n = f32(backend, p).length;
  const po = backend.alloc(n);
  const mo = backend.alloc(n);
  const vo = backend.alloc(n);
  addon().adamw(
    f32(backend, p),
    f32(backend, g),
    f32(backend, m),
    f32(backend, v),
    po,
    mo,
    vo,
    a.lr,
    a.beta1,
    a.beta2,
    a.eps,
    a.weightDecay,
    1 - a.beta1 ** a.step,
    1 - a.beta2 ** a.step,
  );
  return [po, mo, vo].map((x) => backend.makeTensorInfo(p.shape.slice(), 'float32', x));
}

function sgd({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { p, g, buf } = inputs;
  const a = attrs as { lr: number; momentum: number; weightDecay: number; nesterov: boolean };
  const n = f32(backend, p).length;
  const po = backend.alloc(n);
  const bo = backend.alloc(n);
  addon().sgd(
    f32(backend, p),
    f32(backend, g),
    f32(backend, buf),
    po,
    bo,
    a.lr,
    a.momentum,
    a.weightDecay,
    a.nesterov,
    false,
  );
  return [po, bo].map((x) => backend.makeTensorInfo(p.shape.slice(), 'float32', x));
}

export function registerOptim(k: Kernels): void {
  k.set('LaurelAdamW', adamw as unknown as KernelFunc);
  k.set('LaurelSgd', sgd as unknown as KernelFunc);
}

// Native unary and broadcasting binary kernels, AddN, and the fused activations.
import {
  type Backend,
  type KernelArgs,
  type KernelFunc,
  type Kernels,
  type TensorInfo,
  addon,
  allFloat,
  broadcastFits,
  broadcastPlan,
  f32,
  sizeOf,
  withFallback,
} from './util.ts';

export const UNARY = {
  Neg: 0,
  Relu: 1,
  Exp: 2,
  Log: 3,
  Sqrt: 4,
  Rsqrt: 5,
  Square: 6,
  Tanh: 7,
  Sigmoid: 8,
  Erf: 9,
  Abs: 10,
  Reciprocal: 11,
  Step: 12,
  Relu6: 13,
  Elu: 14,
  LeakyRelu: 15,
  Softplus: 16,
  Log1p: 17,
  Sign: 18,
  Copy: 19,
  Scale: 20,
  AddScalar: 21,
} as const;

export const BINARY = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  max: 4,
  min: 5,
  sqdiff: 6,
  prelu: 7,
  pow: 8,
  reluGrad: 9,
  sigmoidGrad: 10,
  tanhGrad: 11,
} as const;
export type BinaryName = keyof typeof BINARY;

const BINARY_KERNELS: [string, BinaryName, string, string][] = [
  ['Add', 'add', 'a', 'b'],
  ['Sub', 'sub', 'a', 'b'],
  ['Multiply', 'mul', 'a', 'b'],
  ['RealDiv', 'div', 'a', 'b'],
  ['Maximum', 'max', 'a', 'b'],
  ['Minimum', 'min', 'a', 'b'],
  ['SquaredDifference', 'sqdiff', 'a', 'b'],
  ['Prelu', 'prelu', 'x', 'alpha'],
];

/** out = a (op) b with broadcasting; `out` may be a's storage when a has the output's shape. */
export function binaryRaw(
  op: BinaryName,
  aShape: readonly number[],
  a: Float32Array,
  bShape: readonly number[],
  b: Float32Array,
  out: Float32Array,
): void {
  const plan = broadcastPlan(aShape, bShape);
  addon().binary(BINARY[op], a, b, out, plan.shape, plan.aStrides, plan.bStrides);
}

export function binaryInto(
  backend: Backend,
  op: BinaryName,
  aShape: number[],
  a: Float32Array,
  bt: TensorInfo,
  out: Float32Array,
): void {
  binaryRaw(op, aShape, a, bt.shape, f32(backend, bt), out);
}

export function binary(backend: Backend, op: BinaryName, a: TensorInfo, b: TensorInfo): TensorInfo {
  const plan = broadcastPlan(a.shape, b.shape);
  const out = backend.alloc(sizeOf(plan.outShape));
  addon().binary(BINARY[op], f32(backend, a), f32(backend, b), out, plan.shape, plan.aStrides, plan.bStrides);
  return backend.makeTensorInfo(plan.outShape, 'float32', out);
}

export function unary(backend: Backend, op: number, x: TensorInfo, alpha = 0): TensorInfo {
  const out = backend.alloc(sizeOf(x.shape));
  addon().unary(op, f32(backend, x), out, alpha);
  return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
}

export function applyActivation(
  backend: Backend,
  shape: number[],
  values: Float32Array,
  activation: string,
  prelu?: TensorInfo,
  leakyAlpha?: number,
): void {
  const a = addon();
  switch (activation) {
    case 'linear':
    case undefined:
      return;
    case 'relu':
      a.unary(UNARY.Relu, values, values);
      return;
    case 'relu6':
      a.unary(UNARY.Relu6, values, values);
      return;
    case 'elu':
      a.unary(UNARY.Elu, values, values);
      return;
    case 'sigmoid':
      a.unary(UNARY.Sigmoid, values, values);
      return;
    case 'leakyrelu':
      a.unary(UNARY.LeakyRelu, values, values, leakyAlpha ?? 0.2);
      return;
    case 'prelu':
      if (!prelu) throw new Error('prelu activation needs preluActivationWeights');
      binaryInto(backend, 'prelu', shape, values, prelu, values);
      return;
    default:
      throw new Error(`Activation ${activation} has not been implemented for the native backend`);
  }
}

function addN({ inputs, backend }: KernelArgs): TensorInfo {
  const ts = inputs as unknown as TensorInfo[];
  const shape = ts[0].shape;
  const out = backend.alloc(sizeOf(shape));
  if (ts.length === 1) addon().unary(UNARY.Copy, f32(backend, ts[0]), out);
  else {
    binaryRaw('add', shape, f32(backend, ts[0]), ts[1].shape, f32(backend, ts[1]), out);
    for (let i = 2; i < ts.length; i++) binaryRaw('add', shape, out, ts[i].shape, f32(backend, ts[i]), out);
  }
  return backend.makeTensorInfo(shape.slice(), 'float32', out);
}

export function registerElementwise(k: Kernels): void {
  const unaryNames: [string, number, string?][] = [
    ['Neg', UNARY.Neg],
    ['Relu', UNARY.Relu],
    ['Exp', UNARY.Exp],
    ['Log', UNARY.Log],
    ['Sqrt', UNARY.Sqrt],
    ['Rsqrt', UNARY.Rsqrt],
    ['Square', UNARY.Square],
    ['Tanh', UNARY.Tanh],
    ['Sigmoid', UNARY.Sigmoid],
    ['Erf', UNARY.Erf],
    ['Abs', UNARY.Abs],
    ['Reciprocal', UNARY.Reciprocal],
    ['Step', UNARY.Step, 'alpha'],
    ['Relu6', UNARY.Relu6],
    ['Elu', UNARY.Elu],
    ['LeakyRelu', UNARY.LeakyRelu, 'alpha'],
    ['Softplus', UNARY.Softplus],
    ['Log1p', UNARY.Log1p],
  ];
  for (const [name, op, attr] of unaryNames) {
    k.set(
      name,
      withFallback(
        name,
        ({ inputs }) => allFloat(inputs.x),
        ({ inputs, backend, attrs }) =>
          unary(backend, op, inputs.x, attr ? ((attrs as Record<string, number>)[attr] ?? 0) : 0),
      ),
    );
  }
  for (const [name, op, an, bn] of BINARY_KERNELS) {
    k.set(
      name,
      withFallback(
        name,
        ({ inputs }) => allFloat(inputs[an], inputs[bn]) && broadcastFits(inputs[an].shape, inputs[bn].shape),
        ({ inputs, backend }) => binary(backend, op, inputs[an], inputs[bn]),
      ),
    );
  }
  k.set(
    'AddN',
    withFallback(
      'AddN',
      ({ inputs }) => {
        const ts = inputs as unknown as TensorInfo[];
        return (
          ts.length > 0 && ts.every((t) => t.dtype === 'float32' && t.shape.join() === ts[0].shape.join())
        );
      },
      addN,
    ),
  );
}

/** dy · (x > 0) in one pass: the Relu gradient on the native backend (tfjs's is step + cast + mul). */
export function registerReluGrad(k: Kernels): void {
  k.set('LaurelReluGrad', (({ inputs, backend }: KernelArgs) =>
    binary(backend, 'reluGrad', inputs.dy, inputs.x)) as unknown as KernelFunc);
  k.set('LaurelSigmoidGrad', (({ inputs, backend }: KernelArgs) =>
    binary(backend, 'sigmoidGrad', inputs.dy, inputs.y)) as unknown as KernelFunc);
  k.set('LaurelTanhGrad', (({ inputs, backend }: KernelArgs) =>
    binary(backend, 'tanhGrad', inputs.dy, inputs.y)) as unknown as KernelFunc);
}

// Cast on the native backend. tfjs's cpu Cast keeps the input's storage when the cast loses nothing (int32 or
// bool to float32, bool to int32): the result says float32 but holds an Int32Array or a Uint8Array. Native
// kernels take a tensor's storage as its dtype's array, so here every cast to a new dtype gets storage of that
// dtype (the backend's promise; util.ts f32/i32 also convert by value if anything ever breaks it).
import type { DataType } from '@tensorflow/tfjs';
import { type KernelArgs, type KernelFunc, type Kernels, type TensorInfo, cpuKernel } from './util.ts';

const ARRAY_OF: Partial<Record<DataType, Float32ArrayConstructor | Int32ArrayConstructor>> = {
  float32: Float32Array,
  int32: Int32Array,
};

function cast(cpu: KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const { x } = args.inputs;
    const dtype = (args.attrs as { dtype: DataType }).dtype;
    const Ctor = ARRAY_OF[dtype];
    const values = args.backend.data.get(x.dataId).values;
    if (x.dtype === dtype || !Ctor || !ArrayBuffer.isView(values) || values instanceof Ctor)
      return cpu(args as never) as TensorInfo;
    // A widening cast (lossy ones, e.g. float32 → int32, already get new storage from the cpu kernel).
    return args.backend.makeTensorInfo(x.shape.slice(), dtype, Ctor.from(values as ArrayLike<number>));
  };
}

export function registerCast(k: Kernels): void {
  k.set('Cast', cast(cpuKernel('Cast')) as unknown as KernelFunc);
}

/**
 * `laurel/node`: the core (`laurel`) plus what needs Node: the `native` tfjs backend (OpenBLAS addon, built on
 * demand: node node_modules/laurel/scripts/build-native.mjs) with its fused ops, a `file://` IOHandler for
 * Layers models and safetensors files, the data readers and the training loop.
 */
export * from './index.ts';
export {
  type BackendName,
  NATIVE_BACKEND,
  NativeBackend,
  ensureNative,
  getNumThreads,
  initBackend,
  loadAddon,
  nativeAdamW,
  nativeKernelNames,
  nativeOps,
  nativeSgd,
  setNumThreads,
} from './engine/index.ts';
export { fileIO, registerFileIO } from './io/file-io.ts';
export * from './data/index.ts';
export { loadSafetensors, saveSafetensors } from './models/safetensors-file.ts';
export * from './train/optim/index.ts';
export { type ScheduleName, type ScheduleOptions, SCHEDULES, makeSchedule } from './train/schedule.ts';
export { type TrainOptions, type TrainResult, type TrainStatus, train } from './train/loop.ts';

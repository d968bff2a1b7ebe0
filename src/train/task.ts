import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module.ts';

/** A model the loop can train: a Module with a forward pass (classifier: NHWC → logits; LM: tokens → logits). */
export type Model = Module & { forward(x: tf.Tensor): tf.Tensor };

/** A training batch as tensors; the loop disposes them after the step. */
export interface TensorBatch {
  inputs: tf.Tensor;
  targets: tf.Tensor;
  /** Images or tokens in the batch (for throughput). */
  units: number;
}

/** Evaluation results; `loss` is the mean cross-entropy (per image or per token). */
export interface EvalResult {
  loss: number;
  accuracy?: number;
  perplexity?: number;
  /** Further metrics, e.g. `ood_loss`, `ood_perplexity`, `cloze_accuracy`. */
  extra?: Record<string, number>;
}

/**
 * What the loop needs from a task (classification, language modelling): batches from a resumable data
 * iterator, the training loss, and evaluation. The model is in training mode during `loss` and in inference
 * mode during `evaluate` (the loop switches it).
 */
export interface Task {
  readonly name: string;
  /** Throughput unit: 'images' or 'tokens'. */
  readonly unit: 'images' | 'tokens';
  /** The metric "best so far" selects on: top-1 accuracy (higher is better) or eval loss (lower is better). */
  readonly select: { metric: 'accuracy' | 'loss'; higherIsBetter: boolean };
  readonly stepsPerEpoch: number;
  /** Zero-based epoch of the next batch. */
  readonly epoch: number;
  nextBatch(): TensorBatch;
  /** Mean training loss of a batch; called inside tf.variableGrads. */
  loss(model: Model, batch: TensorBatch): tf.Scalar;
  evaluate(model: Model): EvalResult;
  /** JSON state of the data iterator, and its restore. */
  dataState(): unknown;
  restoreData(state: unknown): void;
}

/** The structural interface of the data module's batchers (ImageBatcher, the text window batcher). */
export interface ResumableBatcher<B> {
  readonly stepsPerEpoch: number;
  readonly epoch: number;
  next(): { value: B };
  state(): unknown;
  restore(state: never): void;
}

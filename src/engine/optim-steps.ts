// The attributes of one fused optimizer step (LaurelAdamW, LaurelSgd): shared by the kernels and their callers.

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled decay for this parameter (0 for excluded kinds). */
  weightDecay: number;
  /** 1-based step count t (bias corrections 1 − β^t). */
  step: number;
}

export interface SgdStep {
  lr: number;
  momentum: number;
  /** L2 decay added to the gradient (torch SGD weight_decay). */
  weightDecay: number;
  nesterov: boolean;
}

/** Learning-rate schedules: a linear warmup, then cosine decay, step decay or a constant rate. */

export const SCHEDULES = ['cosine', 'step', 'constant'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Total number of optimizer steps of the run (the cosine reaches `minLr` here). */
  totalSteps: number;
  schedule?: ScheduleName;
  /** Linear warmup from lr/warmupSteps (step 0) to lr (step warmupSteps−1). */
  warmupSteps?: number;
  /** Floor of the cosine, as an absolute rate (default 0). */
  minLr?: number;
  /** Step decay: multiply by `gamma` at each milestone (steps counted from 0, warmup included). */
  milestones?: number[];
  gamma?: number;
}

/** Returns lr(step) for step = 0, 1, … (the rate used by the update that makes step `step + 1`). */
export function makeSchedule(o: ScheduleOptions): (step: number) => number {
  const { lr, totalSteps } = o;
  const warmup = o.warmupSteps ?? 0;
  const minLr = o.minLr ?? 0;
  const kind = o.schedule ?? 'cosine';
  // each is checked here, where the mistake is made, not as an undefined or NaN rate steps later
  if (!(SCHEDULES as readonly string[]).includes(kind))
    throw new Error(`schedule: bad schedule '${kind}'; allowed: ${SCHEDULES.join(', ')}`);
  if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`schedule: lr must be > 0, got ${lr}`);
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1))
    throw new Error(`schedule: totalSteps must be an integer >= 1, got ${totalSteps}`);
  if (!(Number.isInteger(warmup) && warmup >= 0))
    throw new Error(`schedule: warmupSteps must be an integer >= 0, got ${warmup}`);
  if (!(Number.isFinite(minLr) && minLr >= 0)) throw new Error(`schedule: minLr must be >= 0, got ${minLr}`);
  // Default step milestones: at 50 % and 75 % of training (the classic ResNet recipe).
  const milestones = o.milestones ?? [Math.floor(totalSteps * 0.5), Math.floor(totalSteps * 0.75)];
  const gamma = o.gamma ?? 0.1;
  if (!(Number.isFinite(gamma) && gamma > 0)) throw new Error(`schedule: gamma must be > 0, got ${gamma}`);
  if (!milestones.every((m) => Number.isInteger(m) && m >= 0))
    throw new Error(`schedule: milestones must be integers >= 0, got [${milestones}]`);

  return (step: number): number => {
    if (step < warmup) return (lr * (step + 1)) / warmup;
    switch (kind) {
      case 'constant':
        return lr;
      case 'step':
        return lr * gamma ** milestones.filter((m) => step >= m).length;
      case 'cosine': {
        const span = Math.max(1, totalSteps - warmup);
        const progress = Math.min(1, (step - warmup) / span);
        return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
      }
    }
  };
}

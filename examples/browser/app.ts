// The browser example: a plain and a LAUREL (RW+LR) small conv net trained side by side on a Fashion-MNIST
// sample, with live loss and accuracy curves. Both nets start from the same weights (same seeds) and see the
// same batches, so the curves differ only by the residual. tfjs's WebGL backend, cpu when WebGL is missing.
// URL parameters: ?steps=N (stop after N steps, default 600), ?backend=cpu|webgl.
import * as tf from '@tensorflow/tfjs';
import { laurelResidual } from 'laurel';
import { loadSample } from './data.ts';

const params = new URLSearchParams(location.search);
const maxSteps = Number(params.get('steps') ?? 600);
const BATCH = 32;
const EVAL_EVERY = 20;
const WIDTH = 8;

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/**
 * conv 3×3 stride 2 and a 2×2 max-pool (28×28 → 7×7, 8 channels) → two residual blocks (conv-ReLU-conv, then the
 * residual, then ReLU) → global average pool → dense. Small enough for tfjs's cpu backend to train in seconds.
 */
function net(laurel: boolean): tf.LayersModel {
  const conv = (seed: number, activation?: 'relu') =>
    tf.layers.conv2d({
      filters: WIDTH,
      kernelSize: 3,
      padding: 'same',
      activation,
      kernelInitializer: init(seed),
    });
  const input = tf.input({ shape: [28, 28, 1] });
  let x = tf.layers
    .conv2d({
      filters: WIDTH,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
    })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  for (let b = 0; b < 2; b++) {
    const h = conv(10 + 2 * b).apply(conv(11 + 2 * b, 'relu').apply(x)) as tf.SymbolicTensor;
    const merge = laurel ? laurelResidual({ variant: 'rw+lr', rank: 4, seed: b }) : tf.layers.add();
    x = tf.layers.reLU().apply(merge.apply([h, x])) as tf.SymbolicTensor;
  }
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x);
  const out = tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(2) }).apply(pooled);
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  model.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** A line chart of the series on a canvas, axes from the data (y from 0 for accuracy). */
function draw(canvas: HTMLCanvasElement, title: string, series: Series[], yFromZero: boolean): void {
  const g = canvas.getContext('2d');
  if (!g) return;
  const { width: w, height: h } = canvas;
  const pad = 36;
  g.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return;
  const xMax = Math.max(...all.map((p) => p[0]), 1);
  const yMax = Math.max(...all.map((p) => p[1]));
  const yMin = yFromZero ? 0 : Math.min(...all.map((p) => p[1]));
  const sx = (v: number) => pad + ((w - 2 * pad) * v) / xMax;
  const sy = (v: number) => h - pad - ((h - 2 * pad) * (v - yMin)) / (yMax - yMin || 1);
  g.strokeStyle = '#999';
  g.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
  g.fillStyle = '#333';
  g.font = '12px sans-serif';
  g.fillText(`${title} (steps 0–${xMax}, ${yMin.toFixed(2)}–${yMax.toFixed(2)})`, pad, pad - 8);
  series.forEach((s, i) => {
    g.strokeStyle = s.color;
    g.beginPath();
    s.points.forEach(([x, y], j) => (j ? g.lineTo(sx(x), sy(y)) : g.moveTo(sx(x), sy(y))));
    g.stroke();
    g.fillStyle = s.color;
    g.fillText(s.name, w - pad - 120, pad + 16 * (i + 1));
  });
}

/** Mean of a trailing window, so the curves show the trend rather than batch noise. */
const smooth = (v: number[], n = 10) =>
  v.map((_, i) => v.slice(Math.max(0, i - n + 1), i + 1).reduce((a, b) => a + b, 0) / Math.min(n, i + 1));

async function main(): Promise<void> {
  const status = document.getElementById('status') as HTMLElement;
  const wanted = params.get('backend') ?? 'webgl';
  if (!(await tf.setBackend(wanted).catch(() => false))) await tf.setBackend('cpu');
  await tf.ready();
  const sample = await loadSample();
  const models = { plain: net(false), laurel: net(true) };
  const names = ['plain', 'laurel'] as const;
  const colors = { plain: '#1f77b4', laurel: '#d62728' };
  const loss: Record<string, number[]> = { plain: [], laurel: [] };
  const testAcc: Record<string, [number, number][]> = { plain: [], laurel: [] };
  const n = sample.train.x.shape[0];
  for (let step = 1; step <= maxSteps; step++) {
    const start = ((step - 1) * BATCH) % (n - BATCH);
    const xb = sample.train.x.slice(start, BATCH);
    const yb = sample.train.y.slice(start, BATCH);
    for (const k of names) {
      const [l] = (await models[k].trainOnBatch(xb, yb)) as number[];
      loss[k].push(l);
    }
    tf.dispose([xb, yb]);
    if (step % EVAL_EVERY === 0 || step === maxSteps) {
      for (const k of names) {
        const [, acc] = models[k].evaluate(sample.test.x, sample.test.y, { batchSize: 250 }) as tf.Scalar[];
        testAcc[k].push([step, (await acc.data())[0]]);
      }
      const curves = (f: (k: (typeof names)[number]) => [number, number][]) =>
        names.map((k) => ({
          name: k === 'plain' ? 'plain residual' : 'LAUREL RW+LR',
          color: colors[k],
          points: f(k),
        }));
      draw(
        document.getElementById('loss') as HTMLCanvasElement,
        'training loss',
        curves((k) => smooth(loss[k]).map((v, i) => [i + 1, v])),
        false,
      );
      draw(
        document.getElementById('acc') as HTMLCanvasElement,
        'test accuracy',
        curves((k) => testAcc[k]),
        true,
      );
      status.textContent = `backend ${tf.getBackend()}, step ${step}/${maxSteps}, test accuracy: plain ${testAcc.plain.at(-1)?.[1].toFixed(3)}, LAUREL ${testAcc.laurel.at(-1)?.[1].toFixed(3)}`;
    }
  }
  (window as unknown as { __result: unknown }).__result = {
    backend: tf.getBackend(),
    steps: maxSteps,
    loss,
    testAcc,
    laurelParams: models.laurel.countParams() - models.plain.countParams(),
  };
}

main().catch((e) => {
  (window as unknown as { __result: unknown }).__result = { error: String(e?.stack ?? e) };
  (document.getElementById('status') as HTMLElement).textContent = `error: ${e}`;
});

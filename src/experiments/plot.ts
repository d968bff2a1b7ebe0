/**
 * Vega-Lite specs for the reports, rendered to SVG headless in Node (no canvas: `renderer: 'none'`).
 * Error bars are `rule` marks in a layer named `errorbars` (SVG class `errorbars_marks`); n = 1 rows get
 * zero-length bars.
 */
import type * as VegaLite from 'vega-lite';
import { requireOptional } from '../util/optional.ts';

export interface BarDatum {
  label: string;
  mean: number;
  /** mean − std and mean + std (equal to mean when std is undefined). */
  lo: number;
  hi: number;
  n: number;
}

export interface PointDatum {
  x: number;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

type Spec = VegaLite.TopLevelSpec;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/**
 * Bar per row (in the given order) with mean ± std error bars. The y axis is zoomed to the data (bars are
 * clipped at the bottom and the subtitle says so): differences of a fraction of a point would not show on a
 * zero-based axis.
 */
export function barChartSpec(data: readonly BarDatum[], opts: { title: string; yTitle: string }): Spec {
  const ys = data.flatMap((d) => [d.lo, d.hi]);
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = ys.length ? Math.max(...ys) : 1;
  const pad = Math.max((hi - lo) * 0.25, Math.abs(hi) * 1e-3, 1e-6);
  const scale = { zero: false, nice: false, domain: [lo - pad, hi + pad] };
  return {
    $schema: SCHEMA,
    title: {
      text: opts.title,
      subtitle: 'y axis zoomed to the data (does not start at 0); error bars: ±1 std',
    },
    width: Math.max(240, 80 * data.length),
    height: 260,
    data: { values: data.map((d) => ({ ...d })) },
    encoding: {
      x: {
        field: 'label',
        type: 'nominal',
        sort: null,
        title: null,
        axis: { labelAngle: -25, labelLimit: 320 },
      },
    },
    layer: [
      {
        name: 'bars',
        mark: { type: 'bar', color: '#4c78a8', clip: true },
        encoding: {
          y: { field: 'mean', type: 'quantitative', title: opts.yTitle, scale },
          tooltip: [{ field: 'mean' }, { field: 'n' }],
        },
      },
      {
        name: 'errorbars',
        mark: { type: 'rule', color: 'black', strokeWidth: 1.5 },
        encoding: { y: { field: 'lo', type: 'quantitative', scale }, y2: { field: 'hi' } },
      },
      {
        name: 'errorcaps',
        mark: { type: 'tick', color: 'black', thickness: 1.5, size: 12 },
        encoding: { y: { field: 'hi', type: 'quantitative', scale } },
      },
      {
        name: 'errorcapslow',
        mark: { type: 'tick', color: 'black', thickness: 1.5, size: 12 },
        encoding: { y: { field: 'lo', type: 'quantitative', scale } },
      },
    ],
  } as Spec;
}

/**
 * Metric against r (log2 axis) with mean ± std error bars, and an optional reference level (e.g. RW only)
 * drawn as a dashed horizontal line with a ±std band.
 */
export function sweepPlotSpec(
  points: readonly PointDatum[],
  reference: { label: string; mean: number; lo: number; hi: number } | null,
  opts: { title: string; xTitle: string; yTitle: string },
): Spec {
  const xs = points.map((p) => p.x);
  const domain = xs.length ? [Math.min(...xs) / 1.5, Math.max(...xs) * 1.5] : [1, 2];
  const allY = [...points.flatMap((p) => [p.lo, p.hi]), ...(reference ? [reference.lo, reference.hi] : [])];
  const yDomain = allY.length ? [Math.min(...allY), Math.max(...allY)] : undefined;
  const pad = yDomain ? Math.max((yDomain[1]! - yDomain[0]!) * 0.1, 1e-3) : 0;
  const yScale = yDomain ? { zero: false, domain: [yDomain[0]! - pad, yDomain[1]! + pad] } : { zero: false };
  const x = {
    field: 'x',
    type: 'quantitative',
    title: opts.xTitle,
    scale: { type: 'log', base: 2, domain },
    axis: { values: xs, format: 'd' },
  };
  const layers: unknown[] = [];
  if (reference) {
    const ref = { values: [{ ...reference }] };
    layers.push(
      {
        name: 'referenceband',
        data: ref,
        mark: { type: 'rect', color: '#e45756', opacity: 0.12 },
        encoding: { y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' } },
      },
      {
        name: 'reference',
        data: ref,
        mark: { type: 'rule', color: '#e45756', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: 'mean', type: 'quantitative', scale: yScale } },
      },
      {
        name: 'referencelabel',
        data: ref,
        mark: { type: 'text', color: '#e45756', align: 'left', dx: 4, dy: -6, x: 0 },
        encoding: { y: { field: 'mean', type: 'quantitative', scale: yScale }, text: { field: 'label' } },
      },
    );
  }
  const pts = { values: points.map((p) => ({ ...p })) };
  layers.push(
    {
      name: 'line',
      data: pts,
      mark: { type: 'line', color: '#4c78a8', point: true },
      encoding: { x, y: { field: 'mean', type: 'quantitative', title: opts.yTitle, scale: yScale } },
    },
    {
      name: 'errorbars',
      data: pts,
      mark: { type: 'rule', color: '#4c78a8', strokeWidth: 1.5 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' } },
    },
  );
  return { $schema: SCHEMA, title: opts.title, width: 420, height: 280, layer: layers } as Spec;
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const vega = requireOptional<typeof import('vega')>('vega', 'a report plot');
  const vegaLite = requireOptional<typeof VegaLite>('vega-lite', 'a report plot');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Reports beyond pycocotools' summary, from an evaluated {@link COCOeval}: a
 * per-category AP table (text, Markdown or CSV), precision/recall curves as
 * plain JSON-ready objects, and those curves drawn as an SVG string (no DOM
 * needed). Browser-safe.
 */
import { PALETTE, type Rgb } from '../coco/render';
import { ValueError } from '../tensor/errors';
import type { COCOeval, Summation } from './cocoeval';

/** One row of the per-category table; -1 where undefined (no ground truth). */
export interface CategoryRow {
  category_id: number;
  name: string;
  supercategory: string;
  /** AP over IoU 0.50:0.95, AP at IoU 0.5 and 0.75, AR over IoU 0.50:0.95 (area 'all', last maxDets). */
  ap: number;
  ap50: number;
  ap75: number;
  ar: number;
}

/** Per-category AP/AR of an accumulated COCOeval, with category names from its ground truth. */
export function categoryApTable(E: COCOeval, opts: { summation?: Summation } = {}): CategoryRow[] {
  return E.perCategory(opts.summation).map((r) => {
    const cat = E.cocoGt.cats.get(r.category_id);
    return {
      ...r,
      name: r.category_id === -1 ? '(all categories)' : String(cat?.name ?? r.category_id),
      supercategory: String(cat?.supercategory ?? ''),
    };
  });
}

export interface TableFormat {
  /** 'text' (aligned columns, default), 'markdown' or 'csv'. */
  format?: 'text' | 'markdown' | 'csv';
  /** Decimal places (default 3; csv keeps full precision unless given). */
  digits?: number;
  /** Row order: as evaluated (default, category id), by descending AP, or by name. */
  sortBy?: 'id' | 'ap' | 'name';
}

/** Formats {@link categoryApTable} rows; undefined values (-1) print as `-`. */
export function formatCategoryTable(rows: readonly CategoryRow[], opts: TableFormat = {}): string {
  const { format = 'text', sortBy = 'id' } = opts;
  const digits = opts.digits ?? (format === 'csv' ? undefined : 3);
  const sorted = [...rows];
  if (sortBy === 'ap') sorted.sort((a, b) => b.ap - a.ap);
  else if (sortBy === 'name') sorted.sort((a, b) => a.name.localeCompare(b.name));
  const num = (v: number): string => (v < 0 ? '-' : digits === undefined ? String(v) : v.toFixed(digits));
  const header = ['id', 'category', 'AP', 'AP50', 'AP75', 'AR'];
  const body = sorted.map((r) => [String(r.category_id), r.name, num(r.ap), num(r.ap50), num(r.ap75), num(r.ar)]);
  if (format === 'csv') {
    const cell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [header, ...body].map((row) => row.map(cell).join(',')).join('\n');
  }
  if (format === 'markdown') {
    const esc = (s: string): string => s.replace(/\|/g, '\\|');
    return [
      `| ${header.join(' | ')} |`,
      `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
      ...body.map((row) => `| ${row.map(esc).join(' | ')} |`),
    ].join('\n');
  }
  if (format !== 'text') throw new ValueError(`formatCategoryTable: format must be 'text', 'markdown' or 'csv', got ${JSON.stringify(format)}`);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (row: string[]): string => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

/** Precision at each recall threshold for one category (COCO's interpolated precision). */
export interface CategoryCurve {
  category_id: number;
  name: string;
  /** `precision[r]` at `recall[r]` of the set; 0 past the highest recall reached. */
  precision: number[];
  /** Score of the detection at which each recall threshold is reached (0 past the end). */
  scores: number[];
  /** Mean of `precision`: this category's AP at the set's IoU threshold. */
  ap: number;
}

/** Precision/recall curves of every category with ground truth, at one IoU threshold, area range and maxDets. */
export interface PrCurveSet {
  iouType: string;
  iouThr: number;
  areaRng: string;
  maxDets: number;
  /** The recall thresholds (`params.recThrs`). */
  recall: number[];
  curves: CategoryCurve[];
  /** Mean over `curves` at each recall threshold, and its mean (the AP at this IoU over categories). */
  mean: { precision: number[]; ap: number };
}

function indexOf(values: readonly (number | string)[], v: number | string, what: string): number {
  const i = values.indexOf(v);
  if (i < 0) throw new ValueError(`prCurves: ${what} ${JSON.stringify(v)} is not in the evaluation's [${values.join(', ')}]`);
  return i;
}

/**
 * Precision/recall curves from an accumulated COCOeval (`E.eval.precision`
 * and `scores` at `[t, :, k, a, m]`). Defaults: IoU 0.5, area 'all', the last
 * maxDets. Categories without ground truth (precision -1) are left out.
 */
export function prCurves(E: COCOeval, opts: { iouThr?: number; areaRng?: string; maxDets?: number } = {}): PrCurveSet {
  const ev = E.eval;
  if (!ev) throw new ValueError('prCurves: call evaluate() and accumulate() first');
  const p = ev.params;
  const [, R, K] = ev.counts;
  const iouThr = opts.iouThr ?? 0.5;
  const areaRng = opts.areaRng ?? 'all';
  const maxDets = opts.maxDets ?? p.maxDets[p.maxDets.length - 1];
  const t = indexOf(p.iouThrs, iouThr, 'iouThr');
  const a = indexOf(p.areaRngLbl, areaRng, 'areaRng');
  const m = indexOf(p.maxDets, maxDets, 'maxDets');
  const catIds = p.useCats ? p.catIds : [-1];
  const curves: CategoryCurve[] = [];
  for (let k = 0; k < K; k++) {
    const precision: number[] = [];
    const scores: number[] = [];
    for (let r = 0; r < R; r++) {
      precision.push(E.precisionAt(t, r, k, a, m));
      scores.push(E.scoresAt(t, r, k, a, m));
    }
    if (precision[0] === -1) continue;
    const id = catIds[k];
    const name = id === -1 ? '(all categories)' : String(E.cocoGt.cats.get(id)?.name ?? id);
    curves.push({ category_id: id, name, precision, scores, ap: precision.reduce((s, v) => s + v, 0) / R });
  }
  const meanPrecision = p.recThrs.map((_, r) => (curves.length ? curves.reduce((s, c) => s + c.precision[r], 0) / curves.length : 0));
  return {
    iouType: p.iouType,
    iouThr,
    areaRng,
    maxDets,
    recall: [...p.recThrs],
    curves,
    mean: { precision: meanPrecision, ap: meanPrecision.reduce((s, v) => s + v, 0) / R },
  };
}

/** One series of an {@link svgPlot}: a polyline, or a filled area down to y = 0. */
export interface SvgSeries {
  label: string;
  x: readonly number[];
  y: readonly number[];
  color: Rgb;
  fill?: boolean;
  strokeWidth?: number;
}

export interface SvgPlotSpec {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Drawn in order (later on top); the legend lists them in order too. */
  series: readonly SvgSeries[];
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Palette colours dark enough for lines on white. */
const LINE_COLORS = PALETTE.filter((c) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] < 180);

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();

/**
 * A self-contained SVG line/area chart over [0, 1] x [0, 1] with grid, axes,
 * labels and a legend, as a string (write it to a file or set it as innerHTML).
 */
export function svgPlot(spec: SvgPlotSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 480;
  if (!(W >= 100 && H >= 100)) throw new ValueError(`svgPlot: width and height must be at least 100, got ${W} x ${H}`);
  const left = 56;
  const right = 190;
  const top = spec.title ? 36 : 16;
  const bottom = 48;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const X = (v: number): number => left + Math.min(1, Math.max(0, v)) * pw;
  const Y = (v: number): number => top + (1 - Math.min(1, Math.max(0, v))) * ph;
  const rgb = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (spec.title) out.push(`<text x="${left + pw / 2}" y="22" text-anchor="middle" font-size="15">${xmlEscape(spec.title)}</text>`);
  for (let i = 0; i <= 10; i++) {
    const v = i / 10;
    out.push(`<line x1="${fmt(X(v))}" y1="${top}" x2="${fmt(X(v))}" y2="${top + ph}" stroke="#e4e4e4"/>`);
    out.push(`<line x1="${left}" y1="${fmt(Y(v))}" x2="${left + pw}" y2="${fmt(Y(v))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${fmt(X(v))}" y="${top + ph + 16}" text-anchor="middle">${v.toFixed(1)}</text>`);
    out.push(`<text x="${left - 6}" y="${fmt(Y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  for (const s of spec.series) {
    if (s.x.length !== s.y.length) throw new ValueError(`svgPlot: series '${s.label}' has ${s.x.length} x and ${s.y.length} y values`);
    const pts = s.x.map((x, i) => `${fmt(X(x))},${fmt(Y(s.y[i]))}`);
    if (pts.length === 0) continue;
    if (s.fill) {
      const base = `${fmt(X(s.x[s.x.length - 1]))},${fmt(Y(0))} ${fmt(X(s.x[0]))},${fmt(Y(0))}`;
      out.push(`<polygon points="${pts.join(' ')} ${base}" fill="${rgb(s.color)}" stroke="none"/>`);
    } else {
      out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${rgb(s.color)}" stroke-width="${s.strokeWidth ?? 2}"/>`);
    }
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  if (spec.xLabel) out.push(`<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle">${xmlEscape(spec.xLabel)}</text>`);
  if (spec.yLabel) out.push(`<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${xmlEscape(spec.yLabel)}</text>`);
  const maxLegend = Math.floor((ph - 8) / 18);
  spec.series.slice(0, maxLegend).forEach((s, i) => {
    const y = top + 8 + i * 18;
    out.push(`<rect x="${left + pw + 12}" y="${y}" width="14" height="10" fill="${rgb(s.color)}"/>`);
    out.push(`<text x="${left + pw + 32}" y="${y + 9}">${xmlEscape(s.label)}</text>`);
  });
  if (spec.series.length > maxLegend) {
    out.push(`<text x="${left + pw + 12}" y="${top + 8 + maxLegend * 18 + 9}">… ${spec.series.length - maxLegend} more</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Draws a {@link PrCurveSet} as SVG: one line per category (palette colours,
 * legend with AP), the category mean as a thick black line. `maxCurves` keeps
 * the categories with the highest AP (default all).
 */
export function prCurvesToSvg(set: PrCurveSet, opts: { width?: number; height?: number; title?: string; maxCurves?: number } = {}): string {
  const curves = [...set.curves].sort((a, b) => b.ap - a.ap).slice(0, opts.maxCurves ?? set.curves.length);
  const series: SvgSeries[] = curves.map((c, i) => ({
    label: `[${c.ap.toFixed(3)}] ${c.name}`,
    x: set.recall,
    y: c.precision,
    color: LINE_COLORS[i % LINE_COLORS.length],
    strokeWidth: 1.5,
  }));
  series.push({ label: `[${set.mean.ap.toFixed(3)}] mean`, x: set.recall, y: set.mean.precision, color: [0, 0, 0], strokeWidth: 3 });
  return svgPlot({
    title: opts.title ?? `${set.iouType} precision/recall @ IoU=${set.iouThr} area=${set.areaRng} maxDets=${set.maxDets}`,
    xLabel: 'recall',
    yLabel: 'precision',
    width: opts.width,
    height: opts.height,
    series,
  });
}

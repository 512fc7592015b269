// The parallel coordinates' drawing, to a canvas (the page) or to SVG text (the export) from the same
// geometry: an axis per varying param and one for the metric, a line per point. Selected points are
// coloured by the metric over the range of the selection; the others stay as grey context; failed runs
// are red and dashed, runs without a result yet dotted, so neither takes a colour of the metric's range.

import { axisRange, axisValues, S } from "./state.js";
import { extent } from "./stats.js";
import { CONTEXT, clip, FAILED, FAILED_STATES, fmt, RAMP } from "./util.js";

export const PENDING = "#6b7280";

export function geometry(D, width, height) {
  const keys = D.varying.map((p) => `p:${p}`);
  if (S.metric) keys.push(`m:${S.metric}`);
  const [top, bottom, left, right] = [44, height - 26, 80, width - 80];
  const step = keys.length > 1 ? (right - left) / (keys.length - 1) : 0;
  const axes = keys.map((key, i) => {
    const values = axisValues(D, key);
    const [lo, hi] = axisRange(D, key);
    const wantLog = key.startsWith("m:") ? S.logMetric : D.log_params.includes(key.slice(2));
    const log = wantLog && lo > 0;
    const [l, h] = log ? [Math.log10(lo), Math.log10(hi)] : [lo, hi];
    const f = log ? Math.log10 : (v) => v;
    return {
      key,
      values,
      lo,
      hi,
      log,
      categories: values.categories,
      x: left + i * step,
      y: (v) => (v === null || (log && v <= 0) ? null : bottom - (h === l ? 0.5 : (f(v) - l) / (h - l)) * (bottom - top)),
      value: (y) => {
        const x = l + ((bottom - y) / (bottom - top)) * (h - l);
        return log ? 10 ** x : x;
      },
    };
  });
  return { axes, top, bottom, width, height };
}

// the layers to draw, in order: context, coloured buckets, failed, pending
export function layers(D, sel) {
  const metric = S.metric ? axisValues(D, `m:${S.metric}`) : null;
  const status = D.points.columns.status;
  const chosen = new Uint8Array(D.n);
  for (const k of sel) chosen[k] = 1;
  const context = [];
  for (let k = 0; k < D.n; k++) if (!chosen[k]) context.push(k);
  const range = metric ? extent(metric, sel) : null;
  const log = S.logMetric && range && range[0] > 0;
  const f = log ? Math.log10 : (v) => v;
  const [lo, hi] = range ? [f(range[0]), f(range[1])] : [0, 1];
  const buckets = RAMP.map(() => []);
  const failed = [];
  const pending = [];
  for (const k of sel) {
    const v = metric ? metric[k] : null;
    if (v === null || (log && v <= 0)) (FAILED_STATES.has(status[k]) ? failed : pending).push(k);
    else buckets[hi === lo ? 0 : Math.min(RAMP.length - 1, Math.floor(((f(v) - lo) / (hi - lo)) * RAMP.length))].push(k);
  }
  const alpha = sel.length > 2000 ? 0.15 : sel.length > 200 ? 0.4 : 0.8;
  return {
    range,
    context: { ks: context, colour: CONTEXT, alpha: context.length > 2000 ? 0.12 : 0.35 },
    buckets: buckets.map((ks, b) => ({ ks, colour: RAMP[b], alpha })),
    failed: { ks: failed, colour: FAILED, alpha: Math.max(alpha, 0.5), dash: [5, 3] },
    pending: { ks: pending, colour: PENDING, alpha: Math.max(alpha, 0.4), dash: [1, 3] },
  };
}

// one polyline per point through the axes (a missing value lifts the pen)
export function trace(geo, ks, move, line) {
  const axes = geo.axes;
  for (const k of ks) {
    let pen = false;
    for (const a of axes) {
      const y = a.y(a.values[k]);
      if (y === null) {
        pen = false;
        continue;
      }
      if (pen) line(a.x, y);
      else move(a.x, y);
      pen = true;
    }
  }
}

export function strokeLayer(ctx, geo, layer) {
  if (!layer.ks.length) return;
  ctx.globalAlpha = layer.alpha;
  ctx.strokeStyle = layer.colour;
  ctx.setLineDash(layer.dash || []);
  ctx.beginPath();
  trace(
    geo,
    layer.ks,
    (x, y) => ctx.moveTo(x, y),
    (x, y) => ctx.lineTo(x, y),
  );
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
}

const label = (a, v) => clip(a.categories ? a.categories[Math.round(v)] : fmt(v));
const title = (a) => clip(a.key.slice(2)) + (a.log ? " (log)" : "");

export function drawAxes(ctx, geo) {
  ctx.fillStyle = "#1d2430";
  ctx.textAlign = "center";
  for (const a of geo.axes) {
    ctx.strokeStyle = "#1d2430";
    ctx.beginPath();
    ctx.moveTo(a.x, geo.top);
    ctx.lineTo(a.x, geo.bottom);
    ctx.stroke();
    ctx.font = "bold 12px system-ui";
    ctx.fillText(title(a), a.x, 14); // canvas text is never markup
    ctx.font = "12px system-ui";
    ctx.fillText(label(a, a.hi), a.x, geo.top - 4);
    ctx.fillText(label(a, a.lo), a.x, geo.bottom + 14);
    const brush = S.brushes[a.key];
    if (brush) {
      ctx.fillStyle = "rgba(47,111,222,.25)";
      const [y1, y2] = [a.y(brush[1]), a.y(brush[0])];
      ctx.fillRect(a.x - 8, y1, 16, y2 - y1);
      ctx.fillStyle = "#1d2430";
    }
  }
}

const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function svgLayer(geo, layer) {
  if (!layer.ks.length) return "";
  const parts = [];
  trace(
    geo,
    layer.ks,
    (x, y) => parts.push(`M${x.toFixed(1)} ${y.toFixed(1)}`),
    (x, y) => parts.push(`L${x.toFixed(1)} ${y.toFixed(1)}`),
  );
  const dash = layer.dash ? ` stroke-dasharray="${layer.dash.join(" ")}"` : "";
  return `<path d="${parts.join("")}" fill="none" stroke="${layer.colour}" stroke-opacity="${layer.alpha}"${dash}/>\n`;
}

// the same figure as an SVG document (every line a path segment; text as text)
export function svg(geo, drawn) {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${geo.width}" height="${geo.height + 30}" font-family="system-ui, sans-serif" font-size="12">\n`,
  ];
  out.push(`<rect width="100%" height="100%" fill="#fff"/>\n`);
  for (const layer of [drawn.context, ...drawn.buckets, drawn.failed, drawn.pending]) out.push(svgLayer(geo, layer));
  for (const a of geo.axes) {
    out.push(`<line x1="${a.x}" y1="${geo.top}" x2="${a.x}" y2="${geo.bottom}" stroke="#1d2430"/>\n`);
    out.push(`<text x="${a.x}" y="14" text-anchor="middle" font-weight="bold">${xml(title(a))}</text>\n`);
    out.push(`<text x="${a.x}" y="${geo.top - 4}" text-anchor="middle">${xml(label(a, a.hi))}</text>\n`);
    out.push(`<text x="${a.x}" y="${geo.bottom + 14}" text-anchor="middle">${xml(label(a, a.lo))}</text>\n`);
    const brush = S.brushes[a.key];
    if (brush)
      out.push(
        `<rect x="${a.x - 8}" y="${a.y(brush[1])}" width="16" height="${a.y(brush[0]) - a.y(brush[1])}" fill="rgba(47,111,222,.25)"/>\n`,
      );
  }
  const legend = drawn.range ? `${S.metric}: ${fmt(drawn.range[0])} (dark) to ${fmt(drawn.range[1])} (yellow)` : "";
  const counts = `${drawn.failed.ks.length} failed (red, dashed) · ${drawn.pending.ks.length} without a result (dotted) · ${drawn.context.ks.length} outside the filters (grey)`;
  out.push(`<text x="10" y="${geo.height + 20}">${xml(`${legend} · ${counts}`)}</text>\n</svg>\n`);
  return out.join("");
}

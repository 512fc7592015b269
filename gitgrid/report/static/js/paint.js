// The parallel coordinates' drawing, to a canvas (the page) or to SVG text (the export) from the same
// geometry: an axis per varying param and one for the metric, a line per point. Selected points are
// coloured by the metric over the range of the selection; the others stay as grey context; failed runs
// are red and dashed, runs without a result yet dotted, so neither takes a colour of the metric's range.

import { axisRange, axisValues, S, stamp } from "./state.js";
import { extent } from "./stats.js";
import { CONTEXT, clip, FAILED, FAILED_STATES, fmt, RAMP } from "./util.js";

export const PENDING = "#6b7280";

export function geometry(D, width, height, ratio = 1) {
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
  const rowCount = Math.round((bottom - top) * ratio) + 1;
  return { axes, top, bottom, width, height, ratio, rowCount };
}

const [CONTEXT_LAYER, FAILED_LAYER, PENDING_LAYER] = [0, RAMP.length + 1, RAMP.length + 2];

// the points of each layer (0: context, 1..8: the colour buckets, then failed, then pending), as typed
// arrays: two passes over the points, no array grown point by point
function split(D, layerOf) {
  const count = new Int32Array(PENDING_LAYER + 1);
  for (let k = 0; k < D.n; k++) count[layerOf[k]] += 1;
  const out = Array.from(count, (c) => new Int32Array(c));
  const at = new Int32Array(count.length);
  for (let k = 0; k < D.n; k++) {
    const l = layerOf[k];
    out[l][at[l]++] = k;
  }
  return out;
}

// the layers to draw, in order: context, coloured buckets, failed, pending (their segments: `traced`)
export function layers(D, sel) {
  const metric = S.metric ? axisValues(D, `m:${S.metric}`) : null;
  const status = D.points.columns.status;
  const range = metric ? extent(metric, sel) : null;
  const log = S.logMetric && range && range[0] > 0;
  const f = log ? Math.log10 : (v) => v;
  const [lo, hi] = range ? [f(range[0]), f(range[1])] : [0, 1];
  const layerOf = new Uint8Array(D.n); // CONTEXT_LAYER unless selected
  for (const k of sel) {
    const v = metric ? metric[k] : null;
    if (v === null || (log && v <= 0)) layerOf[k] = FAILED_STATES.has(status[k]) ? FAILED_LAYER : PENDING_LAYER;
    else layerOf[k] = 1 + (hi === lo ? 0 : Math.min(RAMP.length - 1, Math.floor(((f(v) - lo) / (hi - lo)) * RAMP.length)));
  }
  const ks = split(D, layerOf);
  const alpha = sel.length > 2000 ? 0.15 : sel.length > 200 ? 0.4 : 0.8;
  const layer = (l, colour, a, dash) => ({ ks: ks[l], colour, alpha: a, dash, segments: null });
  return {
    range,
    context: layer(CONTEXT_LAYER, CONTEXT, ks[CONTEXT_LAYER].length > 2000 ? 0.12 : 0.35),
    buckets: RAMP.map((colour, b) => layer(1 + b, colour, alpha)),
    failed: layer(FAILED_LAYER, FAILED, Math.max(alpha, 0.5), [5, 3]),
    pending: layer(PENDING_LAYER, PENDING, Math.max(alpha, 0.4), [1, 3]),
  };
}

// Each point's height on each axis, in rows of device pixels below the top (-1: no value), kept per axis
// while its column, its range and the size hold: a brush only changes which points are drawn, never
// where, and a live update that changes the metric leaves the axes of params as they were.
let rowCache = { key: "", byAxis: new Map() };

function rowsOf(D, geo) {
  const key = JSON.stringify([D.name, D.version, geo.top, geo.bottom, geo.ratio]);
  if (rowCache.key !== key) rowCache = { key, byAxis: new Map() };
  return geo.axes.map((a) => {
    const axisKey = JSON.stringify([a.key, a.log, a.lo, a.hi, stamp(D, a.key)]);
    let rows = rowCache.byAxis.get(a.key);
    if (!rows || rows.key !== axisKey) {
      rows = new Int16Array(D.n);
      for (let k = 0; k < D.n; k++) {
        const y = a.y(a.values[k]);
        rows[k] = y === null ? -1 : Math.round((y - geo.top) * geo.ratio);
      }
      rows.key = axisKey;
      rowCache.byAxis.set(a.key, rows);
    }
    return rows;
  });
}

let seen = new Uint32Array(0);
let pass = 0; // marks the segments found in this pass (no clearing between passes)

// The segments of a layer between each pair of neighbouring axes, each drawn once: points that share
// both ends (a grid's params share them by the thousand) make one segment. A layer is one path stroked
// once, so a segment drawn twice would not look any darker: this draws exactly what one polyline per
// point drew, at a cost that grows with the distinct segments instead of the points. Returns, for each
// pair of axes, the segments' ends as keys (upper row * R + lower row).
export function segments(D, geo, ks) {
  const rows = rowsOf(D, geo);
  const R = geo.rowCount;
  if (seen.length < R * R) seen = new Uint32Array(R * R);
  const out = [];
  for (let a = 0; a + 1 < rows.length; a++) {
    const [from, to] = [rows[a], rows[a + 1]];
    const keys = [];
    pass += 1;
    if (pass === 0xffffffff) {
      seen.fill(0);
      pass = 1;
    }
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i];
      const ra = from[k];
      const rb = to[k];
      if (ra < 0 || rb < 0) continue; // a missing value lifts the pen
      const key = ra * R + rb;
      if (seen[key] !== pass) {
        seen[key] = pass;
        keys.push(key);
      }
    }
    out.push(keys);
  }
  return out;
}

// every segment of a layer, as (x1, y1, x2, y2) in CSS pixels
export function eachSegment(geo, found, fn) {
  const R = geo.rowCount;
  for (let a = 0; a < found.length; a++) {
    const [x1, x2] = [geo.axes[a].x, geo.axes[a + 1].x];
    for (const key of found[a]) fn(x1, geo.top + Math.floor(key / R) / geo.ratio, x2, geo.top + (key % R) / geo.ratio);
  }
}

// the layer with its segments, found once
export function traced(D, geo, layer) {
  if (!layer.segments) layer.segments = segments(D, geo, layer.ks);
  return layer;
}

export function strokeLayer(ctx, geo, layer) {
  if (!layer.ks.length) return;
  traced(S.D, geo, layer);
  ctx.globalAlpha = layer.alpha;
  ctx.strokeStyle = layer.colour;
  ctx.setLineDash(layer.dash || []);
  ctx.beginPath();
  eachSegment(geo, layer.segments, (x1, y1, x2, y2) => {
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
  });
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
  traced(S.D, geo, layer);
  const parts = [];
  const f = (v) => Math.round(v * 10) / 10;
  eachSegment(geo, layer.segments, (x1, y1, x2, y2) => parts.push(`M${f(x1)} ${f(y1)}L${f(x2)} ${f(y2)}`));
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

// Parallel coordinates on a canvas (Plotly's parcoords took seconds at 10,000 lines): drag along an axis
// to keep a range (a brush), click an axis to clear it. Redrawn when the canvas changes size, so the
// axes a drag finds are always the ones drawn. Each distinct segment is drawn once (paint.segments).

import { drawAxes, geometry, layers, PENDING, strokeLayer, svg } from "./paint.js";
import { exporter } from "./plots.js";
import { register, renderAll } from "./render.js";
import { S, stamp, stamps } from "./state.js";
import { $, CONTEXT, download, el, FAILED, fmt, RAMP } from "./util.js";

let geo = null;
let drawnLayers = null;
let background = { key: "", canvas: null }; // every line in grey (the context), kept while data and size hold

let measured = [0, 0]; // the size read by sig(), before any view drew

function size() {
  const canvas = $("parcoords-canvas");
  return [canvas.clientWidth, canvas.clientHeight];
}

const backgroundKey = (D) =>
  JSON.stringify([D.name, D.version, geo.width, geo.height, geo.ratio, geo.axes.map((a) => [a.key, a.log, stamp(D, a.key)])]);

// Every point in grey, drawn once per data and size: a brush then draws only the points it keeps, in
// colour, over this picture (the lines it leaves out are the grey context under them).
function contextBitmap(D) {
  const key = backgroundKey(D);
  if (background.key !== key) {
    const canvas = document.createElement("canvas");
    canvas.width = geo.width * geo.ratio;
    canvas.height = geo.height * geo.ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(geo.ratio, geo.ratio);
    ctx.lineWidth = 1;
    const all = new Int32Array(D.n).map((_, k) => k);
    strokeLayer(ctx, geo, { ks: all, colour: CONTEXT, alpha: D.n > 2000 ? 0.12 : 0.35, segments: null });
    background = { key, canvas };
  }
  return background.canvas;
}

// the context's picture made while the page is idle, so that the first brush finds it ready
function prepareContext() {
  if (!window.requestIdleCallback) return;
  requestIdleCallback(() => {
    if (S.D && geo && background.key !== backgroundKey(S.D)) contextBitmap(S.D);
  });
}

function paint(fresh) {
  const D = S.D;
  const canvas = $("parcoords-canvas");
  const [width, height] = fresh ? size() : measured;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  geo = geometry(D, width, height, ratio);
  drawnLayers = layers(D, S.sel);
  const L = drawnLayers;
  if (L.context.ks.length) ctx.drawImage(contextBitmap(D), 0, 0, width, height);
  else prepareContext();
  ctx.lineWidth = 1;
  const drawn = [...L.buckets, L.failed, L.pending];
  for (const layer of drawn) strokeLayer(ctx, geo, layer);
  drawAxes(ctx, geo);
  Object.assign(canvas.dataset, {
    lines: String(S.sel.length),
    context: String(L.context.ks.length),
    failed: String(L.failed.ks.length),
    width: String(width),
    axes: JSON.stringify(geo.axes.map((a) => ({ key: a.key, x: a.x, log: a.log }))),
    top: String(geo.top),
    bottom: String(geo.bottom),
    colourRange: JSON.stringify(L.range),
    segments: String(drawn.reduce((n, layer) => n + (layer.segments || []).reduce((m, keys) => m + keys.length, 0), 0)),
  });
  legend();
}

function swatch(colour, dash) {
  return el("span", { class: "swatch", style: `border-top: 3px ${dash} ${colour}` });
}

function legend() {
  const L = drawnLayers;
  const parts = [];
  if (L.range) {
    const best = S.D.maximize ? "high" : "low";
    parts.push(
      el(
        "span",
        {},
        `${S.metric}${S.logMetric && L.range[0] > 0 ? " (log)" : ""} `,
        fmt(L.range[0]),
        " ",
        el("span", { class: "ramp", style: `background: linear-gradient(to right, ${RAMP.join(", ")})` }),
        " ",
        fmt(L.range[1]),
        ` (${best} is best)`,
      ),
    );
  }
  parts.push(el("span", { "data-legend": "failed" }, swatch(FAILED, "dashed"), `failed: ${L.failed.ks.length}`));
  parts.push(el("span", { "data-legend": "pending" }, swatch(PENDING, "dotted"), `no result: ${L.pending.ks.length}`));
  parts.push(el("span", { "data-legend": "context" }, swatch(CONTEXT, "solid"), `outside the filters: ${L.context.ks.length}`));
  $("parcoords-legend").replaceChildren(...parts);
}

function brushing() {
  const canvas = $("parcoords-canvas");
  let drag = null;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  canvas.addEventListener("mousedown", (e) => {
    if (!geo || geo.width !== canvas.clientWidth || geo.height !== canvas.clientHeight) paint(true); // never a stale axis
    const [x, y] = at(e);
    const axis = geo.axes.find((a) => Math.abs(a.x - x) < 16);
    if (axis) drag = { key: axis.key, y0: y };
  });
  window.addEventListener("mouseup", (e) => {
    if (!drag) return;
    const [, y] = at(e);
    const { key, y0 } = drag;
    drag = null;
    const axis = geo.axes.find((a) => a.key === key);
    if (Math.abs(y - y0) < 3) delete S.brushes[key];
    else S.brushes[key] = [axis.value(Math.max(y, y0)), axis.value(Math.min(y, y0))];
    S.page = 0;
    renderAll(e.timeStamp);
  });
  new ResizeObserver(() => {
    if (S.D && geo && (geo.width !== canvas.clientWidth || geo.height !== canvas.clientHeight)) renderAll();
  }).observe(canvas);
}

function exportFigure(format, name) {
  const canvas = $("parcoords-canvas");
  if (format === "png") return new Promise((resolve) => canvas.toBlob((blob) => resolve(download(`${name}.png`, blob)), "image/png"));
  return download(`${name}.svg`, new Blob([svg(geo, drawnLayers)], { type: "image/svg+xml" }));
}

export function setupParcoords() {
  brushing();
  exporter("parcoords-canvas", exportFigure);
}

register({
  name: "parcoords",
  section: "parcoords",
  sig: () => {
    measured = size();
    const columns = stamps(S.D, `m:${S.metric}`, "c:status");
    return JSON.stringify([S.D.name, S.D.version, columns, S.selVersion, S.metric, S.logMetric, measured, S.brushes]);
  },
  draw: () => paint(false),
});

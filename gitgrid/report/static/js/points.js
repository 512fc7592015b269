// A scatter of many points drawn by the page on a canvas, with its axes, a note on hover and a click
// that opens the point. The compare view uses it: Plotly's WebGL scatter cost a new WebGL context, a pass
// over every point to lay out its axes, and a read back of the canvas on software compositing, about
// 3 s at 100,000 points on a 2-core machine; this draws them in tens of milliseconds. Text on the canvas
// is never markup; the note is set as text.

import { tickLabel, ticks } from "./figure.js";
import { clip, el, fmt, PALETTE } from "./util.js";

const MARGIN = { left: 70, right: 16, top: 12, bottom: 46 };
const NEAR = 6; // px: how close a pointer must be to a point to note or open it

// both axes' range [lo, hi] over xs and ys together (one scale: the same metric in two sweeps), in log10
// when `log` (values at or below 0 are then not drawn), padded a little
function range(xs, ys, log) {
  let [lo, hi] = [Infinity, -Infinity];
  for (const values of [xs, ys])
    for (const v of values) {
      const t = log ? (v > 0 ? Math.log10(v) : Number.NaN) : v;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
  if (lo === Infinity) [lo, hi] = [0, 1];
  const pad = (hi - lo) * 0.04 || Math.abs(hi) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

function axisTicks(lo, hi, log) {
  if (!log) return ticks(lo, hi, 6).map((v, _, all) => [v, tickLabel(v, all)]);
  const powers = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) powers.push([e, fmt(10 ** e)]);
  return powers.length >= 2 ? powers : ticks(lo, hi, 5).map((v) => [v, fmt(Number((10 ** v).toPrecision(3)))]);
}

// The figure's geometry: `f` maps a value to the drawn scale, `x`/`y` the scale to CSS pixels.
export function layout(width, height, xs, ys, log) {
  const [lo, hi] = range(xs, ys, log);
  const box = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  const f = log ? (v) => (v > 0 ? Math.log10(v) : Number.NaN) : (v) => v;
  const x = (t) => box.left + ((t - lo) / (hi - lo)) * (box.right - box.left);
  const y = (t) => box.bottom - ((t - lo) / (hi - lo)) * (box.bottom - box.top);
  return { width, height, lo, hi, log, box, f, x, y, ticks: axisTicks(lo, hi, log) };
}

function drawAxes(ctx, g, titles) {
  const { box } = g;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#1d2430";
  for (const [t, label] of g.ticks) {
    ctx.strokeStyle = "#e6e9ef";
    ctx.beginPath();
    ctx.moveTo(g.x(t), box.top);
    ctx.lineTo(g.x(t), box.bottom);
    ctx.moveTo(box.left, g.y(t));
    ctx.lineTo(box.right, g.y(t));
    ctx.stroke();
    ctx.textAlign = "center";
    ctx.fillText(label, g.x(t), box.bottom + 14);
    ctx.textAlign = "right";
    ctx.fillText(label, box.left - 6, g.y(t) + 4);
  }
  ctx.strokeStyle = "#1d2430";
  ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(clip(titles[0]), (box.left + box.right) / 2, g.height - 10);
  ctx.save();
  ctx.translate(14, (box.top + box.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(clip(titles[1]), 0, 0);
  ctx.restore();
}

// draw `xs` against `ys` into `holder` (a canvas and a note are made in it); returns the figure, for
// the pointer and the export
export function drawPoints(holder, { xs, ys, titles, log, width, height }) {
  let canvas = holder.querySelector("canvas");
  if (!canvas) {
    canvas = el("canvas", { class: "points" });
    holder.replaceChildren(canvas, el("div", { class: "point-note", hidden: "" }));
  }
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const g = layout(width, height, xs, ys, log);
  drawAxes(ctx, g, titles);
  ctx.save();
  ctx.beginPath();
  ctx.rect(g.box.left, g.box.top, g.box.right - g.box.left, g.box.bottom - g.box.top);
  ctx.clip();
  ctx.strokeStyle = "#999";
  ctx.setLineDash([5, 4]);
  ctx.beginPath(); // the line where both sweeps agree
  ctx.moveTo(g.x(g.lo), g.y(g.lo));
  ctx.lineTo(g.x(g.hi), g.y(g.hi));
  ctx.stroke();
  ctx.setLineDash([]);
  const many = xs.length > 5000;
  const size = many ? 3 : 5;
  ctx.fillStyle = PALETTE[0];
  ctx.globalAlpha = many ? 0.5 : 0.8;
  const px = new Float32Array(xs.length);
  const py = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    px[i] = g.x(g.f(xs[i]));
    py[i] = g.y(g.f(ys[i]));
    if (!Number.isNaN(px[i] + py[i])) ctx.fillRect(px[i] - size / 2, py[i] - size / 2, size, size);
  }
  ctx.restore();
  Object.assign(canvas.dataset, {
    box: JSON.stringify([g.box.left, g.box.top, g.box.right, g.box.bottom]),
    range: JSON.stringify([g.lo, g.hi]),
    log: String(log),
  });
  return { ...g, canvas, px, py, grid: null };
}

// the point nearest to (x, y), within NEAR px, found through a grid of NEAR-px cells made on first use
export function nearest(fig, x, y) {
  if (!fig.grid) {
    fig.grid = new Map();
    for (let i = 0; i < fig.px.length; i++) {
      const key = Math.floor(fig.px[i] / NEAR) * 65536 + Math.floor(fig.py[i] / NEAR);
      if (!fig.grid.has(key)) fig.grid.set(key, []);
      fig.grid.get(key).push(i);
    }
  }
  let [best, distance] = [-1, NEAR * NEAR];
  const [cx, cy] = [Math.floor(x / NEAR), Math.floor(y / NEAR)];
  for (let dx = -1; dx <= 1; dx++)
    for (let dy = -1; dy <= 1; dy++)
      for (const i of fig.grid.get((cx + dx) * 65536 + cy + dy) || []) {
        const d = (fig.px[i] - x) ** 2 + (fig.py[i] - y) ** 2;
        if (d <= distance) [best, distance] = [i, d];
      }
  return best;
}

// the pointer: a note (`note(i)`, text) over the point under it, and a click that calls `open(i)`
export function pointer(holder, figure, note, open) {
  const at = (e) => {
    const fig = figure();
    if (!fig) return -1;
    const r = fig.canvas.getBoundingClientRect();
    return nearest(fig, e.clientX - r.left, e.clientY - r.top);
  };
  holder.addEventListener("mousemove", (e) => {
    const i = at(e);
    const box = holder.querySelector(".point-note");
    if (!box) return;
    box.hidden = i < 0;
    if (i < 0) return;
    const fig = figure();
    box.textContent = note(i);
    box.style.left = `${fig.px[i] + 10}px`;
    box.style.top = `${fig.py[i] + 10}px`;
  });
  holder.addEventListener("mouseleave", () => {
    const box = holder.querySelector(".point-note");
    if (box) box.hidden = true;
  });
  holder.addEventListener("click", (e) => {
    const i = at(e);
    if (i >= 0) open(i);
  });
}

const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

// the same figure as SVG text: axes and labels as text, each point a small square
export function pointsSvg(fig, titles) {
  const { box } = fig;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fig.width}" height="${fig.height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
  for (const [t, label] of fig.ticks) {
    const [x, y] = [fig.x(t).toFixed(1), fig.y(t).toFixed(1)];
    out.push(`<path d="M${x} ${box.top}V${box.bottom}M${box.left} ${y}H${box.right}" stroke="#e6e9ef"/>`);
    out.push(`<text x="${x}" y="${box.bottom + 14}" text-anchor="middle">${xml(label)}</text>`);
    out.push(`<text x="${box.left - 6}" y="${Number(y) + 4}" text-anchor="end">${xml(label)}</text>`);
  }
  out.push(
    `<rect x="${box.left}" y="${box.top}" width="${box.right - box.left}" height="${box.bottom - box.top}" fill="none" stroke="#1d2430"/>`,
  );
  out.push(`<text x="${(box.left + box.right) / 2}" y="${fig.height - 10}" text-anchor="middle" font-size="12">${xml(titles[0])}</text>`);
  out.push(
    `<text transform="translate(14 ${(box.top + box.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${xml(titles[1])}</text>`,
  );
  const [a, b] = [fig.x(fig.lo), fig.y(fig.lo)].map((v) => v.toFixed(1));
  const [c, d] = [fig.x(fig.hi), fig.y(fig.hi)].map((v) => v.toFixed(1));
  out.push(`<path d="M${a} ${b}L${c} ${d}" stroke="#999" stroke-dasharray="5 4"/>`);
  out.push(`<g fill="${PALETTE[0]}" fill-opacity="0.6">`);
  for (let i = 0; i < fig.px.length; i++) {
    if (!Number.isNaN(fig.px[i] + fig.py[i]))
      out.push(`<rect x="${(fig.px[i] - 1.5).toFixed(1)}" y="${(fig.py[i] - 1.5).toFixed(1)}" width="3" height="3"/>`);
  }
  out.push("</g></svg>\n");
  return out.join("\n");
}

// Small figures the page draws itself as SVG (the effects and importance): a few dozen elements, drawn in
// a millisecond or two where a Plotly figure of several subplots took a few hundred (each subplot's axes
// are laid out and measured again on every change). Text goes in as text nodes, never as markup. Saved
// as SVG (the element itself) or PNG (the same SVG drawn to a canvas), from file:// as from the dashboard.

import { download } from "./util.js";

const NS = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// a text with a tooltip (SVG's <title>: text too)
export const text = (attrs, content, tip) => svgEl("text", attrs, content, tip ? svgEl("title", {}, tip) : null);

// about `count` round ticks covering [lo, hi]: steps of 1, 2 or 5 times a power of ten
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

// a tick's label: as few digits as the step needs
export function tickLabel(v, values) {
  const step = values.length > 1 ? Math.abs(values[1] - values[0]) : Math.abs(v) || 1;
  const digits = Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9)));
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(1) : v.toFixed(digits);
}

// a linear scale from [lo, hi] to [a, b] (the middle of [a, b] when lo == hi)
export function scale(lo, hi, a, b) {
  return (v) => (hi === lo ? (a + b) / 2 : a + ((v - lo) / (hi - lo)) * (b - a));
}

export function svgText(svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", NS);
  copy.insertBefore(svgEl("rect", { width: "100%", height: "100%", fill: "#fff" }), copy.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
}

// save the SVG figure in `holder` as `name`.svg or .png
export async function saveFigure(holder, format, name) {
  const svg = holder.querySelector("svg");
  if (!svg) return undefined;
  const source = svgText(svg);
  if (format === "svg") return download(`${name}.svg`, new Blob([source], { type: "image/svg+xml" }));
  const [width, height] = [Number(svg.getAttribute("width")), Number(svg.getAttribute("height"))];
  const url = URL.createObjectURL(new Blob([source], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement("canvas");
    const ratio = 2; // a sharper picture than the screen's
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    return download(`${name}.png`, blob);
  } finally {
    URL.revokeObjectURL(url);
  }
}

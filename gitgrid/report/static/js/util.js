// Small helpers shared by every view: building DOM nodes as text (never markup), formatting numbers,
// times and durations, and escaping text for Plotly (which renders a subset of HTML in every label).

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const isNum = (v) => typeof v === "number" && Number.isFinite(v);

// numbers to 6 significant digits (labels of params need rounding), whole numbers without a ".0", the rest as text
export function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return String(v);
}

// a time as "2026-11-18 10:20:33" in the reader's time zone: from an ISO text or seconds since 1970
export function when(v) {
  if (v === null || v === undefined || v === "") return "";
  const date = new Date(typeof v === "number" ? v * 1000 : v);
  if (Number.isNaN(date.getTime())) return String(v);
  const two = (n) => String(n).padStart(2, "0");
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

export const clip = (s) => (s.length > 22 ? `${s.slice(0, 21)}…` : s); // canvas labels have no room to wrap

// Plotly renders <b>, <a href>, <br>... in titles, ticks, legends and hovers: every text given to it goes through this
export const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
export const escValue = (v) => (typeof v === "string" ? esc(v) : v);

export function seconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 120) return `${fmt(s)} s`;
  return s < 7200 ? `${fmt(s / 60)} min` : `${fmt(s / 3600)} h`;
}

export function options(select, values, chosen, labels) {
  select.replaceChildren(...values.map((v, i) => el("option", { value: v }, labels ? labels[i] : v)));
  if (values.includes(chosen)) select.value = chosen;
  return select.value;
}

export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#637939",
];
// viridis, low to high; failed runs never take one of these (they are drawn in FAILED)
export const RAMP = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725"];
export const FAILED = "#d62728";
export const CONTEXT = "#c4c9d2";
export const FAILED_STATES = new Set(["failed", "timeout", "cancelled"]);

const collator = new Intl.Collator(); // once: each localeCompare() call looks its collator up again

export function byValue(a, b) {
  if (isNum(a) && isNum(b)) return a - b;
  if (isNum(a)) return -1;
  if (isNum(b)) return 1;
  return collator.compare(String(a), String(b));
}
export const distinct = (values) => [...new Set(values)].sort(byValue);

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// a file the browser saves: works from file:// (no network, no server)
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

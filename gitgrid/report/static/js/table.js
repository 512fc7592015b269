// The points table: 100 rows a page, a click on a header sorts (again: reverse; the header shows ▲ or
// ▼), a filter per column (typing waits 250 ms after the last key, so a keystroke never waits for the
// views), and the filtered rows, in their order, saved as CSV.

import { openDetail } from "./detail.js";
import { register, renderAll } from "./render.js";
import { column, S } from "./state.js";
import { $, byValue, debounce, download, el, fmt } from "./util.js";

const PAGE_ROWS = 100;
const FILTER_WAIT = 250; // ms after the last keystroke

const keysOf = (D) => [
  "c:index",
  ...D.params.map((p) => `p:${p}`),
  ...D.metrics.map((m) => `m:${m}`),
  "c:status",
  "c:attempt",
  "c:duration",
  "c:commit",
];

function ordered(D) {
  const values = column(D, S.sort.key);
  const sign = S.sort.desc ? -1 : 1;
  const order = [...S.sel];
  if (S.sort.key !== "c:index" || S.sort.desc) {
    order.sort((a, b) => {
      const [u, v] = [values[a], values[b]];
      if (u === null || v === null) return u === null ? (v === null ? 0 : 1) : -1; // blanks last, either way
      return sign * byValue(u, v);
    });
  }
  return order;
}

function cell(D, key, k) {
  const v = column(D, key)[k];
  if (key === "c:commit") return el("td", {}, String(v).slice(0, 12));
  if (key === "c:status") return el("td", { class: `st-${String(v).replace(" ", "-")}` }, v);
  const text = key === "c:duration" ? fmt(v === null ? null : Math.round(v * 1000) / 1000) : fmt(v);
  return el("td", { class: typeof v === "number" ? "num" : "" }, text);
}

function draw() {
  const D = S.D;
  const keys = keysOf(D);
  if ($("table-head").dataset.keys !== JSON.stringify(keys) || $("table-head").dataset.sort !== JSON.stringify(S.sort)) buildHead(keys);
  const order = ordered(D);
  const pages = Math.max(1, Math.ceil(order.length / PAGE_ROWS));
  S.page = Math.min(S.page, pages - 1);
  const shown = order.slice(S.page * PAGE_ROWS, (S.page + 1) * PAGE_ROWS);
  const idx = D.points.columns.index;
  $("table").dataset.rows = String(order.length);
  $("table-pager-text").textContent = `${order.length} rows · page ${S.page + 1} of ${pages}`;
  const columns = keys.map((key) => column(D, key));
  const stamp = JSON.stringify([keys, shown.map((k) => columns.map((values) => values[k]))]);
  if (stamp === $("table-body").dataset.stamp) return; // the rows shown are the rows it has
  $("table-body").dataset.stamp = stamp;
  $("table-body").replaceChildren(
    ...shown.map((k) => el("tr", { onclick: () => openDetail(idx[k]), "data-index": idx[k] }, ...keys.map((key) => cell(D, key, k)))),
  );
}

const filtered = debounce((started) => {
  S.page = 0;
  renderAll(started);
}, FILTER_WAIT);

function buildHead(keys) {
  const head = $("table-head");
  head.dataset.keys = JSON.stringify(keys);
  head.dataset.sort = JSON.stringify(S.sort);
  const mark = (key) => (S.sort.key === key ? (S.sort.desc ? " ▼" : " ▲") : "");
  const sortBy = (key) => () => {
    S.sort = { key, desc: S.sort.key === key ? !S.sort.desc : false };
    renderAll();
  };
  const aria = (key) => (S.sort.key === key ? (S.sort.desc ? "descending" : "ascending") : "none");
  const names = el(
    "tr",
    {},
    ...keys.map((key) => el("th", { onclick: sortBy(key), "aria-sort": aria(key), "data-key": key }, key.slice(2), mark(key))),
  );
  const input = (key) =>
    el("input", {
      "data-key": key,
      placeholder: "filter",
      value: S.filters[key] || "",
      oninput: (e) => {
        S.filters[key] = e.target.value;
        filtered(e.timeStamp);
      },
    });
  head.replaceChildren(names, el("tr", { class: "filters" }, ...keys.map((key) => el("th", {}, input(key)))));
}

// a cell as CSV (RFC 4180), and never a formula: a text a spreadsheet would run (=, +, -, @) gets a '
function csvCell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return String(v);
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(D) {
  const keys = keysOf(D);
  const lines = [keys.map((k) => csvCell(k.slice(2))).join(",")];
  const columns = keys.map((key) => column(D, key));
  for (const k of ordered(D)) lines.push(columns.map((values) => csvCell(values[k])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export function setupTable() {
  $("table-prev").addEventListener("click", () => {
    S.page = Math.max(0, S.page - 1);
    renderAll();
  });
  $("table-next").addEventListener("click", () => {
    S.page += 1;
    renderAll();
  });
  $("table-csv").addEventListener("click", () => download(`${S.D.name}-points.csv`, new Blob([csv(S.D)], { type: "text/csv" })));
}

register({
  name: "table",
  section: "table",
  sig: () => JSON.stringify([S.D.name, S.D.version, S.D.stamps, S.selVersion, S.sort, S.page, S.D.metrics.length]),
  draw,
});

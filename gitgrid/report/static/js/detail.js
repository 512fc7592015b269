// The side panel: one point (params, metrics, attempts, git diff, logs, meta.json, series), or one
// combination of params over the repeat param (its runs, each opening its point). Escape closes it.

import { clear, plot } from "./plots.js";
import { source } from "./source.js";
import { S } from "./state.js";
import { $, el, esc, fmt, seconds, when } from "./util.js";

function panel() {
  const node = $("detail");
  node.hidden = false;
  return $("detail-body");
}

export function closeDetail() {
  $("detail").hidden = true;
  $("detail").dataset.index = "";
}

function metricsTable(D, index) {
  const k = D.pos.get(index);
  if (k === undefined) return null;
  return el(
    "table",
    { id: "detail-metrics" },
    ...D.metrics.map((m) => el("tr", {}, el("th", {}, m), el("td", { class: "num" }, fmt(D.points.metrics[m][k])))),
  );
}

function attempts(runs) {
  const heads = ["attempt", "status", "reason", "host", "started", "ended", "duration", "run directory"];
  return el(
    "table",
    { id: "detail-runs" },
    el("tr", {}, ...heads.map((h) => el("th", {}, h))),
    ...runs.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.attempt),
        el("td", { class: `st-${r.status}` }, r.status),
        el("td", {}, r.reason || ""),
        el("td", {}, r.host || ""),
        el("td", { title: String(r.started ?? "") }, when(r.started)),
        el("td", { title: String(r.ended ?? "") }, when(r.ended)),
        el("td", { class: "num" }, seconds(r.duration)),
        el("td", {}, r.run_dir || ""),
      ),
    ),
  );
}

function diffBlock(diff) {
  const kind = (line) => (line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "");
  return el("pre", { id: "detail-diff" }, ...diff.split("\n").map((line) => el("span", { class: kind(line) }, `${line}\n`)));
}

export async function openDetail(index) {
  const D = S.D;
  const body = panel();
  $("detail").dataset.index = String(index);
  $("detail").dataset.kind = "point";
  body.replaceChildren(el("p", { class: "note" }, "loading…"));
  const d = await source.detail(D.name, index);
  if (!d) {
    body.replaceChildren(
      el("h2", {}, `Point ${index}`),
      metricsTable(D, index) || "",
      el(
        "p",
        { class: "note" },
        `The details of point ${index} are not in this report (it carries the best ones); 'gitgrid dashboard' shows every point.`,
      ),
    );
    return;
  }
  const files = d.files || {};
  body.replaceChildren(
    el("h2", {}, `Point ${d.index}`),
    el("p", {}, `commit ${d.commit}`),
    el("table", { id: "detail-params" }, ...Object.entries(d.params).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, fmt(v))))),
    el("h3", {}, "Metrics"),
    metricsTable(D, d.index) || el("p", { class: "note" }, "no result"),
    el("h3", {}, "Attempts"),
    attempts(d.runs),
    el("h3", {}, `git diff ${D.base.slice(0, 12)} ${d.commit.slice(0, 12)}`),
    diffBlock(d.diff),
    el("h3", {}, "stdout (last lines)"),
    el("pre", { id: "detail-stdout" }, (files.stdout || []).join("\n")),
    el("h3", {}, "stderr (last lines)"),
    el("pre", { id: "detail-stderr" }, (files.stderr || []).join("\n")),
    el("details", {}, el("summary", {}, "meta.json"), el("pre", { id: "detail-meta" }, files.meta || "")),
    el("h3", {}, "Series"),
    el("div", { id: "detail-series", class: "plot" }),
  );
  const series = Object.entries(d.series || {});
  $("detail-series").dataset.traces = String(series.length);
  if (series.length)
    await plot(
      $("detail-series"),
      series.map(([n, [x, y]]) => ({ type: "scatter", mode: "lines", name: esc(n), x, y })),
      { xaxis: { title: { text: "step" } } },
    );
  else clear($("detail-series"));
}

// a combination of params over the repeat param: its runs, the mean and spread; a row opens its point
export function openAggregate(cell) {
  const D = S.D;
  const body = panel();
  $("detail").dataset.kind = "aggregate";
  $("detail").dataset.index = "";
  const idx = D.points.columns.index;
  const shared = D.params.filter((p) => p !== S.repeat);
  const k0 = cell.ks[0];
  const ys = D.points.metrics[S.metric] || [];
  const rows = [...cell.ks]
    .sort((a, b) => idx[a] - idx[b])
    .map((k) =>
      el(
        "tr",
        { onclick: () => openDetail(idx[k]), "data-index": idx[k] },
        el("td", { class: "num" }, idx[k]),
        el("td", {}, fmt(D.points.params[S.repeat][k])),
        el("td", { class: `st-${String(D.points.columns.status[k]).replace(" ", "-")}` }, D.points.columns.status[k]),
        el("td", { class: "num" }, fmt(ys[k])),
      ),
    );
  body.replaceChildren(
    el("h2", {}, `${cell.ks.length} runs over ${S.repeat}`),
    el("p", {}, shared.map((p) => `${p}=${fmt(D.points.params[p][k0])}`).join(" · ")),
    el("p", {}, `${S.metric}: mean ${fmt(cell.mean)} ± ${fmt(cell.sd)} (sd), n = ${cell.n}`),
    el("table", { id: "detail-aggregate" }, el("tr", {}, ...["point", S.repeat, "state", S.metric].map((h) => el("th", {}, h))), ...rows),
  );
}

export function setupDetail() {
  $("detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("detail").hidden) closeDetail();
  });
}

// The page's layout: a header of global choices, then one section per view (two columns on a wide
// screen, one below about 1000 px: see app.css), and the side panel of a point.

import { exportButtons } from "./plots.js";
import { $, el } from "./util.js";

const select = (id, label) => el("label", {}, `${label} `, el("select", { id }));
const section = (id, title, wide, ...children) => el("section", { id, class: wide ? "wide" : "" }, el("h2", {}, title), ...children);
const controls = (...children) => el("div", { class: "controls" }, ...children);
const plotDiv = (id) => el("div", { id, class: "plot" });
const table = (headId, bodyId, heads) =>
  el(
    "div",
    { class: "scroll" },
    el(
      "table",
      {},
      el("thead", { id: headId }, heads ? el("tr", {}, ...heads.map((h) => el("th", {}, h))) : null),
      el("tbody", { id: bodyId }),
    ),
  );

function header() {
  return el(
    "header",
    {},
    el("h1", {}, "gitgrid"),
    select("sweep", "sweep"),
    select("metric", "metric"),
    el("label", { title: "metric axes in log scale" }, el("input", { type: "checkbox", id: "log-metric" }), " log scale"),
    select("repeat", "repeat param"),
    el("span", { id: "selection" }),
    el("button", { id: "clear" }, "clear filters"),
    el("span", { id: "live" }),
  );
}

function views() {
  return [
    section(
      "home",
      "Sweeps",
      true,
      table("home-head", "home-body", ["sweep", "created", "base", "points", "states", "best", "time spent"]),
    ),
    section(
      "optimize",
      "Optimisation",
      true,
      el("p", { id: "optimize-note", class: "note" }),
      controls(
        select("path-x", "path x"),
        select("path-y", "y"),
        exportButtons("progress-plot", "optimisation-progress"),
        exportButtons("path-plot", "optimisation-path"),
      ),
      plotDiv("progress-plot"),
      plotDiv("path-plot"),
    ),
    section(
      "summary",
      "Summary",
      true,
      el("div", { id: "summary-counts" }),
      el("p", { id: "summary-base" }),
      el("p", { id: "summary-durations" }),
      el("p", { id: "summary-stages" }),
      el("h3", { id: "summary-best-title" }),
      el("table", { id: "summary-best-table" }, el("tbody", { id: "summary-best" })),
      el("details", {}, el("summary", {}, "spec"), el("pre", { id: "summary-spec" })),
    ),
    section(
      "parcoords",
      "Parallel coordinates",
      true,
      controls(
        el("span", { class: "note" }, "drag along an axis to keep a range; click an axis to clear it"),
        exportButtons("parcoords-canvas", "parallel-coordinates"),
      ),
      el("canvas", { id: "parcoords-canvas" }),
      el("div", { id: "parcoords-legend", class: "legend" }),
    ),
    section(
      "effects",
      "Effects and importance",
      true,
      controls(
        el("span", { id: "effects-note", class: "note" }),
        exportButtons("importance-plot", "importance"),
        exportButtons("effects-plot", "main-effects"),
      ),
      el("div", { class: "pair" }, plotDiv("importance-plot"), plotDiv("effects-plot")),
    ),
    section(
      "scatter",
      "Metric against a param",
      false,
      controls(select("scatter-x", "x"), select("scatter-colour", "colour"), exportButtons("scatter-plot", "metric-against-param")),
      plotDiv("scatter-plot"),
    ),
    section(
      "heatmap",
      "Heatmap",
      false,
      controls(
        select("heat-x", "x"),
        select("heat-y", "y"),
        select("heat-agg", "cells"),
        el("span", { id: "heat-fixed" }),
        exportButtons("heatmap-plot", "heatmap"),
      ),
      plotDiv("heatmap-plot"),
    ),
    section(
      "series",
      "Series",
      true,
      controls(
        select("series-name", "series"),
        select("series-colour", "colour"),
        el("span", { id: "series-note", class: "note" }),
        exportButtons("series-plot", "series"),
      ),
      plotDiv("series-plot"),
    ),
    section(
      "table",
      "Points",
      true,
      controls(el("button", { id: "table-csv", title: "the rows that pass the filters, in this order" }, "CSV")),
      table("table-head", "table-body"),
      el(
        "div",
        { class: "pager" },
        el("button", { id: "table-prev" }, "‹"),
        el("span", { id: "table-pager-text" }),
        el("button", { id: "table-next" }, "›"),
      ),
    ),
    section(
      "compare",
      "Compare two sweeps",
      true,
      controls(select("compare-with", "with"), el("span", { id: "compare-note", class: "note" }), exportButtons("compare-plot", "compare")),
      plotDiv("compare-plot"),
      table("compare-head", "compare-body", ["point", "params", "this sweep", "other sweep", "difference"]),
    ),
  ];
}

export function buildPage() {
  document.body.append(
    header(),
    el("main", {}, ...views()),
    el(
      "aside",
      { id: "detail", hidden: "" },
      el("button", { id: "detail-close", title: "close (Esc)" }, "close"),
      el("div", { id: "detail-body" }),
    ),
  );
  $("optimize").hidden = true;
}

// an optimisation sweep shows its optimisation first, a grid its summary first
export function arrange(optimisation) {
  const main = document.querySelector("main");
  const anchor = optimisation ? $("summary") : $("compare").nextSibling;
  main.insertBefore($("optimize"), anchor);
}

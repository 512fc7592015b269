// Plotly, as every view uses it: no link to any web service (an offline, private report must never
// offer to upload its data), a click that opens what was clicked, PNG and SVG export of each figure.

import { $, el } from "./util.js";

export const CONFIG = {
  displaylogo: false,
  responsive: true,
  showSendToCloud: false,
  showEditInChartStudio: false,
  showLink: false,
  plotlyServerURL: "",
  modeBarButtonsToRemove: ["sendChartToCloud", "editInChartStudio", "sendDataToCloud"],
};

export function plot(div, traces, layout) {
  const base = { margin: { l: 60, r: 20, t: 10, b: 50 }, hovermode: "closest", showlegend: true, legend: { font: { size: 11 } } };
  return Plotly.react(div, traces, { ...base, ...layout }, CONFIG);
}

export function clear(div, note) {
  div.dataset.points = "0";
  Plotly.purge(div);
  if (note !== undefined) div.dataset.note = note;
}

// a click on a marker: `open(customdata)` (a point index, or what the view put there)
export function onClick(div, open) {
  div.onClickPoint = open;
  if (div.dataset.bound) return;
  div.dataset.bound = "1";
  div.on("plotly_click", (e) => {
    const p = e.points[0];
    if (p && p.customdata !== undefined && p.customdata !== null) div.onClickPoint(p.customdata);
  });
}

// a log axis for the metric when the reader asked for it (values at or below 0 are then not drawn)
export const metricAxis = (log, title) => ({ title: { text: title }, type: log ? "log" : "linear" });

const exporters = {}; // figure id -> (format) => Promise<Blob|void>, for figures Plotly does not draw

export function exporter(id, fn) {
  exporters[id] = fn;
}

async function save(id, format, name) {
  if (exporters[id]) return exporters[id](format, name);
  const div = $(id);
  if (!div.data) return undefined;
  return Plotly.downloadImage(div, { format, filename: name, width: div.clientWidth || 900, height: div.clientHeight || 400 });
}

// "PNG" and "SVG" buttons saving figure `id` as `name`.png / .svg
export function exportButtons(id, name) {
  const button = (format) =>
    el(
      "button",
      {
        class: "export",
        "data-figure": id,
        "data-format": format,
        title: `save as ${format.toUpperCase()}`,
        onclick: () => save(id, format, name),
      },
      format.toUpperCase(),
    );
  return el("span", { class: "exports" }, button("png"), button("svg"));
}

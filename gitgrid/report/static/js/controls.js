// The menus: choosing a sweep, the metric, the repeat param and each view's choices; and applying a state
// read from the address (#...), so a link opens the same view.

import { setupDetail } from "./detail.js";
import { readHash } from "./hash.js";
import { renderHome } from "./home.js";
import { arrange } from "./layout.js";
import { searched } from "./optimize.js";
import { invalidate, renderAll } from "./render.js";
import { source } from "./source.js";
import { bins, nextVersion, prepare, S } from "./state.js";
import { $, el, options } from "./util.js";

export async function loadSeries() {
  const D = S.D;
  if (S.seriesName && !D.series[S.seriesName]) {
    D.series[S.seriesName] = await source.series(D.name, S.seriesName);
    D.seriesVersion = nextVersion();
  }
}

function heatFixed(D, params) {
  const menus = params
    .filter((p) => p !== S.heat.x && p !== S.heat.y && D.varying.includes(p))
    .map((p) => {
      const labels = bins(D, p).labels;
      const s = el("select", {
        "data-param": p,
        onchange: (e) => {
          S.heat.fixed = { ...S.heat.fixed, [p]: e.target.value };
          renderAll();
        },
      });
      options(s, ["", ...labels], S.heat.fixed[p] || "", [`${p}: ${S.heat.agg} over all`, ...labels.map((v) => `${p} = ${v}`)]);
      return s;
    });
  $("heat-fixed").replaceChildren(...menus);
}

export function controls() {
  const D = S.D;
  const params = D.params;
  const varying = D.varying.length ? D.varying : params;
  S.metric = options($("metric"), D.metrics, S.metric || D.metric);
  S.xParam = options($("scatter-x"), params, S.xParam || varying[0]);
  S.colour = options($("scatter-colour"), ["", ...params], S.colour ?? (varying[1] || ""), ["none", ...params]);
  S.repeat = options($("repeat"), ["", ...params], S.repeat || D.repeat_param || "", ["none", ...params]);
  $("log-metric").checked = S.logMetric;
  S.heat.x = options($("heat-x"), params, S.heat.x || varying[0]);
  S.heat.y = options($("heat-y"), params, S.heat.y || varying[1] || params[0]);
  S.heat.agg = options($("heat-agg"), ["mean", "min", "max", "count"], S.heat.agg);
  heatFixed(D, params);
  S.seriesName = options($("series-name"), D.series_names, S.seriesName || D.series_names[0]);
  S.seriesColour = options($("series-colour"), ["", ...params], S.seriesColour ?? (varying[0] || ""), ["none", ...params]);
  const numeric = searched(D);
  S.path.x = options($("path-x"), numeric, S.path.x || numeric[0]);
  S.path.y = options($("path-y"), ["", ...numeric], S.path.y || numeric[1] || "", ["iteration", ...numeric]);
  const others = S.home.map((s) => s.name).filter((n) => n !== D.name);
  S.other = options($("compare-with"), ["", ...others], S.other, ["—", ...others]);
}

// a state from the address: what it names replaces the current choice, the rest is reset
function adopt(state) {
  S.brushes = state ? state.brushes : {};
  S.filters = state ? state.filters : {};
  S.sort = state?.sort || { key: "c:index", desc: false };
  S.page = 0;
  if (!state) return;
  if (state.metric) S.metric = state.metric;
  S.repeat = state.repeat || "";
  S.logMetric = state.log === "1";
  Object.assign(S, state.view);
  S.heat = { ...S.heat, ...state.heat, fixed: {} };
}

export async function chooseSweep(name, state) {
  S.D = prepare(await source.sweep(name));
  S.otherD = null;
  adopt(state || null);
  $("sweep").value = name;
  $("table-head").dataset.keys = ""; // its filter inputs show the filters adopted
  arrange(Boolean(S.D.optimize));
  controls();
  await loadSeries();
  renderHome(chooseSweep);
  S.homeVersion += 1;
  if (S.other) S.otherD = prepare(await source.sweep(S.other));
  invalidate();
  await renderAll();
}

// the address's state, or the old ?sweep= of a link, or the newest sweep
export function wanted() {
  const state = readHash(location.hash);
  const names = S.home.map((s) => s.name);
  const asked = state?.sweep || new URLSearchParams(location.search).get("sweep");
  return { name: names.includes(asked) ? asked : names[0], state };
}

function on(id, handler, menus) {
  $(id).addEventListener("change", async (e) => {
    await handler(e.target.type === "checkbox" ? e.target.checked : e.target.value);
    if (menus) controls();
    return renderAll(e.timeStamp);
  });
}

export function wire() {
  $("sweep").addEventListener("change", (e) => chooseSweep(e.target.value));
  on("metric", (v) => {
    S.metric = v;
    for (const key of Object.keys(S.brushes)) if (key.startsWith("m:")) delete S.brushes[key];
  });
  on("log-metric", (v) => {
    S.logMetric = v;
  });
  on("scatter-x", (v) => {
    S.xParam = v;
  });
  on("scatter-colour", (v) => {
    S.colour = v;
  });
  on("repeat", (v) => {
    S.repeat = v;
  });
  on(
    "heat-x",
    (v) => {
      S.heat = { ...S.heat, x: v };
    },
    true,
  );
  on(
    "heat-y",
    (v) => {
      S.heat = { ...S.heat, y: v };
    },
    true,
  );
  on(
    "heat-agg",
    (v) => {
      S.heat = { ...S.heat, agg: v };
    },
    true,
  );
  on("series-name", async (v) => {
    S.seriesName = v;
    await loadSeries();
  });
  on("series-colour", (v) => {
    S.seriesColour = v;
  });
  on("path-x", (v) => {
    S.path = { ...S.path, x: v };
  });
  on("path-y", (v) => {
    S.path = { ...S.path, y: v };
  });
  on("compare-with", async (v) => {
    S.other = v;
    S.otherD = v ? prepare(await source.sweep(v)) : null;
  });
  $("clear").addEventListener("click", (e) => {
    S.brushes = {};
    S.filters = {};
    for (const input of document.querySelectorAll(".filters input")) input.value = "";
    renderAll(e.timeStamp);
  });
  window.addEventListener("hashchange", () => {
    if (location.hash === S.hashWritten) return; // our own
    const { name, state } = wanted();
    chooseSweep(name, state);
  });
  setupDetail();
}

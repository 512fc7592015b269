// The dashboard: once a second, what changed since the last answer, without a reload. Only what changed
// is marked so: each column whose values changed gets a new stamp (state.stamp), and only the views that
// show it redraw (a run that starts changes its status alone; one that ends, its metrics too); new
// series values redraw the series view alone; nothing changed, nothing is drawn.

import { idle, renderAll } from "./render.js";
import { source } from "./source.js";
import { nextVersion, prepare, S } from "./state.js";
import { $ } from "./util.js";

// the update's values put in place; returns which columns changed ("c:status", "m:loss", ...) and
// whether series came
function merge(D, u) {
  const P = D.points;
  const C = u.points.columns;
  const changed = new Set();
  const put = (values, key, k, v) => {
    if (values[k] !== v) {
      values[k] = v;
      changed.add(key);
    }
  };
  for (let i = 0; i < C.index.length; i++) {
    const k = D.pos.get(C.index[i]);
    if (k === undefined) continue;
    for (const c of Object.keys(C)) put(P.columns[c], `c:${c}`, k, C[c][i]);
    for (const [m, vs] of Object.entries(u.points.metrics)) {
      if (!P.metrics[m]) {
        P.metrics[m] = new Array(D.n).fill(null);
        D.metrics.push(m);
      }
      put(P.metrics[m], `m:${m}`, k, vs[i]);
    }
  }
  let series = false;
  if (u.series && S.seriesName && Object.keys(u.series).length) {
    const target = (D.series[S.seriesName] = D.series[S.seriesName] || {});
    Object.assign(target, u.series);
    series = true;
  }
  return { columns: changed, series };
}

// The sweep's totals (counts by state, durations, time spent, series names) are a heavier question for
// the dashboard (a few hundred ms at 10^4 points, seconds at 10^5), so the views never wait for them: the
// points an update brought are drawn at once, and the totals follow, asked one at a time and at most
// every TOTALS_EVERY ms, redrawing the summary when they changed.
const TOTALS_EVERY = 2000;
const totals = {
  asking: false,
  again: false,
  last: 0,
  ask(D, controls) {
    if (this.asking) {
      this.again = true;
      return;
    }
    this.asking = true;
    this.again = false;
    const wait = Math.max(0, this.last + TOTALS_EVERY - performance.now());
    setTimeout(() => this.fetch(D, controls), wait);
  },
  async fetch(D, controls) {
    this.last = performance.now();
    try {
      const info = await source.info(D.name);
      const now = { counts: info.counts, durations: info.durations, spent: info.spent, series_names: info.series_names };
      const was = { counts: D.counts, durations: D.durations, spent: D.spent, series_names: D.series_names };
      if (S.D === D && JSON.stringify(now) !== JSON.stringify(was)) {
        const names = JSON.stringify(D.series_names);
        Object.assign(D, now);
        D.stamps.info = nextVersion();
        if (JSON.stringify(D.series_names) !== names) controls();
        renderAll();
      }
    } finally {
      this.asking = false;
      if (this.again) this.ask(D, controls);
    }
  },
};

export async function poll(controls) {
  const D = S.D;
  try {
    const u = await source.updates({ sweep: D.name, after: D.cursor, watch: D.running.join(","), series: S.seriesName });
    const answered = performance.now();
    if (u.points.columns.index.some((index) => !D.pos.has(index))) {
      S.D = prepare(await source.sweep(D.name)); // the sweep grew (gitgrid optimize): read it again
      controls();
      await renderAll();
    } else {
      const changed = merge(D, u);
      const running = u.running.join() !== D.running.join();
      D.cursor = u.cursor;
      D.running = u.running;
      for (const key of changed.columns) D.stamps[key] = nextVersion(); // the views that show them redraw
      if (changed.columns.size || running) totals.ask(D, controls);
      if (!S.metric && D.metrics.length) controls();
      if (changed.series) D.seriesVersion = nextVersion(); // the series view alone
      if (changed.columns.size || running || changed.series) {
        await renderAll(answered);
        await idle();
        const { painted, redrawn, views } = S.timings;
        S.timings.update = { painted, redrawn, views: { ...views }, all: performance.now() - answered };
      }
    }
    $("live").textContent = `live · ${new Date().toLocaleTimeString()}`;
    $("live").classList.remove("error");
  } catch (err) {
    $("live").textContent = `dashboard: ${err.message}; retrying`;
    $("live").classList.add("error");
  }
  setTimeout(() => poll(controls), 1000);
}

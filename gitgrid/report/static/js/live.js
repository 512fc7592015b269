// The dashboard: once a second, what changed since the last answer, without a reload. Only what changed
// is marked so: new series values redraw the series view alone; points that changed redraw the views
// of points; nothing changed, nothing is drawn.

import { idle, renderAll } from "./render.js";
import { source } from "./source.js";
import { nextVersion, prepare, S } from "./state.js";
import { $ } from "./util.js";

function merge(D, u) {
  const P = D.points;
  const C = u.points.columns;
  for (let i = 0; i < C.index.length; i++) {
    const k = D.pos.get(C.index[i]);
    if (k === undefined) continue;
    for (const c of Object.keys(C)) P.columns[c][k] = C[c][i];
    for (const [m, vs] of Object.entries(u.points.metrics)) {
      if (!P.metrics[m]) {
        P.metrics[m] = new Array(D.n).fill(null);
        D.metrics.push(m);
      }
      P.metrics[m][k] = vs[i];
    }
  }
  let series = false;
  if (u.series && S.seriesName && Object.keys(u.series).length) {
    const target = (D.series[S.seriesName] = D.series[S.seriesName] || {});
    Object.assign(target, u.series);
    series = true;
  }
  return { points: C.index.length > 0, series };
}

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
      if (changed.points || running) {
        D.version = nextVersion(); // the views of points redraw
        D.cache = {};
        const info = await source.info(D.name);
        Object.assign(D, { counts: info.counts, durations: info.durations, spent: info.spent, series_names: info.series_names });
        if ((!S.seriesName && D.series_names.length) || (!S.metric && D.metrics.length)) controls();
      }
      if (changed.series) D.seriesVersion = nextVersion(); // the series view alone
      if (changed.points || running || changed.series) {
        await renderAll(answered);
        await idle();
        S.timings.update = { painted: S.timings.painted, redrawn: S.timings.redrawn, all: performance.now() - answered };
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

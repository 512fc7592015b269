// Each run's series over time, overlaid and coloured by a param; live in the dashboard as runs go on.

import { clear, metricAxis, plot } from "./plots.js";
import { register } from "./render.js";
import { traceGroups } from "./scatter.js";
import { S, stamp } from "./state.js";
import { $, esc, PALETTE } from "./util.js";

const SERIES_RUNS = 1000; // runs drawn at most (the note says when there are more)

async function draw() {
  const D = S.D;
  const div = $("series-plot");
  const name = S.seriesName;
  const data = D.series?.[name];
  if (!name || !data) {
    div.dataset.runs = "0";
    $("series-note").textContent = D.series_names.length ? "" : "no run of this sweep reported series ($GITGRID_SERIES)";
    return clear(div);
  }
  const runs = D.points.columns.run;
  const withData = [...S.sel].filter((k) => data[String(runs[k])]);
  const ks = withData.slice(0, SERIES_RUNS);
  $("series-note").textContent =
    withData.length > ks.length
      ? `drawing ${ks.length} of ${withData.length} runs' series (brush or filter to narrow)`
      : `${ks.length} runs`;
  const groups = traceGroups(D, ks, S.seriesColour ? `p:${S.seriesColour}` : "");
  const traces = groups.map((g, i) => {
    const x = [];
    const y = [];
    for (const k of g.ks) {
      const [steps, values] = data[String(runs[k])];
      for (let j = 0; j < steps.length; j++) {
        x.push(steps[j]);
        y.push(values[j]);
      }
      x.push(null);
      y.push(null);
    }
    return {
      type: "scattergl",
      mode: "lines",
      name: esc(g.name || name),
      x,
      y,
      line: { color: PALETTE[i % PALETTE.length], width: 1 },
      connectgaps: false,
      hoverinfo: "x+y+name",
    };
  });
  div.dataset.runs = String(ks.length);
  return plot(div, traces, { xaxis: { title: { text: "step" } }, yaxis: metricAxis(false, esc(name)) });
}

register({
  name: "series",
  section: "series",
  sig: () => JSON.stringify([S.D.name, S.D.version, S.D.seriesVersion, stamp(S.D, "c:run"), S.selVersion, S.seriesName, S.seriesColour]),
  draw,
});

// gitgrid's report and dashboard page. Data arrive as JSON (inline, or from the dashboard's /api/...);
// every value from it is put into the page as text (textContent, or escaped for Plotly), never as markup.
// This module starts the page; each view is its own module, joined into the one page when it is
// written (gitgrid/report/assets.py).

import { setupCompare } from "./compare.js";
import { chooseSweep, controls, wanted, wire } from "./controls.js";
import { setupEffects } from "./effects.js";
import "./heatmap.js";
import { renderHome, setupHome } from "./home.js";
import { buildPage } from "./layout.js";
import { poll } from "./live.js";
import { setupParcoords } from "./parcoords.js";
import { idle, renderAll } from "./render.js";
import "./scatter.js";
import "./series.js";
import { source } from "./source.js";
import { boot, LIVE, S } from "./state.js";
import "./summary.js";
import { setupTable } from "./table.js";
import { $, options, when } from "./util.js";

async function start() {
  buildPage();
  wire();
  setupParcoords();
  setupEffects();
  setupCompare();
  setupTable();
  setupHome(chooseSweep);
  S.home = await source.home();
  options(
    $("sweep"),
    S.home.map((s) => s.name),
    "",
  );
  renderHome(chooseSweep);
  if (!S.home.length) {
    $("selection").textContent = "no sweep yet";
    return;
  }
  const { name, state } = wanted();
  await chooseSweep(name, state);
  await idle();
  document.body.dataset.ready = "1";
  if (LIVE) {
    setTimeout(() => poll(controls), 1000);
    setInterval(async () => {
      const home = await source.home();
      if (JSON.stringify(home) === JSON.stringify(S.home)) return; // the same list: nothing to draw
      S.home = home;
      S.homeVersion += 1;
      renderAll();
    }, 5000);
  } else $("live").textContent = `report written ${when(boot.written) || ""}`;
}

start().catch((err) => {
  console.error(err);
  const node = $("selection");
  if (node) node.textContent = `error: ${err.message}`;
});

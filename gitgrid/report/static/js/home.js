// The sweeps of the repository (home): newest first; a click opens one.

import { register } from "./render.js";
import { S } from "./state.js";
import { $, el, fmt, seconds, when } from "./util.js";

export function renderHome(choose) {
  const rows = S.home.map((s) => {
    const states = Object.entries(s.counts)
      .filter(([, c]) => c)
      .map(([state, c]) => `${c} ${state}`)
      .join(" · ");
    const tr = el(
      "tr",
      { onclick: () => choose(s.name), "data-sweep": s.name },
      el("td", {}, s.name),
      el("td", { title: s.created }, when(s.created)),
      el("td", {}, `${s.base.slice(0, 10)} ${s.base_subject}`),
      el("td", { class: "num" }, s.count),
      el("td", {}, states),
      el("td", { class: "num" }, s.metric ? `${s.metric} ${fmt(s.best)}` : ""),
      el("td", { class: "num" }, seconds(s.spent)),
    );
    if (S.D && s.name === S.D.name) tr.classList.add("current");
    return tr;
  });
  $("home-body").replaceChildren(...rows);
  $("home").dataset.sweeps = String(rows.length);
}

let chooser = null;
export function setupHome(choose) {
  chooser = choose;
}

register({ name: "home", section: "home", sig: () => `${S.homeVersion} ${S.D.name}`, draw: () => renderHome(chooser) });

// The summary: counts by state, base and date, durations, the five best (with a repeat param: the five
// best combinations by their mean over it, with n and sd), and the spec as written.

import { openAggregate, openDetail } from "./detail.js";
import { register } from "./render.js";
import { column, comboKey, S, stamps } from "./state.js";
import { aggregate } from "./stats.js";
import { $, el, fmt, isNum, seconds, when } from "./util.js";

// the `count` best of the points `ks` by `values` (sign 1: lowest first), in one pass: no sort of them all
function best(ks, values, sign, count) {
  const top = [];
  for (const k of ks) {
    const v = values[k];
    if (!isNum(v) || (top.length === count && sign * (v - values[top[count - 1]]) >= 0)) continue;
    let at = top.length;
    while (at > 0 && sign * (v - values[top[at - 1]]) < 0) at -= 1; // after its equals: as a stable sort
    top.splice(at, 0, k);
    if (top.length > count) top.pop();
  }
  return top;
}

function bestPoints(D, values, sign) {
  const idx = D.points.columns.index;
  const order = best(S.sel, values, sign, 5);
  const head = el("tr", {}, el("th", {}, "point"), ...D.params.map((p) => el("th", {}, p)), el("th", {}, S.metric));
  return [
    head,
    ...order.map((k) =>
      el(
        "tr",
        { onclick: () => openDetail(idx[k]), "data-index": idx[k] },
        el("td", { class: "num" }, idx[k]),
        ...D.params.map((p) => el("td", {}, fmt(D.points.params[p][k]))),
        el("td", { class: "num" }, fmt(values[k])),
      ),
    ),
  ];
}

function bestCombinations(D, values, sign) {
  const shared = D.params.filter((p) => p !== S.repeat);
  const cells = aggregate(S.sel, comboKey(D, S.repeat), values).filter((c) => c.n > 0);
  cells.sort((a, b) => sign * (a.mean - b.mean));
  const head = el(
    "tr",
    {},
    ...shared.map((p) => el("th", {}, p)),
    el("th", {}, `${S.metric} (mean)`),
    el("th", {}, "sd"),
    el("th", {}, "n"),
  );
  return [
    head,
    ...cells
      .slice(0, 5)
      .map((c) =>
        el(
          "tr",
          { onclick: () => openAggregate(c), "data-runs": c.ks.length },
          ...shared.map((p) => el("td", {}, fmt(D.points.params[p][c.ks[0]]))),
          el("td", { class: "num" }, fmt(c.mean)),
          el("td", { class: "num" }, fmt(c.sd)),
          el("td", { class: "num" }, c.n),
        ),
      ),
  ];
}

function draw() {
  const D = S.D;
  const badges = Object.entries(D.counts)
    .filter(([, c]) => c)
    .map(([s, c]) => el("span", { class: `badge st-${s.replace(" ", "-")}` }, `${s}: ${c}`));
  $("summary-counts").replaceChildren(...badges);
  const d = D.durations || {};
  $("summary-durations").textContent =
    `durations: min ${seconds(d.min)}, median ${seconds(d.median)}, max ${seconds(d.max)}; time spent ${seconds(D.spent)}`;
  $("summary-base").textContent =
    `base ${D.base_ref} ${D.base.slice(0, 12)} ${D.base_subject} · created ${when(D.created)} · ${D.count} points`;
  $("summary-spec").textContent = D.spec;
  // the files each --all stage wrote, linked (issue 22): names and paths go in as text
  $("summary-stages").replaceChildren(
    ...(D.stages || [])
      .filter((st) => st.outputs.length)
      .map((st) =>
        el(
          "span",
          { class: "stage-files" },
          `stage ${st.name}: `,
          ...st.outputs.flatMap((o) => [el("a", { href: o.href, title: o.path, target: "_blank", rel: "noopener" }, o.name), " "]),
        ),
      ),
  );
  const sign = D.maximize ? -1 : 1;
  const values = S.metric ? column(D, `m:${S.metric}`) : null;
  const repeat = S.repeat && D.params.includes(S.repeat);
  $("summary-best-title").textContent = !values
    ? ""
    : repeat
      ? `The five best combinations, by the mean over ${S.repeat}`
      : "The five best points";
  $("summary-best").replaceChildren(...(!values ? [] : repeat ? bestCombinations(D, values, sign) : bestPoints(D, values, sign)));
}

register({
  name: "summary",
  section: "summary",
  sig: () => JSON.stringify([S.D.name, S.D.version, stamps(S.D, `m:${S.metric}`, "info"), S.selVersion, S.metric, S.repeat]),
  draw,
});

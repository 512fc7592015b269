// The page's state in the address's hash (#sweep=...&metric=...&b.p:x=1..2&f.m:loss=<0.5&sort=-m:loss),
// so a view can be bookmarked or sent as a link; it works for a report opened from file:// as for the
// dashboard. Written after every change with history.replaceState (no history entry per brush).

import { S } from "./state.js";

const VIEW_KEYS = { x: "xParam", colour: "colour", series: "seriesName", scolour: "seriesColour", other: "other" };

export function stateHash() {
  const q = new URLSearchParams();
  q.set("sweep", S.D.name);
  if (S.metric) q.set("metric", S.metric);
  if (S.repeat) q.set("repeat", S.repeat);
  if (S.logMetric) q.set("log", "1");
  for (const [key, [lo, hi]] of Object.entries(S.brushes)) q.set(`b.${key}`, `${lo}..${hi}`);
  for (const [key, text] of Object.entries(S.filters)) if (text.trim()) q.set(`f.${key}`, text);
  if (S.sort.key !== "c:index" || S.sort.desc) q.set("sort", `${S.sort.desc ? "-" : ""}${S.sort.key}`);
  for (const [name, field] of Object.entries(VIEW_KEYS)) if (S[field]) q.set(name, S[field]);
  if (S.heat.x) q.set("hx", S.heat.x);
  if (S.heat.y) q.set("hy", S.heat.y);
  if (S.heat.agg !== "mean") q.set("hagg", S.heat.agg);
  return `#${q.toString()}`;
}

export function writeHash() {
  if (!S.D) return;
  const hash = stateHash();
  if (hash === location.hash && !location.search) return;
  S.hashWritten = hash;
  try {
    history.replaceState(null, "", `${location.pathname}${hash}`); // drops a stale ?sweep= too
  } catch {
    location.replace(hash);
  }
}

// the state a hash names (only what it names), or null without one
export function readHash(hash) {
  if (!hash || hash.length < 2) return null;
  const q = new URLSearchParams(hash.slice(1));
  const state = { brushes: {}, filters: {}, view: {}, heat: {} };
  for (const [key, value] of q) {
    if (key.startsWith("b.")) {
      const [lo, hi] = value.split("..").map(Number);
      if (Number.isFinite(lo) && Number.isFinite(hi)) state.brushes[key.slice(2)] = [lo, hi];
    } else if (key.startsWith("f.")) state.filters[key.slice(2)] = value;
    else if (key in VIEW_KEYS) state.view[VIEW_KEYS[key]] = value;
    else if (key === "hx" || key === "hy") state.heat[key.slice(1)] = value;
    else if (key === "hagg") state.heat.agg = value;
    else if (key === "sort") state.sort = { key: value.replace(/^-/, ""), desc: value.startsWith("-") };
    else state[key] = value;
  }
  return state;
}

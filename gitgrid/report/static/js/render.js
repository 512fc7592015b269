// Rendering: every view declares what it shows (its signature) and how to draw it; a change redraws
// only the views whose signature changed, those on screen first, then paints, then the others one task
// each (so no keystroke or brush waits behind views nobody sees), and a newer change cancels the rest.

import { writeHash } from "./hash.js";
import { S, select } from "./state.js";
import { $, el } from "./util.js";

const views = [];
let generation = 0;
let latest = Promise.resolve();

// view: { name, section (its <section> id), sig() -> string, draw() -> Promise | void }. A view that
// needs its size reads it in sig(), which runs before any view draws, and keeps it for draw().
export function register(view) {
  views.push(view);
}

const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const task = () => new Promise((resolve) => setTimeout(resolve, 0));
// true when the reader pressed or clicked something not yet handled (Chromium); without a way to know, yield
const inputPending = () => navigator.scheduling?.isInputPending?.() ?? true;

function onScreen(view) {
  const section = $(view.section);
  if (!section || section.hidden) return false;
  const r = section.getBoundingClientRect();
  return r.bottom > 0 && r.top < window.innerHeight && r.height > 0;
}

function bump(name) {
  document.body.dataset[name] = String(Number(document.body.dataset[name] || 0) + 1);
}

async function draw(view, sig) {
  view.drawn = sig;
  const section = $(view.section);
  const t0 = performance.now();
  try {
    section.querySelector(":scope > .view-error")?.remove();
    await view.draw();
  } catch (err) {
    view.drawn = null;
    console.error(err);
    section.append(el("p", { class: "view-error" }, `This view could not be drawn: ${err.message}`));
  }
  S.timings.views[view.name] = performance.now() - t0;
  section.dataset.draws = String(Number(section.dataset.draws || 0) + 1);
}

async function run(gen, started) {
  select();
  // every signature and position read before any view writes, so the page is laid out once, not per view
  const sigs = new Map(views.map((v) => [v, v.sig()]));
  const dirty = views.filter((v) => sigs.get(v) !== v.drawn);
  const near = dirty.filter(onScreen);
  const far = dirty.filter((v) => !near.includes(v));
  S.timings.views = {};
  S.timings.waited = performance.now() - started; // from the input event to this render's start
  for (const view of near) {
    await draw(view, sigs.get(view));
    if (gen !== generation) return;
  }
  S.timings.drawn = performance.now() - started; // the views on screen drawn (the frame comes next)
  await frame();
  S.timings.painted = performance.now() - started;
  S.timings.redrawn = dirty.map((v) => v.name);
  bump("painted");
  writeHash(); // after the frame: the address can wait, the reader's eyes cannot
  await task(); // the frame is painted before any view off screen is drawn
  for (const view of far) {
    if (inputPending()) await task(); // the reader's keystroke or click first; else no frame between views
    if (gen !== generation) return;
    const sig = view.sig(); // read again: a frame has passed
    if (sig !== view.drawn) await draw(view, sig);
  }
  S.timings.render = performance.now() - started;
  bump("renders");
}

// redraw what changed; `started` is when the change happened (an event's time), for the timings
export function renderAll(started) {
  if (!S.D) return Promise.resolve();
  const gen = ++generation;
  latest = run(gen, started ?? performance.now());
  return latest;
}

// resolves once no render is under way (the latest one, and any that started meanwhile, finished)
export async function idle() {
  let seen;
  do {
    seen = latest;
    await seen;
  } while (seen !== latest);
}

// forget what a view drew (its section was rebuilt, or its data replaced without a version)
export function invalidate(name) {
  for (const view of views) if (!name || view.name === name) view.drawn = null;
}

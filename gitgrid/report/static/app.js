// gitgrid's report and dashboard page. Data arrive as JSON (inline, or from the dashboard's /api/...);
// every value from it is put into the page as text (textContent, or escaped for Plotly), never as markup.
"use strict";
(() => {
  const boot = JSON.parse(document.getElementById("gitgrid-data").textContent);
  const LIVE = Boolean(boot.live);
  const SERIES_RUNS = 1000; // runs drawn at most in the series view (the note says when there are more)
  const PAGE_ROWS = 100;
  const S = {
    home: [], D: null, metric: null, colour: null, xParam: "", repeat: "",
    heat: { x: "", y: "", agg: "mean", fixed: {} }, brushes: {}, filters: {}, sort: { key: "c:index", desc: false },
    page: 0, seriesName: "", seriesColour: null, other: "", otherD: null, sel: new Int32Array(0), timings: {},
    path: { x: "", y: "" },
  };
  window.gitgrid = S; // for the benchmark's timings and for a curious user's console

  // ---- small helpers ----------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  function fmt(v) { // numbers to 6 significant digits (labels of params need rounding), the rest as text
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
    return String(v);
  }
  const clip = (s) => (s.length > 22 ? `${s.slice(0, 21)}…` : s); // canvas labels have no room to wrap
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); // for Plotly
  const seconds = (s) => (s === null || s === undefined ? "" : s < 120 ? `${fmt(s)} s` : s < 7200 ? `${fmt(s / 60)} min` : `${fmt(s / 3600)} h`);
  const options = (select, values, chosen, labels) => {
    select.replaceChildren(...values.map((v, i) => el("option", { value: v }, labels ? labels[i] : v)));
    if (values.includes(chosen)) select.value = chosen;
    return select.value;
  };
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"];
  const RAMP = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725"];
  const byValue = (a, b) => (isNum(a) && isNum(b) ? a - b : isNum(a) ? -1 : isNum(b) ? 1 : String(a).localeCompare(String(b)));
  const distinct = (values) => [...new Set(values)].sort(byValue);
  function plot(div, traces, layout) {
    const base = { margin: { l: 60, r: 20, t: 10, b: 50 }, hovermode: "closest", showlegend: true, legend: { font: { size: 11 } } };
    return Plotly.react(div, traces, { ...base, ...layout }, { displaylogo: false, responsive: true });
  }

  // ---- where the data come from: the inline report or the live dashboard ------------------------
  const inline = {
    home: async () => boot.home,
    sweep: async (name) => boot.sweeps[name],
    series: async (name, sname) => (boot.sweeps[name].series || {})[sname] || {},
    detail: async (name, index) => (boot.sweeps[name].details || {})[String(index)] || null,
  };
  async function get(path, params) {
    const query = new URLSearchParams(params || {}).toString();
    const response = await fetch(`${path}${query ? "?" + query : ""}`, { cache: "no-store" });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  }
  const live = {
    home: async () => (await get("api/sweeps")).sweeps,
    async sweep(name) {
      const info = await get("api/sweep", { name });
      let page = await get("api/points", { sweep: name, after: -1 });
      const points = page;
      while (page.after !== null) {
        page = await get("api/points", { sweep: name, after: page.after });
        for (const part of ["columns", "params", "metrics"]) for (const [k, v] of Object.entries(page[part])) points[part][k].push(...v);
      }
      return { ...info, points, series: {} };
    },
    series: (name, sname) => get("api/series", { sweep: name, name: sname }),
    detail: (name, index) => get("api/point", { sweep: name, index }),
  };
  const source = LIVE ? live : inline;

  // ---- a sweep's points: columns, keys, selection ---------------------------------------------------
  function prepare(D) {
    const P = D.points;
    D.n = P.columns.index.length;
    D.pos = new Map(P.columns.index.map((index, k) => [index, k]));
    for (const m of D.metrics) if (!P.metrics[m]) P.metrics[m] = new Array(D.n).fill(null);
    D.varying = D.params.filter((p) => new Set(P.params[p]).size > 1);
    D.series = D.series || {};
    return D;
  }
  function column(D, key) {
    const [kind, name] = [key.slice(0, 1), key.slice(2)];
    if (kind === "p") return D.points.params[name];
    if (kind === "m") return D.points.metrics[name] || [];
    return D.points.columns[name];
  }
  function filterTest(text) { // "> 2", "<=0.5", "=3", "!=x", "1..2", or a piece of the text
    const t = text.trim();
    let m = t.match(/^(<=|>=|!=|<|>|=)\s*(.+)$/);
    if (m) {
      const [op, raw] = [m[1], m[2].trim()];
      const x = Number(raw);
      if (op === "=" || op === "!=") {
        const eq = (v) => (isNum(v) && !Number.isNaN(x) ? v === x : fmt(v) === raw);
        return op === "=" ? eq : (v) => !eq(v);
      }
      if (Number.isNaN(x)) return () => false;
      return { "<": (v) => isNum(v) && v < x, ">": (v) => isNum(v) && v > x, "<=": (v) => isNum(v) && v <= x, ">=": (v) => isNum(v) && v >= x }[op];
    }
    m = t.match(/^(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)$/);
    if (m) { const [lo, hi] = [Number(m[1]), Number(m[2])]; return (v) => isNum(v) && v >= lo && v <= hi; }
    const needle = t.toLowerCase();
    return (v) => fmt(v).toLowerCase().includes(needle);
  }
  function select() { // the points that pass every brush and every table filter
    const t0 = performance.now();
    const D = S.D;
    const tests = [];
    for (const [key, [lo, hi]] of Object.entries(S.brushes)) {
      const values = axisValues(D, key);
      tests.push((k) => values[k] !== null && values[k] >= lo && values[k] <= hi);
    }
    for (const [key, text] of Object.entries(S.filters)) {
      if (!text.trim()) continue;
      const values = column(D, key), test = filterTest(text);
      tests.push((k) => test(values[k]));
    }
    const out = new Int32Array(D.n);
    let n = 0;
    for (let k = 0; k < D.n; k++) if (tests.every((test) => test(k))) out[n++] = k;
    S.sel = out.subarray(0, n);
    $("selection").textContent = `${n} of ${D.n} points`;
    S.timings.select = performance.now() - t0;
  }

  // ---- rendering every view ---------------------------------------------------------------------
  async function renderAll() {
    const t0 = performance.now();
    select();
    renderSummary();
    renderParcoords();
    renderTable();
    await Promise.all([renderScatter(), renderHeatmap(), renderSeries(), renderCompare(), renderProgress(), renderPath()]);
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    S.timings.render = performance.now() - t0;
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  }

  function renderHome() {
    const rows = S.home.map((s) => {
      const states = Object.entries(s.counts).filter(([, c]) => c).map(([state, c]) => `${c} ${state}`).join(" · ");
      const tr = el("tr", { onclick: () => chooseSweep(s.name) },
        el("td", {}, s.name), el("td", {}, s.created), el("td", {}, `${s.base.slice(0, 10)} ${s.base_subject}`),
        el("td", { class: "num" }, s.count), el("td", {}, states),
        el("td", { class: "num" }, s.metric ? `${s.metric} ${fmt(s.best)}` : ""), el("td", { class: "num" }, seconds(s.spent)));
      if (S.D && s.name === S.D.name) tr.style.fontWeight = "600";
      return tr;
    });
    $("home-body").replaceChildren(...rows);
    $("home").dataset.sweeps = String(rows.length);
  }

  function renderSummary() {
    const D = S.D;
    $("summary-counts").replaceChildren(...Object.entries(D.counts).filter(([, c]) => c).map(([s, c]) => el("span", { class: `badge st-${s.replace(" ", "-")}` }, `${s}: ${c}`)));
    const d = D.durations || {};
    $("summary-durations").textContent = `durations: min ${seconds(d.min)}, median ${seconds(d.median)}, max ${seconds(d.max)}; time spent ${seconds(D.spent)}`;
    $("summary-base").textContent = `base ${D.base_ref} ${D.base.slice(0, 12)} ${D.base_subject} · created ${D.created} · ${D.count} points`;
    $("summary-spec").textContent = D.spec;
    $("summary-stages").replaceChildren(...(D.stages || []).filter((st) => st.outputs.length).map((st) => el("span", { class: "stage-files" },
      `stage ${st.name}: `, ...st.outputs.map((o) => [el("a", { href: o.href, title: o.path, target: "_blank", rel: "noopener" }, o.name), " "]))));
    const best = [];
    if (S.metric) {
      const values = column(D, `m:${S.metric}`), sign = D.maximize ? -1 : 1;
      const order = [...S.sel].filter((k) => isNum(values[k])).sort((a, b) => sign * (values[a] - values[b])).slice(0, 5);
      for (const k of order) best.push(el("tr", { onclick: () => openDetail(D.points.columns.index[k]) }, el("td", { class: "num" }, D.points.columns.index[k]),
        ...D.params.map((p) => el("td", {}, `${p}=${fmt(D.points.params[p][k])}`)), el("td", { class: "num" }, fmt(values[k]))));
    }
    $("summary-best").replaceChildren(...best);
  }

  // parallel coordinates on a canvas (Plotly's parcoords takes seconds at 10,000 lines)
  function axisValues(D, key) {
    D.axisCache = D.axisCache || {};
    if (D.axisCache[key]) return D.axisCache[key];
    const raw = column(D, key);
    const numeric = raw.every((v) => v === null || isNum(v));
    let values;
    if (numeric) values = raw.map((v) => (isNum(v) ? v : null));
    else { const cats = distinct(raw.filter((v) => v !== null)).map(String); values = raw.map((v) => (v === null ? null : cats.indexOf(String(v)))); values.categories = cats; }
    D.axisCache[key] = values;
    return values;
  }
  function axes(D) {
    const keys = D.params.filter((p) => D.varying.includes(p)).map((p) => `p:${p}`);
    if (S.metric) keys.push(`m:${S.metric}`);
    return keys.map((key) => {
      const values = axisValues(D, key);
      const present = values.filter((v) => v !== null);
      let lo = Math.min(...present), hi = Math.max(...present);
      if (!present.length) [lo, hi] = [0, 1];
      const log = key.startsWith("p:") && D.log_params.includes(key.slice(2)) && lo > 0;
      return { key, values, lo, hi, log, categories: values.categories };
    });
  }
  function renderParcoords() {
    const D = S.D, canvas = $("parcoords-canvas");
    const width = canvas.clientWidth, height = canvas.clientHeight, ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio; canvas.height = height * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const list = axes(D), top = 44, bottom = height - 26, left = 80, right = width - 80;
    const step = list.length > 1 ? (right - left) / (list.length - 1) : 0;
    list.forEach((a, i) => {
      a.x = left + i * step;
      const [l, h] = a.log ? [Math.log10(a.lo), Math.log10(a.hi)] : [a.lo, a.hi];
      a.y = (v) => (v === null ? null : bottom - (h === l ? 0.5 : ((a.log ? Math.log10(v) : v) - l) / (h - l)) * (bottom - top));
      a.value = (y) => { const f = (bottom - y) / (bottom - top), x = l + f * (h - l); return a.log ? 10 ** x : x; };
    });
    const colourAxis = list[list.length - 1];
    const buckets = RAMP.map(() => []);
    for (const k of S.sel) {
      const v = colourAxis ? colourAxis.values[k] : null;
      const b = v === null || colourAxis.hi === colourAxis.lo ? 0 : Math.min(RAMP.length - 1, Math.floor(((v - colourAxis.lo) / (colourAxis.hi - colourAxis.lo)) * RAMP.length));
      buckets[b].push(k);
    }
    ctx.lineWidth = 1;
    ctx.globalAlpha = S.sel.length > 2000 ? 0.15 : S.sel.length > 200 ? 0.4 : 0.8;
    buckets.forEach((ks, b) => {
      ctx.strokeStyle = RAMP[b];
      ctx.beginPath();
      for (const k of ks) {
        let pen = false;
        for (const a of list) {
          const y = a.y(a.values[k]);
          if (y === null) { pen = false; continue; }
          if (pen) ctx.lineTo(a.x, y); else ctx.moveTo(a.x, y);
          pen = true;
        }
      }
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#1d2430"; ctx.font = "12px system-ui"; ctx.textAlign = "center";
    for (const a of list) {
      ctx.strokeStyle = "#1d2430"; ctx.beginPath(); ctx.moveTo(a.x, top); ctx.lineTo(a.x, bottom); ctx.stroke();
      ctx.font = "bold 12px system-ui"; ctx.fillText(clip(a.key.slice(2)) + (a.log ? " (log)" : ""), a.x, 14); ctx.font = "12px system-ui"; // canvas text is never markup
      const label = (v) => clip(a.categories ? a.categories[Math.round(v)] : fmt(v));
      ctx.fillText(label(a.hi), a.x, top - 4); ctx.fillText(label(a.lo), a.x, bottom + 14);
      const brush = S.brushes[a.key];
      if (brush) { ctx.fillStyle = "rgba(47,111,222,.25)"; const [y1, y2] = [a.y(brush[1]), a.y(brush[0])]; ctx.fillRect(a.x - 8, y1, 16, y2 - y1); ctx.fillStyle = "#1d2430"; }
    }
    canvas.dataset.lines = String(S.sel.length);
    canvas.dataset.axes = JSON.stringify(list.map((a) => ({ key: a.key, x: a.x, log: a.log })));
    canvas.dataset.top = String(top); canvas.dataset.bottom = String(bottom);
    S.parAxes = list;
  }
  function brushing() {
    const canvas = $("parcoords-canvas");
    let drag = null;
    const at = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    canvas.addEventListener("mousedown", (e) => {
      const [x, y] = at(e);
      const axis = (S.parAxes || []).find((a) => Math.abs(a.x - x) < 16);
      if (axis) drag = { axis, y0: y };
    });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const [, y] = at(e), { axis, y0 } = drag;
      drag = null;
      if (Math.abs(y - y0) < 3) delete S.brushes[axis.key];
      else { const [a, b] = [axis.value(Math.max(y, y0)), axis.value(Math.min(y, y0))]; S.brushes[axis.key] = [a, b]; }
      S.page = 0;
      renderAll();
    });
  }

  function traceGroups(D, ks, key) { // points split by the colour param: one trace per value, or 8 bins
    if (!key) return [{ name: "", ks }];
    const values = column(D, key), groups = new Map();
    const kinds = distinct(ks.map((k) => values[k]));
    if (kinds.length <= PALETTE.length || !kinds.every(isNum)) {
      for (const k of ks) { const v = values[k]; if (!groups.has(v)) groups.set(v, []); groups.get(v).push(k); }
      return [...groups.entries()].sort((a, b) => byValue(a[0], b[0])).map(([v, g]) => ({ name: `${key.slice(2)}=${fmt(v)}`, ks: g }));
    }
    const [lo, hi] = [kinds[0], kinds[kinds.length - 1]];
    const bins = RAMP.map((_, b) => ({ name: `${key.slice(2)} ${fmt(lo + (b * (hi - lo)) / RAMP.length)}..${fmt(lo + ((b + 1) * (hi - lo)) / RAMP.length)}`, ks: [] }));
    for (const k of ks) bins[Math.min(RAMP.length - 1, Math.floor(((values[k] - lo) / (hi - lo || 1)) * RAMP.length))].ks.push(k);
    return bins.filter((b) => b.ks.length);
  }

  function renderScatter() {
    const D = S.D, div = $("scatter-plot"), x = S.xParam;
    if (!S.metric || !x) { div.dataset.points = "0"; return Plotly.purge(div); }
    const xs = column(D, `p:${x}`), ys = column(D, `m:${S.metric}`), ks = [...S.sel].filter((k) => isNum(ys[k]));
    const repeat = S.repeat && S.repeat !== x ? S.repeat : "";
    let traces, drawn = 0;
    const groups = traceGroups(D, ks, S.colour && S.colour !== x && S.colour !== repeat ? `p:${S.colour}` : "");
    if (repeat) { // points that differ only in the repeat param: mean and standard deviation
      traces = groups.map((g, i) => {
        const cells = new Map();
        for (const k of g.ks) {
          if (!isNum(ys[k])) continue;
          const key = JSON.stringify(D.params.filter((p) => p !== repeat).map((p) => D.points.params[p][k]));
          if (!cells.has(key)) cells.set(key, { x: xs[k], v: [] });
          cells.get(key).v.push(ys[k]);
        }
        const cs = [...cells.values()].sort((a, b) => byValue(a.x, b.x));
        drawn += cs.length;
        const mean = (v) => v.reduce((s, y) => s + y, 0) / v.length;
        const sd = (v) => (v.length > 1 ? Math.sqrt(v.reduce((s, y) => s + (y - mean(v)) ** 2, 0) / (v.length - 1)) : 0);
        return { type: "scattergl", mode: "markers", name: esc(g.name || `mean over ${repeat}`), x: cs.map((c) => c.x), y: cs.map((c) => mean(c.v)),
          error_y: { type: "data", array: cs.map((c) => sd(c.v)), visible: true }, marker: { color: PALETTE[i % PALETTE.length], size: 7 } };
      });
    } else {
      traces = groups.map((g, i) => {
        drawn += g.ks.length;
        return { type: "scattergl", mode: "markers", name: esc(g.name || S.metric), x: g.ks.map((k) => xs[k]), y: g.ks.map((k) => ys[k]),
          customdata: g.ks.map((k) => D.points.columns.index[k]), hovertemplate: `point %{customdata}<br>${esc(x)}=%{x}<br>${esc(S.metric)}=%{y}<extra></extra>`,
          marker: { color: PALETTE[i % PALETTE.length], size: ks.length > 5000 ? 3 : 6, opacity: 0.8 } };
      });
    }
    div.dataset.points = String(drawn);
    const categorical = !xs.every((v) => v === null || isNum(v));
    const layout = { xaxis: { title: { text: esc(x) }, type: categorical ? "category" : D.log_params.includes(x) ? "log" : "linear" },
      yaxis: { title: { text: esc(S.metric) + (repeat ? ` (mean ± sd over ${esc(repeat)})` : "") } } };
    return plot(div, traces, layout).then(() => {
      if (!div.dataset.bound) { div.dataset.bound = "1"; div.on("plotly_click", (e) => { const p = e.points[0]; if (p && p.customdata !== undefined) openDetail(p.customdata); }); }
    });
  }

  function renderHeatmap() {
    const D = S.D, div = $("heatmap-plot"), { x, y, agg } = S.heat;
    if (!S.metric || !x || !y || x === y) { div.dataset.points = "0"; return Plotly.purge(div); }
    const xs = column(D, `p:${x}`), ys = column(D, `p:${y}`), vs = column(D, `m:${S.metric}`);
    const fixed = Object.entries(S.heat.fixed).filter(([p, v]) => v !== "" && p !== x && p !== y);
    const cols = distinct(xs), rows = distinct(ys);
    const ci = new Map(cols.map((v, i) => [v, i])), ri = new Map(rows.map((v, i) => [v, i]));
    const cells = rows.map(() => cols.map(() => []));
    let used = 0;
    for (const k of S.sel) {
      if (!isNum(vs[k]) || fixed.some(([p, v]) => fmt(D.points.params[p][k]) !== v)) continue;
      cells[ri.get(ys[k])][ci.get(xs[k])].push(vs[k]);
      used++;
    }
    const reduce = { mean: (c) => c.reduce((s, v) => s + v, 0) / c.length, min: (c) => Math.min(...c), max: (c) => Math.max(...c), count: (c) => c.length }[agg];
    const z = cells.map((row) => row.map((c) => (c.length ? reduce(c) : null)));
    div.dataset.points = String(used);
    const trace = { type: "heatmap", x: cols.map((v) => esc(fmt(v))), y: rows.map((v) => esc(fmt(v))), z, colorscale: "Viridis",
      hovertemplate: `${esc(x)}=%{x}<br>${esc(y)}=%{y}<br>${esc(agg)} ${esc(S.metric)}=%{z}<extra></extra>`, colorbar: { title: { text: esc(S.metric) } } };
    return plot(div, [trace], { xaxis: { title: { text: esc(x) }, type: "category" }, yaxis: { title: { text: esc(y) }, type: "category" }, showlegend: false });
  }

  function renderSeries() {
    const D = S.D, div = $("series-plot"), name = S.seriesName;
    const data = (D.series || {})[name];
    if (!name || !data) { div.dataset.runs = "0"; $("series-note").textContent = D.series_names.length ? "" : "no run of this sweep reported series ($GITGRID_SERIES)"; return Plotly.purge(div); }
    const withData = [...S.sel].filter((k) => data[String(D.points.columns.run[k])]);
    const ks = withData.slice(0, SERIES_RUNS);
    $("series-note").textContent = withData.length > ks.length ? `drawing ${ks.length} of ${withData.length} runs' series (brush or filter to narrow)` : `${ks.length} runs`;
    const groups = traceGroups(D, ks, S.seriesColour ? `p:${S.seriesColour}` : "");
    const traces = groups.map((g, i) => {
      const x = [], y = [];
      for (const k of g.ks) { const [steps, values] = data[String(D.points.columns.run[k])]; x.push(...steps, null); y.push(...values, null); }
      return { type: "scattergl", mode: "lines", name: esc(g.name || name), x, y, line: { color: PALETTE[i % PALETTE.length], width: 1 }, connectgaps: false, hoverinfo: "x+y+name" };
    });
    div.dataset.runs = String(ks.length);
    return plot(div, traces, { xaxis: { title: { text: "step" } }, yaxis: { title: { text: esc(name) } } });
  }

  function renderTable() {
    const D = S.D, P = D.points.columns;
    const keys = ["c:index", ...D.params.map((p) => `p:${p}`), ...D.metrics.map((m) => `m:${m}`), "c:status", "c:attempt", "c:duration", "c:commit"];
    if ($("table-head").dataset.keys !== JSON.stringify(keys)) buildTableHead(keys);
    const values = column(D, S.sort.key), sign = S.sort.desc ? -1 : 1;
    const order = [...S.sel];
    if (S.sort.key !== "c:index" || S.sort.desc) order.sort((a, b) => { const [u, v] = [values[a], values[b]]; if (u === null || v === null) return u === null ? (v === null ? 0 : 1) : -1; return sign * byValue(u, v); });
    const pages = Math.max(1, Math.ceil(order.length / PAGE_ROWS));
    S.page = Math.min(S.page, pages - 1);
    const shown = order.slice(S.page * PAGE_ROWS, (S.page + 1) * PAGE_ROWS);
    $("table-body").replaceChildren(...shown.map((k) => el("tr", { onclick: () => openDetail(P.index[k]), "data-index": P.index[k] }, ...keys.map((key) => {
      const v = column(D, key)[k];
      if (key === "c:commit") return el("td", {}, String(v).slice(0, 12));
      if (key === "c:status") return el("td", { class: `st-${String(v).replace(" ", "-")}` }, v);
      return el("td", { class: typeof v === "number" ? "num" : "" }, key === "c:duration" ? fmt(v === null ? null : Math.round(v * 1000) / 1000) : fmt(v));
    }))));
    $("table").dataset.rows = String(order.length);
    $("table-pager-text").textContent = `${order.length} rows · page ${S.page + 1} of ${pages}`;
  }
  function buildTableHead(keys) {
    const head = $("table-head");
    head.dataset.keys = JSON.stringify(keys);
    const names = el("tr", {}, ...keys.map((key) => el("th", { onclick: () => { S.sort = { key, desc: S.sort.key === key ? !S.sort.desc : false }; renderTable(); } }, key.slice(2))));
    const filters = el("tr", { class: "filters" }, ...keys.map((key) => el("th", {}, el("input", { "data-key": key, placeholder: "filter", value: S.filters[key] || "",
      oninput: (e) => { S.filters[key] = e.target.value; S.page = 0; renderAll(); } }))));
    head.replaceChildren(names, filters);
  }

  async function renderCompare() {
    const D = S.D, div = $("compare-plot");
    div.hidden = !(S.other && S.otherD && S.metric);
    if (div.hidden) { div.dataset.points = "0"; $("compare-note").textContent = "choose a second sweep"; $("compare-body").replaceChildren(); return Plotly.purge(div); }
    const O = S.otherD, shared = D.params.filter((p) => O.params.includes(p));
    const key = (X, k) => JSON.stringify(shared.map((p) => X.points.params[p][k]));
    const theirs = new Map();
    for (let k = 0; k < O.n; k++) { const kk = key(O, k); theirs.set(kk, theirs.has(kk) ? -1 : k); }
    const a = column(D, `m:${S.metric}`), b = O.points.metrics[S.metric] || [];
    const pairs = [];
    for (const k of S.sel) { const j = theirs.get(key(D, k)); if (j !== undefined && j >= 0) pairs.push([k, j]); }
    const both = pairs.filter(([k, j]) => isNum(a[k]) && isNum(b[j]));
    div.dataset.points = String(both.length);
    $("compare-note").textContent = `${pairs.length} points of ${D.name} match ${O.name} on ${shared.join(", ")}; ${both.length} have ${S.metric} in both`;
    const diff = (p) => b[p[1]] - a[p[0]];
    const top = [...both].sort((p, q) => Math.abs(diff(q)) - Math.abs(diff(p))).slice(0, 50);
    $("compare-body").replaceChildren(...top.map((p) => el("tr", { onclick: () => openDetail(D.points.columns.index[p[0]]) }, el("td", { class: "num" }, D.points.columns.index[p[0]]),
      el("td", {}, shared.map((n) => `${n}=${fmt(D.points.params[n][p[0]])}`).join(" ")), el("td", { class: "num" }, fmt(a[p[0]])), el("td", { class: "num" }, fmt(b[p[1]])), el("td", { class: "num" }, fmt(diff(p))))));
    const values = both.flatMap(([k, j]) => [a[k], b[j]]), lo = Math.min(...values), hi = Math.max(...values);
    const traces = [
      { type: "scattergl", mode: "markers", name: "points", x: both.map(([k]) => a[k]), y: both.map(([, j]) => b[j]), customdata: both.map(([k]) => D.points.columns.index[k]),
        hovertemplate: `point %{customdata}<br>${esc(D.name)}: %{x}<br>${esc(O.name)}: %{y}<extra></extra>`, marker: { size: 6 } },
      { type: "scattergl", mode: "lines", name: "equal", x: [lo, hi], y: [lo, hi], line: { color: "#999", dash: "dash" }, hoverinfo: "skip" },
    ];
    return plot(div, traces, { xaxis: { title: { text: `${esc(S.metric)} in ${esc(D.name)}` } }, yaxis: { title: { text: `${esc(S.metric)} in ${esc(O.name)}` } } });
  }

  // ---- an optimisation (gitgrid optimize): progress over evaluations, the path through parameter space ----
  const searched = (D) => D.varying.filter((p) => D.points.params[p].every((v) => v === null || isNum(v)));
  function optimizing(div) { // the sweep's optimisation, or null (then the section is hidden and the plot empty)
    const O = S.D.optimize;
    $("optimize").hidden = !O;
    if (!O || !S.metric) { div.dataset.points = "0"; Plotly.purge(div); return null; }
    return O;
  }
  function renderProgress() {
    const D = S.D, div = $("progress-plot"), O = optimizing(div);
    if (!O) return null;
    const idx = D.points.columns.index, ys = column(D, `m:${S.metric}`), ks = [...S.sel].filter((k) => isNum(ys[k]));
    const roles = distinct(ks.map((k) => O.role[idx[k]] || "?"));
    const traces = roles.map((r, i) => { const g = ks.filter((k) => (O.role[idx[k]] || "?") === r); return { type: "scattergl", mode: "markers", name: esc(r), x: g.map((k) => idx[k]), y: g.map((k) => ys[k]),
      customdata: g.map((k) => idx[k]), hovertemplate: `point %{customdata}<br>${esc(S.metric)}=%{y}<extra>${esc(r)}</extra>`, marker: { color: PALETTE[i % PALETTE.length], size: 6 } }; });
    const means = new Map(); // iteration -> [last point index, sum, count], over its perturbed pairs or trials
    for (const k of ks) { const it = O.iteration[idx[k]], r = O.role[idx[k]]; if (r === "start" || r === "check") continue; const m = means.get(it) || [0, 0, 0]; means.set(it, [Math.max(m[0], idx[k]), m[1] + ys[k], m[2] + 1]); }
    const line = [...means.values()].sort((a, b) => a[0] - b[0]);
    traces.push({ type: "scatter", mode: "lines", name: "iteration mean", x: line.map((m) => m[0]), y: line.map((m) => m[1] / m[2]), line: { color: "#333", width: 1.5 }, hoverinfo: "x+y+name" });
    div.dataset.points = String(ks.length);
    $("optimize-note").textContent = `${O.settings.method || ""}, ${O.settings.budget || "?"} evaluations at most, ${esc(O.settings.metric || "")} ${O.settings.maximize ? "maximised" : "minimised"}` +
      (O.answer ? ` · answer: point ${O.answer.index}, ${fmt(O.answer.value)} (stopped by ${O.answer.stopped})` : " · running or interrupted");
    return plot(div, traces, { xaxis: { title: { text: "evaluation (point index)" }, zeroline: false }, yaxis: { title: { text: esc(S.metric) } } });
  }
  function renderPath() {
    const D = S.D, div = $("path-plot"), O = optimizing(div);
    if (!O) return null;
    const idx = D.points.columns.index, P = D.points.params, ys = column(D, `m:${S.metric}`), [px, py] = [S.path.x, S.path.y];
    if (!px) { div.dataset.points = "0"; return Plotly.purge(div); }
    const ks = [...S.sel].sort((a, b) => idx[a] - idx[b]), at = (k) => [P[px][k], py ? P[py][k] : O.iteration[idx[k]]];
    const nodes = []; // SPSA: each iteration's centre (the iterate); the others: each better point found
    if (O.settings.method === "spsa") {
      const centres = new Map();
      for (const k of ks) { const r = O.role[idx[k]]; if (r !== "theta+" && r !== "theta-") continue; const it = O.iteration[idx[k]], c = centres.get(it) || [0, 0, 0], [x, y] = at(k); centres.set(it, [c[0] + x, c[1] + y, c[2] + 1]); }
      const start = ks.find((k) => O.role[idx[k]] === "start");
      if (start !== undefined) nodes.push(at(start));
      for (const [, c] of [...centres.entries()].sort((a, b) => a[0] - b[0])) nodes.push([c[0] / c[2], py ? c[1] / c[2] : c[1] / c[2]]);
    } else {
      let best = null;
      for (const k of ks) if (isNum(ys[k]) && (best === null || (D.maximize || O.settings.maximize ? ys[k] > best : ys[k] < best))) { best = ys[k]; nodes.push(at(k)); }
    }
    const traces = [
      { type: "scattergl", mode: "markers", name: "evaluations", x: ks.map((k) => at(k)[0]), y: ks.map((k) => at(k)[1]), customdata: ks.map((k) => idx[k]),
        hovertemplate: "point %{customdata}<extra></extra>", marker: { color: "#bbb", size: 4 } },
      { type: "scatter", mode: "lines+markers", name: O.settings.method === "spsa" ? "iterates" : "better points", x: nodes.map((n) => n[0]), y: nodes.map((n) => n[1]), line: { color: PALETTE[0] }, marker: { size: 5 } },
    ];
    if (O.answer && O.answer.params) traces.push({ type: "scatter", mode: "markers", name: "answer", x: [O.answer.params[px]], y: [py ? O.answer.params[py] : O.iteration[O.answer.index]],
      marker: { symbol: "star", size: 14, color: PALETTE[3] } });
    div.dataset.points = String(ks.length);
    div.dataset.steps = String(nodes.length);
    const axis = (p, title) => ({ title: { text: esc(title) }, type: p && D.log_params.includes(p) ? "log" : "linear" });
    return plot(div, traces, { xaxis: axis(px, px), yaxis: axis(py, py || "iteration") });
  }

  // ---- one point ----------------------------------------------------------------------------------
  async function openDetail(index) {
    const panel = $("detail");
    panel.hidden = false;
    panel.dataset.index = String(index);
    const body = $("detail-body");
    body.replaceChildren(el("p", { class: "note" }, "loading…"));
    const d = await source.detail(S.D.name, index);
    if (!d) { body.replaceChildren(el("p", { class: "note" }, `The details of point ${index} are not in this report (it carries the best ones); 'gitgrid dashboard' shows every point.`)); return; }
    const diff = el("pre", { id: "detail-diff" }, ...d.diff.split("\n").map((line) => el("span", { class: line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "" }, line + "\n")));
    const runs = el("table", {}, el("tr", {}, ...["attempt", "status", "reason", "host", "duration", "run directory"].map((h) => el("th", {}, h))),
      ...d.runs.map((r) => el("tr", {}, el("td", {}, r.attempt), el("td", { class: `st-${r.status}` }, r.status), el("td", {}, r.reason || ""), el("td", {}, r.host || ""), el("td", { class: "num" }, seconds(r.duration)), el("td", {}, r.run_dir || ""))));
    const files = d.files || {};
    body.replaceChildren(
      el("h2", {}, `Point ${d.index}`), el("p", {}, `commit ${d.commit}`),
      el("table", { id: "detail-params" }, ...Object.entries(d.params).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, fmt(v))))),
      el("h3", {}, "Attempts"), runs,
      el("h3", {}, `git diff ${S.D.base.slice(0, 12)} ${d.commit.slice(0, 12)}`), diff,
      el("h3", {}, "stdout (last lines)"), el("pre", { id: "detail-stdout" }, (files.stdout || []).join("\n")),
      el("h3", {}, "stderr (last lines)"), el("pre", { id: "detail-stderr" }, (files.stderr || []).join("\n")),
      el("h3", {}, "meta.json"), el("pre", { id: "detail-meta" }, files.meta || ""),
      el("h3", {}, "Series"), el("div", { id: "detail-series", class: "plot" }));
    const series = Object.entries(d.series || {});
    $("detail-series").dataset.traces = String(series.length);
    if (series.length) await plot($("detail-series"), series.map(([n, [x, y]]) => ({ type: "scatter", mode: "lines", name: esc(n), x, y })), { xaxis: { title: { text: "step" } } });
  }

  // ---- choosing a sweep, the controls, live updates --------------------------------------------------
  async function chooseSweep(name) {
    S.D = prepare(await source.sweep(name));
    S.brushes = {}; S.filters = {}; S.page = 0; S.otherD = null;
    $("sweep").value = name;
    controls();
    await loadSeries();
    renderHome();
    if (S.other) S.otherD = prepare(await source.sweep(S.other));
    await renderAll();
  }
  async function loadSeries() {
    const D = S.D;
    if (S.seriesName && !D.series[S.seriesName]) D.series[S.seriesName] = await source.series(D.name, S.seriesName);
  }
  function controls() {
    const D = S.D, params = D.params, varying = D.varying.length ? D.varying : params;
    S.metric = options($("metric"), D.metrics, S.metric || D.metric);
    S.xParam = options($("scatter-x"), params, S.xParam || varying[0]);
    S.colour = options($("scatter-colour"), ["", ...params], S.colour ?? (varying[1] || ""), ["none", ...params]);
    S.repeat = options($("repeat"), ["", ...params], S.repeat || D.repeat_param || "", ["none", ...params]);
    S.heat.x = options($("heat-x"), params, S.heat.x || varying[0]);
    S.heat.y = options($("heat-y"), params, S.heat.y || varying[1] || params[0]);
    S.heat.agg = options($("heat-agg"), ["mean", "min", "max", "count"], S.heat.agg);
    $("heat-fixed").replaceChildren(...params.filter((p) => p !== S.heat.x && p !== S.heat.y && D.varying.includes(p)).map((p) => {
      const values = distinct(D.points.params[p]).map(fmt);
      const s = el("select", { "data-param": p, onchange: (e) => { S.heat.fixed[p] = e.target.value; renderAll(); } });
      options(s, ["", ...values], S.heat.fixed[p] || "", [`${p}: ${S.heat.agg} over all`, ...values.map((v) => `${p} = ${v}`)]);
      return s;
    }));
    S.seriesName = options($("series-name"), D.series_names, S.seriesName || D.series_names[0]);
    S.seriesColour = options($("series-colour"), ["", ...params], S.seriesColour ?? (varying[0] || ""), ["none", ...params]);
    const numeric = searched(D);
    S.path.x = options($("path-x"), numeric, S.path.x || numeric[0]);
    S.path.y = options($("path-y"), ["", ...numeric], S.path.y || numeric[1] || "", ["iteration", ...numeric]);
    const others = S.home.map((s) => s.name).filter((n) => n !== D.name);
    S.other = options($("compare-with"), ["", ...others], S.other, ["—", ...others]);
  }
  function wire() {
    const on = (id, handler) => $(id).addEventListener("change", async (e) => { await handler(e.target.value); if (id !== "heat-x" && id !== "heat-y" && id !== "heat-agg") return renderAll(); controls(); return renderAll(); });
    $("sweep").addEventListener("change", (e) => chooseSweep(e.target.value));
    on("metric", (v) => { S.metric = v; delete S.brushes[Object.keys(S.brushes).find((k) => k.startsWith("m:"))]; });
    on("scatter-x", (v) => { S.xParam = v; });
    on("scatter-colour", (v) => { S.colour = v; });
    on("repeat", (v) => { S.repeat = v; });
    on("heat-x", (v) => { S.heat.x = v; });
    on("heat-y", (v) => { S.heat.y = v; });
    on("heat-agg", (v) => { S.heat.agg = v; });
    on("series-name", async (v) => { S.seriesName = v; await loadSeries(); });
    on("series-colour", (v) => { S.seriesColour = v; });
    on("path-x", (v) => { S.path.x = v; });
    on("path-y", (v) => { S.path.y = v; });
    on("compare-with", async (v) => { S.other = v; S.otherD = v ? prepare(await source.sweep(v)) : null; });
    $("clear").addEventListener("click", () => { S.brushes = {}; S.filters = {}; for (const input of document.querySelectorAll(".filters input")) input.value = ""; renderAll(); });
    $("table-prev").addEventListener("click", () => { S.page = Math.max(0, S.page - 1); renderTable(); });
    $("table-next").addEventListener("click", () => { S.page += 1; renderTable(); });
    $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
    brushing();
  }

  async function poll() { // the dashboard: what changed since the last answer, without a reload
    const D = S.D;
    try {
      const u = await get("api/updates", { sweep: D.name, after: D.cursor, watch: D.running.join(","), series: S.seriesName });
      const P = D.points, C = u.points.columns;
      if (C.index.some((index) => !D.pos.has(index))) { // the sweep grew (gitgrid optimize): read it again
        S.D = prepare(await source.sweep(D.name)); // with its own cursor, taken before its points were read
        controls();
        await renderAll();
        setTimeout(poll, 1000);
        return;
      }
      for (let i = 0; i < C.index.length; i++) {
        const k = D.pos.get(C.index[i]);
        if (k === undefined) continue;
        for (const c of Object.keys(C)) P.columns[c][k] = C[c][i];
        for (const [m, vs] of Object.entries(u.points.metrics)) {
          if (!P.metrics[m]) { P.metrics[m] = new Array(D.n).fill(null); D.metrics.push(m); }
          P.metrics[m][k] = vs[i];
        }
      }
      if (u.series && S.seriesName) {
        const target = (D.series[S.seriesName] = D.series[S.seriesName] || {});
        Object.assign(target, u.series);
      }
      const changed = C.index.length > 0 || (u.series && Object.keys(u.series).length > 0) || u.running.join() !== D.running.join();
      D.cursor = u.cursor; D.running = u.running;
      if (changed) {
        D.axisCache = {};
        const info = await get("api/sweep", { name: D.name });
        Object.assign(D, { counts: info.counts, durations: info.durations, spent: info.spent, series_names: info.series_names });
        if (!S.seriesName && D.series_names.length) { controls(); await loadSeries(); }
        if (!S.metric && D.metrics.length) controls();
        await renderAll();
      }
      $("live").textContent = `live · ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      $("live").textContent = `dashboard unreachable (${err.message}); retrying`;
    }
    setTimeout(poll, 1000);
  }

  async function start() {
    wire();
    S.home = await source.home();
    options($("sweep"), S.home.map((s) => s.name), "");
    renderHome();
    if (!S.home.length) { $("selection").textContent = "no sweep yet"; return; }
    const wanted = new URLSearchParams(location.search).get("sweep");
    await chooseSweep(S.home.some((s) => s.name === wanted) ? wanted : S.home[0].name);
    document.body.dataset.ready = "1";
    if (LIVE) {
      setTimeout(poll, 1000);
      setInterval(async () => { S.home = await source.home(); renderHome(); }, 5000);
    } else $("live").textContent = `report written ${boot.written || ""}`;
  }

  document.body.append(
    el("header", {}, el("h1", {}, "gitgrid"), el("label", {}, "sweep ", el("select", { id: "sweep" })), el("label", {}, "metric ", el("select", { id: "metric" })),
      el("label", {}, "repeat param ", el("select", { id: "repeat" })), el("span", { id: "selection" }), el("button", { id: "clear" }, "clear filters"), el("span", { id: "live" })),
    el("main", {},
      el("section", { id: "home", class: "wide" }, el("h2", {}, "Sweeps"), el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ...["sweep", "created", "base", "points", "states", "best", "time spent"].map((h) => el("th", {}, h)))), el("tbody", { id: "home-body" })))),
      el("section", { id: "summary", class: "wide" }, el("h2", {}, "Summary"), el("div", { id: "summary-counts" }), el("p", { id: "summary-base" }), el("p", { id: "summary-durations" }), el("p", { id: "summary-stages" }),
        el("table", { id: "summary-best-table" }, el("tbody", { id: "summary-best" })), el("details", {}, el("summary", {}, "spec"), el("pre", { id: "summary-spec" }))),
      el("section", { id: "parcoords", class: "wide" }, el("h2", {}, "Parallel coordinates"), el("p", { class: "note" }, "drag along an axis to keep a range; click an axis to clear it"), el("canvas", { id: "parcoords-canvas" })),
      el("section", { id: "scatter" }, el("h2", {}, "Metric against a param"), el("div", { class: "controls" }, el("label", {}, "x ", el("select", { id: "scatter-x" })), el("label", {}, "colour ", el("select", { id: "scatter-colour" }))), el("div", { id: "scatter-plot", class: "plot" })),
      el("section", { id: "heatmap" }, el("h2", {}, "Heatmap"), el("div", { class: "controls" }, el("label", {}, "x ", el("select", { id: "heat-x" })), el("label", {}, "y ", el("select", { id: "heat-y" })),
        el("label", {}, "cells ", el("select", { id: "heat-agg" })), el("span", { id: "heat-fixed" })), el("div", { id: "heatmap-plot", class: "plot" })),
      el("section", { id: "series", class: "wide" }, el("h2", {}, "Series"), el("div", { class: "controls" }, el("label", {}, "series ", el("select", { id: "series-name" })), el("label", {}, "colour ", el("select", { id: "series-colour" })), el("span", { id: "series-note", class: "note" })),
        el("div", { id: "series-plot", class: "plot" })),
      el("section", { id: "table", class: "wide" }, el("h2", {}, "Points"), el("div", { class: "scroll" }, el("table", {}, el("thead", { id: "table-head" }), el("tbody", { id: "table-body" }))),
        el("div", { class: "pager" }, el("button", { id: "table-prev" }, "‹"), el("span", { id: "table-pager-text" }), el("button", { id: "table-next" }, "›"))),
      el("section", { id: "optimize", class: "wide", hidden: "" }, el("h2", {}, "Optimisation"), el("p", { id: "optimize-note", class: "note" }),
        el("div", { class: "controls" }, el("label", {}, "path x ", el("select", { id: "path-x" })), el("label", {}, "y ", el("select", { id: "path-y" }))),
        el("div", { id: "progress-plot", class: "plot" }), el("div", { id: "path-plot", class: "plot" })),
      el("section", { id: "compare", class: "wide" }, el("h2", {}, "Compare two sweeps"), el("div", { class: "controls" }, el("label", {}, "with ", el("select", { id: "compare-with" })), el("span", { id: "compare-note", class: "note" })),
        el("div", { id: "compare-plot", class: "plot" }), el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ...["point", "params", "this sweep", "other sweep", "difference"].map((h) => el("th", {}, h)))), el("tbody", { id: "compare-body" }))))),
    el("aside", { id: "detail", hidden: "" }, el("button", { id: "detail-close" }, "close"), el("div", { id: "detail-body" })));
  start().catch((err) => { console.error(err); $("selection").textContent = `error: ${err.message}`; });
})();

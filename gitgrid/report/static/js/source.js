// Where the data come from: the report's inline JSON, or the live dashboard's /api/... answers.

import { boot, LIVE } from "./state.js";

async function get(path, params) {
  const query = new URLSearchParams(params || {}).toString();
  const response = await fetch(`${path}${query ? `?${query}` : ""}`, { cache: "no-store" });
  if (!response.ok) {
    let message = `${path}: ${response.status}`;
    try {
      const body = await response.json(); // the dashboard says what went wrong, e.g. a damaged store
      if (body?.error) message = `${body.error} (${response.status})`;
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(message);
  }
  return response.json();
}

const inline = {
  home: async () => boot.home,
  sweep: async (name) => boot.sweeps[name],
  series: async (name, sname) => boot.sweeps[name].series?.[sname] || {},
  detail: async (name, index) => boot.sweeps[name].details?.[String(index)] || null,
};

const live = {
  home: async () => (await get("api/sweeps")).sweeps,
  async sweep(name) {
    const info = await get("api/sweep", { name });
    let page = await get("api/points", { sweep: name, after: -1 });
    const points = page;
    while (page.after !== null) {
      page = await get("api/points", { sweep: name, after: page.after });
      for (const part of ["columns", "params", "metrics"]) {
        for (const [k, v] of Object.entries(page[part])) for (const x of v) points[part][k].push(x);
      }
    }
    return { ...info, points, series: {} };
  },
  series: (name, sname) => get("api/series", { sweep: name, name: sname }),
  detail: (name, index) => get("api/point", { sweep: name, index }),
  updates: (params) => get("api/updates", params),
  info: (name) => get("api/sweep", { name }),
};

export const source = LIVE ? live : inline;

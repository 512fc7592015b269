// Runs the page's packed scripts in order (plotly.js, then the page's own): each is deflated and written
// as base85 text (or base64), decoded here and inflated by the browser's DecompressionStream, so a
// report stays one small file that opens from file:// with no network. See gitgrid/report/assets.py.
(() => {
  const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
  const digit = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) digit[ALPHABET.charCodeAt(i)] = i;
  digit[46] = digit[60]; // "." stands for the less-than sign, so that the text can never end or open a script tag

  function base85(text) {
    const rest = text.length % 5;
    const padded = rest ? text + "~".repeat(5 - rest) : text;
    const out = new Uint8Array((padded.length / 5) * 4);
    for (let i = 0, j = 0; i < padded.length; i += 5, j += 4) {
      let acc = 0;
      for (let k = 0; k < 5; k++) {
        const d = digit[padded.charCodeAt(i + k)];
        if (d < 0) throw new Error(`packed script: bad character at ${i + k}`);
        acc = acc * 85 + d;
      }
      out[j] = acc >>> 24;
      out[j + 1] = (acc >>> 16) & 255;
      out[j + 2] = (acc >>> 8) & 255;
      out[j + 3] = acc & 255;
    }
    return rest ? out.subarray(0, out.length - (5 - rest)) : out;
  }

  function base64(text) {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Response(stream).text();
  }

  async function run() {
    const t0 = performance.now();
    const nodes = document.querySelectorAll("script[type='application/x-gitgrid-packed']");
    const texts = await Promise.all(
      [...nodes].map((node) => inflate((node.dataset.encoding === "base64" ? base64 : base85)(node.textContent))),
    );
    const decoded = performance.now();
    // called by another name, eval runs in the global scope, as an inline script would
    // biome-ignore lint/security/noGlobalEval: the page's own scripts, unpacked (CSP: 'unsafe-eval', which Plotly needs anyway)
    const globalEval = window.eval;
    for (const text of texts) globalEval(text);
    window.gitgridLoad = { decode: decoded - t0, evaluate: performance.now() - decoded };
  }

  run().catch((err) => {
    console.error(err);
    document.body.append(`gitgrid: the page's scripts could not be unpacked (${err.message})`);
  });
})();

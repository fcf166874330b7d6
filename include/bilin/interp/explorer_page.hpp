// bilin/interp/explorer_page.hpp — the explorer page's HTML, CSS and script (explorer.hpp fills in
// the model).
//
// Contract (what the page promises; tests/explorer_browser.py checks it in headless Chromium):
// - Offline and self-contained: no network request, no external script, style or font.
// - The model is read from the JSON in <script id="bilin-meta"> and the 15-bit string
//   window.BILIN_DATA (layout: explorer.hpp). Every number is computed in double from those
//   values in the order ExplorerModel uses, so the page equals bilin's C++:
//     logits   = head((wp x + bw) ⊙ (vp x + bv)) + linear x + head_bias
//     component k of class c: projection p = inputs·x + offset, contribution λ p²
//   where x = (pixel − mean)/std is rounded to float like explain's input.
// - <canvas id="draw"> is the 28×28 input: pointer strokes (mouse, pen, finger) paint a soft pen
//   whose levels are 8-bit, like a picture file, so a drawing saved as PNG is the same input.
//   #sample loads an embedded test image; #file loads a PNG/JPEG preprocessed as io::mnist_style
//   does (explain's default: grayscale, ink made white, background removed, cropped, fitted into
//   20×20, centre of mass at (14, 14)); #center applies that preprocessing to the drawing. A PNG
//   decodes to the same bytes as in explain; a JPEG may differ slightly (each program's own
//   decoder rounds its inverse DCT differently).
// - #logit-c shows logit c (5 decimals); #pred the prediction; for the 3 highest classes, the
//   stored components sorted by contribution (#contrib-c-i, with data-class, data-component) and
//   #rest-c, the sum of the components not stored (logit − Σ stored), so each list sums exactly
//   to its logit (#sum-c). The slider #k keeps the k components of largest |λ| per class
//   (max = all): #k-pred is the truncated model's prediction, #klogit-c its logits.
// - Each component card has buttons that add (grow its activation) or subtract ε × its unit
//   picture (ε: slider #eps, an L2 norm in model-input units), the paper's weight-only
//   adversarial construction.
// - window.bilinExplain(pixels) with pixels = 784 values in [0, 1] (white ink on black) returns
//   {logits, contributions, rest} (contributions[c] = [{component, eigenvalue, projection,
//   contribution}] sorted by contribution); window.bilinInput() returns the current input;
//   window.bilinTimings lists, per stroke event, ms from the event's timestamp to the numbers
//   being in the page.
// - Every control has a label and is reachable with the keyboard; the layout is one column
//   below 760 px.
#pragma once
#include <string_view>

namespace bilin::interp {

inline constexpr std::string_view kExplorerPage = R"BILINPAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bilinear MLP explorer</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;padding:.8em 1.2em 2em;color:#222;line-height:1.4;background:#fff;max-width:1200px}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.1em;margin:.3em 0 .5em;border-bottom:2px solid #e5e5e5;padding-bottom:.15em}
.sub{color:#666;margin:.1em 0 .8em;font-size:.9em;overflow-wrap:anywhere}
.grid{display:grid;grid-template-columns:minmax(0,320px) minmax(0,1fr);gap:1.2em;align-items:start}
@media (max-width:760px){.grid{grid-template-columns:minmax(0,1fr)}}
.panel{background:#fafafa;border:1px solid #e5e5e5;border-radius:10px;padding:.7em .8em;min-width:0}
#draw{width:100%;max-width:280px;aspect-ratio:1;display:block;touch-action:none;cursor:crosshair;border:1px solid #888;border-radius:4px;image-rendering:pixelated;background:#000}
.row{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin:.5em 0}
button,select,input[type=file]{font:inherit;font-size:.9em}
button{padding:.3em .7em;border:1px solid #bbb;border-radius:6px;background:#fff;cursor:pointer}
button:focus-visible,select:focus-visible,input:focus-visible,canvas:focus-visible{outline:3px solid #1f5fa8;outline-offset:2px}
label{font-size:.9em}
input[type=range]{width:100%}
#status{min-height:1.3em;color:#444;font-size:.9em}
table.logits{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:.9em}
table.logits td,table.logits th{padding:.15em .35em;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
table.logits td.name,table.logits th.name{text-align:left;white-space:normal}
table.logits td.bar{width:30%;min-width:40px}
.barwrap{background:#eee;height:.8em;border-radius:3px;overflow:hidden}
.barfill{background:#4a7fc1;height:100%;width:0}
tr.top td{font-weight:700}
tr.top .barfill{background:#c0392b}
#pred{font-size:1.3em;font-weight:700;margin:.2em 0}
.classes{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:.8em}
.cls{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:.4em .5em;min-width:0}
.cls h3{font-size:1em;margin:.1em 0 .3em}
.comp{display:flex;gap:.45em;align-items:center;padding:.2em 0;border-bottom:1px solid #f0f0f0;font-size:.82em;font-variant-numeric:tabular-nums}
.comp img{width:42px;height:42px;image-rendering:pixelated;border:1px solid #ddd;flex:none}
.comp .txt{flex:1;min-width:0}
.comp .val{font-weight:700;min-width:5.5em;text-align:right}
.comp .pos{color:#b2182b}.comp .neg{color:#2166ac}
.comp button{padding:.05em .45em;font-size:1em;line-height:1.2}
.rest,.sum{font-size:.82em;padding:.25em 0;font-variant-numeric:tabular-nums}
.sum{font-weight:700;border-top:2px solid #ccc}
.muted{color:#666;font-size:.85em}
output{font-weight:700}
footer{margin-top:1.5em;color:#777;font-size:.85em}
</style>
</head>
<body>
<h1 id="title">Bilinear MLP explorer</h1>
<p class="sub" id="subtitle"></p>
<div class="grid">
<section class="panel" aria-labelledby="h-input">
<h2 id="h-input">Input (28×28, what the model sees)</h2>
<canvas id="draw" width="280" height="280" tabindex="0" role="img" aria-label="Drawing area: draw a digit with the mouse, a pen or a finger"></canvas>
<div class="row">
<button id="clear" type="button">Clear</button>
<button id="center" type="button" title="Crop, fit into 20×20 and centre the ink like explain does">Centre like explain</button>
</div>
<div class="row"><label for="sample">Test image:</label> <select id="sample"><option value="">choose…</option></select></div>
<div class="row"><label for="file">Load a PNG/JPEG:</label> <input id="file" type="file" accept="image/png,image/jpeg,image/*"></div>
<div class="row" style="display:block"><label for="eps">Push strength ε (L2 norm per click): <output id="eps-out" for="eps"></output></label>
<input id="eps" type="range" min="0.25" max="5" step="0.25" value="1.5"></div>
<p id="status" role="status" aria-live="polite"></p>
<p class="muted">Draw with white ink on the black square (the dashed box is where MNIST puts the digit). Every number on the page is computed here, in your browser, from the model's weights.</p>
</section>
<section class="panel" aria-labelledby="h-pred">
<h2 id="h-pred">Prediction</h2>
<p id="pred" aria-live="polite">–</p>
<table class="logits"><thead><tr><th class="name" scope="col">class</th><th scope="col">logit</th><th scope="col">p</th><th scope="col" class="bar"><span class="muted">softmax</span></th><th scope="col">top-k logit</th></tr></thead><tbody id="logit-rows"></tbody></table>
<div style="margin-top:.7em"><label for="k">Components kept per class (largest |λ|): <output id="k-out" for="k"></output></label>
<input id="k" type="range" min="1" step="1">
<p style="margin:.2em 0">Truncated model predicts: <b id="k-pred">–</b></p></div>
</section>
</div>
<section class="panel" style="margin-top:1.2em" aria-labelledby="h-comp">
<h2 id="h-comp">Why: each logit is Σ λᵢ (vᵢ·x)²</h2>
<p class="muted">For the three highest classes: the class's strongest components (largest |λ|), sorted by their contribution λ(v·x)² to the logit. Pictures: red positive, blue negative, white zero. A component fires when the input matches its red <i>or</i> its blue part (it is squared); the sign of λ decides whether it pushes the logit up or down. + adds ε × the picture to the input (signed to grow its activation), − subtracts it.</p>
<div class="classes" id="classes"></div>
</section>
<footer id="footer"></footer>
<script id="bilin-meta" type="application/json">/*BILIN_META*/</script>
<script>window.BILIN_DATA = "/*BILIN_DATA*/";</script>
<script>
"use strict";
(function () {
  const meta = JSON.parse(document.getElementById("bilin-meta").textContent);
  const H = meta.image.h, W = meta.image.w, D = H * W;
  const C = meta.dims.classes, NH = meta.dims.hidden, NF = meta.dims.form, K = meta.dims.top_k;
  const names = meta.classes, fr = Math.fround;

  // ---- decode the numbers: 15 bits per code unit from U+3000, most significant bit first
  const T = {};
  let samples = [];
  (function decode() {
    const s = window.BILIN_DATA;
    const bytes = new Uint8Array(Math.floor(s.length * 15 / 8));
    let acc = 0, nb = 0, o = 0;
    for (let i = 0; i < s.length; i++) {
      acc = (acc << 15) | (s.charCodeAt(i) - 0x3000);
      nb += 15;
      while (nb >= 8) { nb -= 8; if (o < bytes.length) bytes[o++] = (acc >>> nb) & 255; }
      acc &= (1 << nb) - 1;
    }
    let pos = 0;
    const bits = (n) => {
      let v = 0;
      while (n > 0) {
        const off = pos & 7, take = Math.min(8 - off, n);
        v = v * (1 << take) + ((bytes[pos >>> 3] >>> (8 - off - take)) & ((1 << take) - 1));
        n -= take; pos += take;
      }
      return v;
    };
    const dv = new DataView(new ArrayBuffer(4));
    const f32 = () => { dv.setUint32(0, bits(32)); return dv.getFloat32(0); };
    for (const t of meta.tensors) {
      const out = new Float64Array(t.rows * t.cols);
      if (t.bits === 32) {
        for (let i = 0; i < out.length; i++) out[i] = f32();
      } else {
        const half = Math.pow(2, t.bits - 1);
        for (let r = 0; r < t.rows; r++) {
          const scale = f32();
          for (let j = 0; j < t.cols; j++) out[r * t.cols + j] = (bits(t.bits) - half) * scale;
        }
      }
      T[t.name] = out;
    }
    samples = meta.samples.map(() => { const a = new Uint8Array(D); for (let i = 0; i < D; i++) a[i] = bits(8); return a; });
  })();
  const comp = meta.components;                   // comp[c][k]: component index, by |λ|
  const lambda = (c, k) => T.values[c * NF + comp[c][k]];

  // ---- the model, in ExplorerModel's loop order
  const g = new Float64Array(NH);
  function normalize(unit) {  // [0,1] pixels -> model input, rounded to float like explain's
    const x = new Float64Array(D);
    for (let j = 0; j < D; j++) x[j] = fr((fr(unit[j]) - meta.norm.mean) / meta.norm.std);
    return x;
  }
  function logitsOf(x) {
    const wp = T.wp, vp = T.vp, out = new Float64Array(C);
    for (let o = 0; o < NH; o++) {
      let a = T.bw[o], b = T.bv[o];
      const base = o * D;
      for (let j = 0; j < D; j++) { a += wp[base + j] * x[j]; b += vp[base + j] * x[j]; }
      g[o] = a * b;
    }
    for (let c = 0; c < C; c++) {
      let s = T.head_bias[c];
      for (let o = 0; o < NH; o++) s += T.head[c * NH + o] * g[o];
      for (let j = 0; j < D; j++) s += T.linear[c * D + j] * x[j];
      out[c] = s;
    }
    return out;
  }
  function projections(x) {  // [C*K]
    const p = new Float64Array(C * K), U = T.inputs;
    for (let r = 0; r < C * K; r++) {
      let a = T.offsets[r];
      const base = r * D;
      for (let j = 0; j < D; j++) a += U[base + j] * x[j];
      p[r] = a;
    }
    return p;
  }
  function explainX(x) {
    const logits = logitsOf(x), proj = projections(x);
    const contributions = [], rest = [], truncated = [];
    for (let c = 0; c < C; c++) {
      const list = [];
      let sum = 0;
      const pref = new Float64Array(K + 1);
      for (let k = 0; k < K; k++) {
        const l = lambda(c, k), a = proj[c * K + k], v = l * a * a;
        list.push({ component: comp[c][k], rank: k, eigenvalue: l, projection: a, contribution: v });
        sum += v;
        pref[k + 1] = pref[k] + v;
      }
      list.sort((u, v) => v.contribution - u.contribution);
      contributions.push(list);
      rest.push(logits[c] - sum);
      truncated.push(pref);
    }
    return { logits: Array.from(logits), contributions, rest, truncated };
  }
  window.bilinExplain = function (pixels) {
    if (!pixels || pixels.length !== D) throw new Error("bilinExplain: expected " + D + " pixels, got " + (pixels && pixels.length));
    const e = explainX(normalize(pixels));
    return { logits: e.logits, contributions: e.contributions, rest: e.rest };
  };

  // ---- state
  const unit = new Float32Array(D);    // the input in [0,1] pixel units (edits may leave the range)
  window.bilinInput = () => Array.from(unit);
  window.bilinTimings = [];
  const $ = (id) => document.getElementById(id);
  const status = (t) => { $("status").textContent = t || ""; };

  // ---- drawing canvas
  const cv = $("draw"), ctx = cv.getContext("2d");
  const small = document.createElement("canvas");
  small.width = W; small.height = H;
  const sctx = small.getContext("2d"), simg = sctx.createImageData(W, H);
  function paint() {
    for (let j = 0; j < D; j++) {
      const v = Math.max(0, Math.min(255, Math.round(unit[j] * 255)));
      simg.data[4 * j] = simg.data[4 * j + 1] = simg.data[4 * j + 2] = v;
      simg.data[4 * j + 3] = 255;
    }
    sctx.putImageData(simg, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, cv.width, cv.height);
    const s = cv.width / W;
    ctx.strokeStyle = "rgba(255,200,0,.45)";
    ctx.setLineDash([4, 4]);
    ctx.strokeRect(4 * s, 4 * s, 20 * s, 20 * s);
    ctx.setLineDash([]);
  }
  // A soft round pen: full ink within 1 pixel of the stroke, fading to none at 2.
  function stroke(x0, y0, x1, y1) {
    const R = 2;
    const ax = Math.max(0, Math.floor(Math.min(x0, x1) - R)), bx = Math.min(W - 1, Math.ceil(Math.max(x0, x1) + R));
    const ay = Math.max(0, Math.floor(Math.min(y0, y1) - R)), by = Math.min(H - 1, Math.ceil(Math.max(y0, y1) + R));
    const dx = x1 - x0, dy = y1 - y0, L2 = dx * dx + dy * dy;
    for (let y = ay; y <= by; y++)
      for (let x = ax; x <= bx; x++) {
        const px = x + 0.5, py = y + 0.5;
        const t = L2 > 0 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / L2)) : 0;
        const ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
        const ink = Math.max(0, Math.min(1, R - Math.sqrt(ex * ex + ey * ey)));
        const level = fr(Math.round(ink * 255) / 255);
        if (level > unit[y * W + x]) unit[y * W + x] = level;
      }
  }
  function gridPos(e) {
    const r = cv.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width * W, (e.clientY - r.top) / r.height * H];
  }
  let drawing = false, last = null;
  cv.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    cv.setPointerCapture(e.pointerId);
    drawing = true;
    last = gridPos(e);
    stroke(last[0], last[1], last[0], last[1]);
    update(e.timeStamp);
  });
  cv.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = gridPos(e);
    stroke(last[0], last[1], p[0], p[1]);
    last = p;
    update(e.timeStamp);
  });
  const end = () => { drawing = false; last = null; };
  cv.addEventListener("pointerup", end);
  cv.addEventListener("pointercancel", end);

  // ---- io::mnist_style, step for step (float rounding as in C++), for loaded files and "Centre"
  function resizeArea(src, sh, sw, dh, dw) {
    const taps = (ns, nd) => {
      const out = [], scale = ns / nd;
      for (let o = 0; o < nd; o++) {
        const t = [];
        if (scale > 1.0) {
          const a = o * scale, b = (o + 1) * scale;
          for (let s = Math.floor(a); s < Math.ceil(b) && s < ns; s++) {
            const cover = Math.min(b, s + 1) - Math.max(a, s);
            if (cover > 1e-12) t.push([s, fr(cover / scale)]);
          }
        } else {
          const x = Math.max(0, Math.min(ns - 1, (o + 0.5) * scale - 0.5));
          const x0 = Math.floor(x), x1 = Math.min(x0 + 1, ns - 1), f = x - x0;
          t.push([x0, fr(1.0 - f)]);
          if (x1 !== x0 && f > 0) t.push([x1, fr(f)]);
        }
        out.push(t);
      }
      return out;
    };
    const tx = taps(sw, dw), ty = taps(sh, dh);
    const tmp = new Float32Array(sh * dw), out = new Float32Array(dh * dw);
    for (let y = 0; y < sh; y++)
      for (let x = 0; x < dw; x++) {
        let acc = 0;
        for (const [s, w] of tx[x]) acc = fr(acc + w * src[y * sw + s]);
        tmp[y * dw + x] = acc;
      }
    for (let y = 0; y < dh; y++)
      for (let x = 0; x < dw; x++) {
        let acc = 0;
        for (const [s, w] of ty[y]) acc = fr(acc + w * tmp[s * dw + x]);
        out[y * dw + x] = acc;
      }
    return out;
  }
  const lround = (v) => (v < 0 ? -Math.round(-v) : Math.round(v));
  function mnistStyle(gray, h, w) {  // gray: Float32Array h*w in [0,1], 1 = white
    const n = h * w, box = 20, size = H;
    const v = Float32Array.from(gray);
    let border = 0, cnt = 0;
    for (let x = 0; x < w; x++) { border += v[x] + v[(h - 1) * w + x]; cnt += 2; }
    for (let y = 0; y < h; y++) { border += v[y * w] + v[y * w + w - 1]; cnt += 2; }
    if (border / cnt > 0.5) for (let i = 0; i < n; i++) v[i] = fr(1 - v[i]);
    const sorted = Float32Array.from(v).sort();
    const bg = sorted[Math.floor(n / 2)];
    let mx = -Infinity;
    for (let i = 0; i < n; i++) mx = Math.max(mx, v[i]);
    if (!(fr(mx - bg) > fr(1e-3))) throw new Error("the picture has no visible ink");
    const den = fr(mx - bg);
    for (let i = 0; i < n; i++) v[i] = Math.min(1, Math.max(0, fr(fr(v[i] - bg) / den)));
    let y0 = h, y1 = -1, x0 = w, x1 = -1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (v[y * w + x] > fr(0.15)) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
    const bh = y1 - y0 + 1, bw = x1 - x0 + 1;
    const crop = new Float32Array(bh * bw);
    for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) crop[y * bw + x] = v[(y0 + y) * w + x0 + x];
    const scale = box / Math.max(bh, bw);
    const nh = Math.max(1, Math.min(box, lround(bh * scale))), nw = Math.max(1, Math.min(box, lround(bw * scale)));
    const digit = resizeArea(crop, bh, bw, nh, nw);
    let oy = Math.floor((size - nh) / 2), ox = Math.floor((size - nw) / 2);
    let m = 0, my = 0, mxx = 0;
    for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) { const p = digit[y * nw + x]; m += p; my += p * y; mxx += p * x; }
    if (m > 0) { oy = lround(Math.floor(size / 2) - my / m); ox = lround(Math.floor(size / 2) - mxx / m); }
    const out = new Float32Array(size * size);
    for (let y = 0; y < nh; y++)
      for (let x = 0; x < nw; x++) {
        const ty = oy + y, tx = ox + x;
        if (ty >= 0 && ty < size && tx >= 0 && tx < size) out[ty * size + tx] = Math.min(1, Math.max(0, digit[y * nw + x]));
      }
    return out;
  }
  // io::to_gray on the browser's RGBA pixels: luminance, alpha composited over white.
  function toGray(rgba, n) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255.0;
      const a = rgba[4 * i + 3] / 255.0;
      if (a < 1) v = a * v + (1.0 - a);
      out[i] = v;
    }
    return out;
  }
  async function loadFile(file) {
    try {
      const bmp = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
      const c = document.createElement("canvas");
      c.width = bmp.width; c.height = bmp.height;
      const cc = c.getContext("2d", { willReadFrequently: true });
      cc.drawImage(bmp, 0, 0);
      const data = cc.getImageData(0, 0, bmp.width, bmp.height).data;
      unit.set(mnistStyle(toGray(data, bmp.width * bmp.height), bmp.height, bmp.width));
      status("Loaded " + file.name + " (" + bmp.width + "×" + bmp.height + "), preprocessed like explain.");
      $("sample").value = "";
      update(performance.now());
    } catch (err) {
      status("Could not use " + file.name + ": " + err.message);
    }
  }

  // ---- results
  const fmt = (v) => (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(5);
  const rows = [];
  for (let c = 0; c < C; c++) {
    const tr = document.createElement("tr");
    tr.innerHTML = '<td class="name"></td><td><span id="logit-' + c + '"></span></td><td class="p"></td>' +
      '<td class="bar"><div class="barwrap"><div class="barfill"></div></div></td><td><span id="klogit-' + c + '"></span></td>';
    tr.querySelector(".name").textContent = names[c];
    $("logit-rows").appendChild(tr);
    rows.push({ tr, logit: tr.querySelector("#logit-" + c), p: tr.querySelector(".p"), bar: tr.querySelector(".barfill"), k: tr.querySelector("#klogit-" + c) });
  }
  // RdBu (io::rdbu): blue < 0 < red, zero white, symmetric per picture.
  const RDBU = [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [255, 255, 255],
    [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]];
  function rdbu(t) {
    t = Math.max(-1, Math.min(1, t));
    const s = (t + 1) * 5, i = Math.min(9, Math.floor(s)), f = s - i;
    return RDBU[i].map((a, q) => Math.round(a + (RDBU[i + 1][q] - a) * f));
  }
  const pictures = {};
  function picture(c, k) {
    const key = c * K + k;
    if (pictures[key]) return pictures[key];
    const base = key * D;
    let amax = 0, norm = 0;
    for (let j = 0; j < D; j++) { amax = Math.max(amax, Math.abs(T.inputs[base + j])); norm += T.inputs[base + j] ** 2; }
    const pc = document.createElement("canvas");
    pc.width = W; pc.height = H;
    const pctx = pc.getContext("2d"), im = pctx.createImageData(W, H);
    for (let j = 0; j < D; j++) {
      const [r, gg, b] = amax > 0 ? rdbu(T.inputs[base + j] / amax) : [255, 255, 255];
      im.data[4 * j] = r; im.data[4 * j + 1] = gg; im.data[4 * j + 2] = b; im.data[4 * j + 3] = 255;
    }
    pctx.putImageData(im, 0, 0);
    return (pictures[key] = { url: pc.toDataURL(), norm: Math.sqrt(norm) });
  }
  const cards = {};
  function card(c, item) {
    const key = c * K + item.rank;
    if (cards[key]) return cards[key];
    const el = document.createElement("div");
    el.className = "comp";
    const img = document.createElement("img");
    img.src = picture(c, item.rank).url;
    img.alt = "Picture of component " + item.component + " of class " + names[c];
    const txt = document.createElement("div");
    txt.className = "txt";
    const val = document.createElement("div");
    val.className = "val contrib";
    val.id = "contrib-" + c + "-" + item.component;
    val.dataset.class = c;
    val.dataset.component = item.component;
    const plus = document.createElement("button"), minus = document.createElement("button");
    plus.type = minus.type = "button";
    plus.textContent = "+"; minus.textContent = "−";
    plus.setAttribute("aria-label", "Add ε times component " + item.component + " of class " + names[c] + " to the input");
    minus.setAttribute("aria-label", "Subtract ε times component " + item.component + " of class " + names[c] + " from the input");
    plus.className = "push"; minus.className = "pull";
    plus.dataset.class = minus.dataset.class = c;
    plus.dataset.rank = minus.dataset.rank = item.rank;
    plus.addEventListener("click", () => push(c, item.rank, +1));
    minus.addEventListener("click", () => push(c, item.rank, -1));
    el.append(img, txt, val, plus, minus);
    return (cards[key] = { el, txt, val });
  }
  // The paper's construction from the weights: move the input along a component's unit picture,
  // signed so that +1 grows |v·x| (and so pushes the logit by the sign of λ).
  let lastExplain = null;
  function push(c, k, dir) {
    const proj = lastExplain ? lastExplain.projections[c * K + k] : 0;
    const sign = (proj >= 0 ? 1 : -1) * dir, eps = parseFloat($("eps").value), p = picture(c, k);
    if (!(p.norm > 0)) return;
    const base = (c * K + k) * D;
    for (let j = 0; j < D; j++) unit[j] = fr(unit[j] + sign * eps * meta.norm.std * T.inputs[base + j] / p.norm);
    status((dir > 0 ? "Added" : "Subtracted") + " ε = " + eps + " × component " + comp[c][k] + " of class " + names[c] + ".");
    update(performance.now());
  }
  const klabel = (k) => (k > K ? "all (" + NF + ")" : String(k));
  function update(t0) {
    paint();
    const x = normalize(unit);
    const e = explainX(x);
    e.projections = projections(x);
    lastExplain = e;
    const L = e.logits;
    let best = 0;
    for (let c = 1; c < C; c++) if (L[c] > L[best]) best = c;
    const mx = L[best];
    let Z = 0;
    const ex = L.map((v) => Math.exp(v - mx));
    ex.forEach((v) => (Z += v));
    const kk = parseInt($("k").value, 10);
    const kl = L.map((v, c) => (kk > K ? v : e.truncated[c][kk]));
    let kbest = 0;
    for (let c = 1; c < C; c++) if (kl[c] > kl[kbest]) kbest = c;
    for (let c = 0; c < C; c++) {
      const r = rows[c];
      r.logit.textContent = L[c].toFixed(5);
      r.p.textContent = (100 * ex[c] / Z).toFixed(1) + "%";
      r.bar.style.width = (100 * ex[c] / Z).toFixed(1) + "%";
      r.k.textContent = kl[c].toFixed(5);
      r.tr.className = c === best ? "top" : "";
    }
    $("pred").textContent = "Prediction: " + names[best] + " (p = " + (ex[best] / Z).toFixed(3) + ")";
    $("k-pred").textContent = names[kbest] + " with k = " + klabel(kk);
    // the three highest classes
    const order = Array.from(L.keys()).sort((a, b) => L[b] - L[a]).slice(0, Math.min(3, C));
    const box = $("classes");
    const sections = order.map((c) => {
      const sec = document.createElement("div");
      sec.className = "cls";
      const h = document.createElement("h3");
      h.textContent = names[c] + ": logit " + L[c].toFixed(5);
      sec.appendChild(h);
      for (const item of e.contributions[c]) {
        const cd = card(c, item);
        cd.txt.textContent = "#" + item.component + " λ=" + item.eigenvalue.toFixed(4) + " v·x=" + item.projection.toFixed(3);
        cd.val.textContent = fmt(item.contribution);
        cd.val.className = "val contrib " + (item.contribution >= 0 ? "pos" : "neg");
        sec.appendChild(cd.el);
      }
      const rest = document.createElement("div");
      rest.className = "rest";
      rest.innerHTML = 'the other ' + (NF - K) + ' components together: <b id="rest-' + c + '"></b>';
      rest.querySelector("b").textContent = fmt(e.rest[c]);
      const sum = document.createElement("div");
      sum.className = "sum";
      sum.innerHTML = 'sum = logit: <span id="sum-' + c + '"></span>';
      sum.querySelector("span").textContent = L[c].toFixed(5);
      sec.append(rest, sum);
      return sec;
    });
    box.replaceChildren(...sections);
    window.bilinTimings.push(performance.now() - t0);
  }

  // ---- controls
  $("title").textContent = meta.title;
  document.title = meta.title;
  const enc = meta.bits === 32 ? "fp32 weights (exact)" : meta.bits + "-bit weights";
  $("subtitle").textContent = (meta.source ? meta.source + " · " : "") + "hidden " + NH + ", " + K +
    " stored components per class, " + enc +
    (meta.check.inputs > 0 ? " · this page's logits differ from the checkpoint's by at most " +
      meta.check.max_abs_err.toExponential(1) + " on " + meta.check.inputs + " test images" : "");
  $("footer").textContent = "Generated by bilin (analyze_mnist --explorer). The logit of class c is exactly " +
    "Σᵢ λᵢ (vᵢ·z̃)² over all " + NF + " eigencomponents of its interaction matrix; the page stores the " + K +
    " of largest |λ| per class and computes the logits from the weights.";
  const kin = $("k");
  kin.max = K + 1;
  kin.value = K + 1;
  const showK = () => { $("k-out").textContent = klabel(parseInt(kin.value, 10)); };
  showK();
  kin.addEventListener("input", () => { showK(); update(performance.now()); });
  const eps = $("eps");
  const showEps = () => { $("eps-out").textContent = eps.value; };
  showEps();
  eps.addEventListener("input", showEps);
  $("clear").addEventListener("click", () => { unit.fill(0); status(""); $("sample").value = ""; update(performance.now()); });
  $("center").addEventListener("click", () => {
    try {
      unit.set(mnistStyle(Float32Array.from(unit, (v) => Math.min(1, Math.max(0, v))), H, W));
      status("Centred like explain: cropped to the ink, fitted into 20×20, centre of mass at the middle.");
    } catch (err) { status("Nothing to centre: " + err.message); }
    update(performance.now());
  });
  const sel = $("sample");
  meta.samples.forEach((s, i) => { const o = document.createElement("option"); o.value = String(i); o.textContent = s; sel.appendChild(o); });
  sel.addEventListener("change", () => {
    if (sel.value === "") return;
    const px = samples[parseInt(sel.value, 10)];
    for (let j = 0; j < D; j++) unit[j] = fr(px[j] / 255);
    status("Loaded " + meta.samples[parseInt(sel.value, 10)] + ".");
    update(performance.now());
  });
  $("file").addEventListener("change", (ev) => { if (ev.target.files.length) loadFile(ev.target.files[0]); });
  if (samples.length) { sel.value = "0"; sel.dispatchEvent(new Event("change")); } else update(performance.now());
  window.bilinTimings.length = 0;
  document.body.dataset.ready = "1";
})();
</script>
</body>
</html>
)BILINPAGE";

}  // namespace bilin::interp

#!/usr/bin/env python3
"""explorer_browser.py — the explorer page (analyze_mnist --explorer) driven in real headless Chromium.

    tests/explorer_browser.py BUILD_EXAMPLES_DIR WORK_DIR

Trains a small MNIST model (train_mnist, a few dozen steps), writes its explorer page, opens it
from a file:// URL in Debian's chromium through chromedriver (Selenium), offline, and checks:
  - the page is at most 3 MB and loads no resource besides itself, with no console error;
  - strokes drawn with real pointer events (mouse, then a touch pointer) on <canvas id="draw">
    update the page within 50 ms (90th percentile of the per-event times the page measures with
    performance.now(); the maximum is printed);
  - the displayed logits #logit-0..9 and every displayed contribution equal `explain --json` on
    the same input to 1e-4, for the drawing (saved as PNG, explain --center none) and for a PNG
    of a test digit loaded through the file input (explain's default preprocessing, done by the
    page in JS); window.bilinExplain agrees for every class and component it stores, and each
    class's contributions plus the rest sum to its logit;
  - the k slider, driven with the keyboard, gives the truncated logits Σ of the k largest-|λ|
    contributions (from explain) and their argmax;
  - pushing along an eigenvector (the card's + button) flips the prediction;
  - every control has an accessible name and is reachable with Tab; at 400 px width the page
    does not scroll sideways;
  - with a Fashion-MNIST dataset the page shows its class names.
With BILIN_EXPLORER_CKPT=PATH the checks run on that checkpoint instead of a freshly trained
one (e.g. the quick start's paper model, whose page stores quantized weights).
Screenshots go to WORK_DIR: explorer_drawn.png, explorer_loaded.png, explorer_pushed.png,
explorer_400px.png. Exit 0 = passed, 1 = failed, 77 = skipped (no MNIST, chromium, chromedriver
or selenium).
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

TOL = 1e-4
t_start = time.time()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import Reporter, find_browser, find_data as find_data_in, offline_driver  # noqa: E402

rep = Reporter("explorer_browser")
log, skip, fail, check = rep.log, rep.skip, rep.fail, rep.check


if len(sys.argv) != 3:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
here = os.path.dirname(os.path.abspath(__file__))

try:
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
except ImportError:
    skip("python3-selenium is not installed (Debian: apt-get install python3-selenium)")
chromium, chromedriver = find_browser(rep)


def find_data(name, files):
    return find_data_in(here, name, files)


mnist = find_data("mnist", ["t10k-images-idx3-ubyte"])
if not mnist:
    skip("MNIST not found (set BILIN_DATA or see data_scripts/)")
fmnist = find_data("fashion-mnist", ["t10k-images-idx3-ubyte"])


def run(args, out_name):
    with open(os.path.join(work, out_name + ".out"), "w") as so, open(os.path.join(work, out_name + ".log"), "w") as se:
        rc = subprocess.call(args, stdout=so, stderr=se, env=dict(os.environ, OMP_WAIT_POLICY="passive"))
    if rc != 0:
        fail("%s exited %d (see %s.log)" % (" ".join(args), rc, os.path.join(work, out_name)))
    return json.loads(open(os.path.join(work, out_name + ".out")).read().strip().splitlines()[-1])


def idx_images(d):
    p = os.path.join(d, "t10k-images-idx3-ubyte")
    raw = gzip.open(p + ".gz").read() if os.path.exists(p + ".gz") else open(p, "rb").read()
    n = struct.unpack(">I", raw[4:8])[0]
    return [raw[16 + 784 * i:16 + 784 * (i + 1)] for i in range(min(n, 50))]


def write_png(path, w, h, rows, color_type):  # 8-bit gray (0) or RGB (2), no gamma/colour chunks
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---- 1. a small model and its page
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
t0 = time.time()
ckpt = os.environ.get("BILIN_EXPLORER_CKPT")
if not ckpt:
    run([os.path.join(bin_dir, "train_mnist"), "--dataset", mnist, "--out", os.path.join(work, "train"), "--hidden", "64",
         "--max-steps", "200", "--batch", "256", "--no-final-train-eval"], "train")
    ckpt = os.path.join(work, "train", "model.safetensors")
summary = run([os.path.join(bin_dir, "analyze_mnist"), "--ckpt", ckpt, "--dataset", mnist, "--out",
               os.path.join(work, "analysis"), "--explorer", "--adv-samples", "100", "--examples", "1"], "analyze")
page = summary.get("explorer")
check(page and os.path.isfile(page), "analyze_mnist --explorer wrote no explorer.html: %s" % summary)
page_bytes = os.path.getsize(page)
log("model trained and page written in %.1f s: %s, %d bytes" % (time.time() - t0, page, page_bytes))
check(page_bytes <= 3_000_000, "the page is %d bytes, more than 3 MB" % page_bytes)


def explain(image, name, center):
    out = os.path.join(work, name + ".json")
    run([os.path.join(bin_dir, "explain"), "--ckpt", ckpt, "--image", image, "--center", center, "--top", "3",
         "--out", os.path.join(work, name), "--json", out], name)
    j = json.load(open(out))
    comps = {}
    for cj in j["classes"]:
        comps[cj["class"]] = {c["component"]: c for c in cj["components"]}
    return j["logits"], comps


# ---- 2. the browser, offline
drv = offline_driver(chromium, chromedriver)
try:
    drv.get("file://" + page)
    for _ in range(200):
        if drv.execute_script("return document.body.dataset.ready === '1'"):
            break
        time.sleep(0.05)
    check(drv.execute_script("return document.body.dataset.ready === '1'"), "the page never became ready")
    res = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    check(res == [], "the page loaded other resources: %s" % res)
    severe = [l for l in drv.get_log("browser") if l.get("level") == "SEVERE"]
    check(not severe, "console errors: %s" % severe)
    C = 10

    def num(text):
        return float(text.replace("−", "-").replace("+", "").strip())

    def shown_logits():
        return [num(drv.find_element(By.ID, "logit-%d" % c).text) for c in range(C)]

    def shown_contributions():
        out = []
        for el in drv.find_elements(By.CSS_SELECTOR, "#classes .contrib"):
            out.append((int(el.get_attribute("data-class")), int(el.get_attribute("data-component")), num(el.text)))
        return out

    def compare(tag, ref_logits, ref_comps):
        L = shown_logits()
        err = max(abs(a - b) for a, b in zip(L, ref_logits))
        check(err <= TOL, "%s: displayed logits differ from explain by %.3g: %s vs %s" % (tag, err, L, ref_logits))
        shown = shown_contributions()
        check(len(shown) >= 3, "%s: no contributions displayed" % tag)
        cerr = max(abs(v - ref_comps[c][i]["contribution"]) for c, i, v in shown)
        check(cerr <= TOL, "%s: displayed contributions differ from explain by %.3g" % (tag, cerr))
        # displayed sums: each list + its rest is the logit (display rounding: 5 decimals per value)
        for c in {c for c, _, _ in shown}:
            vals = [v for cc, _, v in shown if cc == c]
            rest = num(drv.find_element(By.ID, "rest-%d" % c).text)
            total = num(drv.find_element(By.ID, "sum-%d" % c).text)
            check(abs(sum(vals) + rest - L[c]) <= TOL + 5e-6 * (len(vals) + 2) and abs(total - L[c]) <= 1e-5,
                  "%s: class %d: contributions %.6f + rest %.6f != logit %.6f" % (tag, c, sum(vals), rest, L[c]))
        # the script API, every class and stored component
        px = drv.execute_script("return window.bilinInput()")
        e = drv.execute_script("return window.bilinExplain(arguments[0])", px)
        aerr = max(abs(a - b) for a, b in zip(e["logits"], ref_logits))
        berr, serr = 0.0, 0.0
        for c in range(C):
            for item in e["contributions"][c]:
                r = ref_comps[c][item["component"]]
                berr = max(berr, abs(item["contribution"] - r["contribution"]), abs(item["eigenvalue"] - r["eigenvalue"]))
            stored = {item["component"] for item in e["contributions"][c]}
            ref_rest = sum(r["contribution"] for i, r in ref_comps[c].items() if i not in stored)
            serr = max(serr, abs(e["rest"][c] - ref_rest),
                       abs(sum(i["contribution"] for i in e["contributions"][c]) + e["rest"][c] - e["logits"][c]))
        check(aerr <= TOL and berr <= TOL and serr <= TOL,
              "%s: bilinExplain differs from explain: logits %.3g, contributions %.3g, sums %.3g" % (tag, aerr, berr, serr))
        log("%s: logits within %.2g of explain (bilinExplain %.2g), %d displayed contributions within %.2g, "
            "all stored contributions within %.2g, sums within %.2g" % (tag, err, aerr, len(shown), cerr, berr, serr))
        return L, px

    # ---- 3. draw a 7: the bar with the mouse, the stem with a finger
    drv.find_element(By.ID, "clear").click()
    canvas = drv.find_element(By.ID, "draw")
    size = canvas.size["width"]
    drv.execute_script("window.bilinTimings.length = 0")

    def grid(gx, gy):  # grid coordinates -> offsets from the canvas centre
        return int((gx / 28 - 0.5) * size), int((gy / 28 - 0.5) * size)

    def stroke(points, kind):
        pointer = PointerInput(kind, "finger" if kind == interaction.POINTER_TOUCH else "mouse")
        ab = ActionBuilder(drv, mouse=pointer)
        ab.pointer_action.move_to(canvas, *grid(*points[0])).pointer_down()
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            for s in range(1, 13):
                ab.pointer_action.move_to(canvas, *grid(ax + (bx - ax) * s / 12, ay + (by - ay) * s / 12))
        ab.pointer_action.pointer_up()
        ab.perform()

    stroke([(8, 7), (20, 7), (17, 13)], interaction.POINTER_MOUSE)
    stroke([(17, 13), (12, 22)], interaction.POINTER_TOUCH)
    times = sorted(drv.execute_script("return window.bilinTimings"))
    check(len(times) >= 20, "only %d stroke events reached the page" % len(times))
    p50, p90 = times[len(times) // 2], times[int(0.9 * (len(times) - 1))]
    log("stroke reaction over %d pointer events: median %.1f ms, 90th percentile %.1f ms, max %.1f ms"
        % (len(times), p50, p90, times[-1]))
    check(p90 <= 50, "the page takes %.1f ms (90th percentile) to react to a stroke, more than 50" % p90)
    px = drv.execute_script("return window.bilinInput()")
    check(sum(px) > 10, "the strokes left no ink")
    check(all(abs(v * 255 - round(v * 255)) < 1e-3 for v in px), "drawn levels are not 8-bit")
    drawn_png = os.path.join(work, "drawn.png")
    write_png(drawn_png, 28, 28, [[round(v * 255) for v in px[28 * y:28 * y + 28]] for y in range(28)], 0)
    ref_l, ref_c = explain(drawn_png, "explain_drawn", "none")
    compare("drawing", ref_l, ref_c)
    drv.save_screenshot(os.path.join(work, "explorer_drawn.png"))

    # ---- 4. the k slider, with the keyboard
    k = drv.find_element(By.ID, "k")
    k.send_keys(Keys.HOME)
    k.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    check(drv.find_element(By.ID, "k-out").text == "3", "k slider shows %r after Home, Right, Right"
          % drv.find_element(By.ID, "k-out").text)
    kl = [num(drv.find_element(By.ID, "klogit-%d" % c).text) for c in range(C)]
    ref_k = []
    for c in range(C):
        by_mag = sorted(ref_c[c].values(), key=lambda r: (-abs(r["eigenvalue"]), r["component"]))
        ref_k.append(sum(r["contribution"] for r in by_mag[:3]))
    kerr = max(abs(a - b) for a, b in zip(kl, ref_k))
    check(kerr <= TOL, "top-3 truncated logits differ from explain's by %.3g" % kerr)
    names = [drv.find_element(By.ID, "logit-%d" % c).find_element(By.XPATH, "../../td[1]").text for c in range(C)]
    kpred = drv.find_element(By.ID, "k-pred").text
    check(kpred.startswith(names[max(range(C), key=lambda c: ref_k[c])] + " "), "k-pred %r is not the argmax" % kpred)
    log("k = 3: truncated logits within %.2g of explain's top-3 sums; %s" % (kerr, kpred))

    # ---- 5. a PNG of a test digit: dark ink on light paper, larger, off-centre, through the file input
    digit = idx_images(mnist)[7]
    w, h, s, ox, oy = 130, 110, 3, 17, 9
    rows = []
    for y in range(h):
        row = []
        for x in range(w):
            gx, gy = (x - ox) // s, (y - oy) // s
            v = digit[gy * 28 + gx] if 0 <= gx < 28 and 0 <= gy < 28 else 0
            g = 235 - v * 200 // 255
            row += [g, min(255, g + 8), max(0, g - 6)]
        rows.append(row)
    file_png = os.path.join(work, "digit_photo.png")
    write_png(file_png, w, h, rows, 2)
    drv.find_element(By.ID, "file").send_keys(file_png)
    for _ in range(100):
        if "Loaded digit_photo.png" in drv.find_element(By.ID, "status").text:
            break
        time.sleep(0.05)
    check("Loaded digit_photo.png" in drv.find_element(By.ID, "status").text,
          "loading the PNG failed: %r" % drv.find_element(By.ID, "status").text)
    ref_l, ref_c = explain(file_png, "explain_file", "com")
    L, _ = compare("loaded PNG (page-side preprocessing)", ref_l, ref_c)
    drv.save_screenshot(os.path.join(work, "explorer_loaded.png"))
    k.send_keys(Keys.END)
    check(drv.find_element(By.ID, "k-out").text.startswith("all"), "End does not select all components")

    # ---- 6. an embedded test image, then push along the runner-up's strongest positive component
    Select(drv.find_element(By.ID, "sample")).select_by_index(3)
    L = shown_logits()
    order = sorted(range(C), key=lambda c: -L[c])
    first, second = order[0], order[1]
    flipped = None
    for clicks in range(1, 13):
        e = drv.execute_script("return window.bilinExplain(window.bilinInput())")
        best = max((i for i in e["contributions"][second] if i["eigenvalue"] > 0), key=lambda i: i["eigenvalue"])
        btn = drv.find_elements(By.CSS_SELECTOR, "button.push[data-class='%d'][data-rank='%d']" % (second, best["rank"]))
        check(btn, "the + button of component %d of class %d is not shown" % (best["component"], second))
        btn[0].click()
        L2 = shown_logits()
        if max(range(C), key=lambda c: L2[c]) != first:
            flipped = clicks
            break
    check(flipped, "pushing along class %d's top eigenvector 12 times never flipped the prediction %d" % (second, first))
    e = drv.execute_script("return window.bilinExplain(window.bilinInput())")
    check(max(abs(a - b) for a, b in zip(e["logits"], shown_logits())) <= 1e-5, "after pushes the page disagrees with itself")
    log("pushing along class %s's top positive eigenvector flipped %s after %d click(s): %s"
        % (names[second], names[first], flipped, drv.find_element(By.ID, "pred").text))
    drv.save_screenshot(os.path.join(work, "explorer_pushed.png"))

    # ---- 7. labels, keyboard reach, phone width
    unnamed = drv.execute_script("""
      return Array.from(document.querySelectorAll('input,select,button,canvas')).filter(el => {
        const lab = el.id && document.querySelector('label[for="' + el.id + '"]');
        return !(el.getAttribute('aria-label') || (lab && lab.textContent.trim()) || el.textContent.trim());
      }).map(el => el.outerHTML.slice(0, 80));""")
    check(not unnamed, "controls without an accessible name: %s" % unnamed)
    drv.execute_script("window.scrollTo(0, 0)")
    drv.find_element(By.ID, "title").click()  # focus the document before the first control
    reached = []
    for _ in range(14):
        ActionChains(drv).send_keys(Keys.TAB).perform()
        reached.append(drv.execute_script("return document.activeElement.id"))
    for want in ("draw", "clear", "center", "sample", "file", "eps", "k"):
        check(want in reached, "Tab never reaches #%s (reached %s)" % (want, reached))
    drv.set_window_size(400, 2600)  # tall enough to show the component lists too
    time.sleep(0.3)
    sw, iw = drv.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    check(sw <= iw, "at 400 px the page is %d px wide (viewport %d)" % (sw, iw))
    drv.save_screenshot(os.path.join(work, "explorer_400px.png"))
    log("labels ok, Tab reaches %s; at 400 px: content %d px in a %d px viewport" % (sorted(set(reached) - {""}), sw, iw))
finally:
    drv.quit()

# ---- 8. Fashion-MNIST class names
if fmnist:
    fj = run([os.path.join(bin_dir, "analyze_mnist"), "--ckpt", ckpt, "--dataset", fmnist, "--out",
              os.path.join(work, "fashion"), "--explorer", "--adv-samples", "20", "--examples", "0"], "analyze_fashion")
    drv = offline_driver(chromium, chromedriver)
    try:
        drv.get("file://" + fj["explorer"])
        time.sleep(0.5)
        label1 = drv.find_element(By.ID, "logit-1").find_element(By.XPATH, "../../td[1]").text
        opts_text = [o.text for o in Select(drv.find_element(By.ID, "sample")).options]
        check(label1 == "Trouser" and any("(Ankle boot)" in t for t in opts_text),
              "Fashion-MNIST page shows class 1 as %r, samples %s" % (label1, opts_text[:4]))
        log("Fashion-MNIST page names its classes (class 1: %s)" % label1)
    finally:
        drv.quit()
else:
    log("Fashion-MNIST not found: class-name check skipped")
log("passed in %.1f s; screenshots in %s" % (time.time() - t_start, work))

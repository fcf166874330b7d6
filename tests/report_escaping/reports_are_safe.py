#!/usr/bin/env python3
"""reports_are_safe.py — every report program, fed hostile strings, writes pages a browser shows as
text (issue 20, "Reports are safe to open").

    tests/report_escaping/reports_are_safe.py BUILD_EXAMPLES_DIR WORK_DIR

The payload holds <script>, quotes, &, </svg>, </script>, an <img onerror> and "<!--"; it goes into
 - the paths (checkpoint, output folder, dataset folder) of analyze_lm, analyze_mnist (+ its
   explorer page) and regularization_report, and regularization_report's model label;
 - the corpus analyze_lm reads (--text), so corpus tokens reach its context tables and the feature
   labels on its heatmap axes.
Each page is opened in headless Chromium (offline) with a hook: the payload's scripts would set
window.__bilin_pwned. Checked per page: no injected script or handler ran, the page's own elements
are all in the DOM (for every tag, the elements the browser built equal the tags in the source:
an unescaped </svg> or </script> would cut an SVG or script short), every <img> decodes, and the
payload is visible as text where it was put. Exit 0 ok, 1 failure, 77 skipped (no data/Chromium).
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from browser_support import Reporter, find_browser, find_data, offline_driver  # noqa: E402

rep = Reporter("reports_are_safe")
bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
here = os.path.dirname(os.path.abspath(__file__))
chromium, chromedriver = find_browser(rep)
stories = find_data(os.path.join(here, ".."), "tinystories", ["TinyStories-valid-head.txt"])
mnist = find_data(os.path.join(here, ".."), "mnist", ["t10k-images-idx3-ubyte"])
if not stories or not mnist:
    rep.skip("needs the TinyStories and MNIST data sets")

PAYLOAD = "x<script>window.__bilin_pwned=1</script>\"'&amp;</svg></script><img src=x onerror=\"window.__bilin_pwned=2\"><!--"
shutil.rmtree(work, ignore_errors=True)
hostile = os.path.join(work, PAYLOAD)  # '/' in the payload makes nested folders
os.makedirs(hostile)
t0 = time.time()


def run(args, name):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rep.check(r.returncode == 0, "%s failed (%d): %s" % (name, r.returncode, r.stderr[-1500:]))
    return r.stdout


def prog(name):
    return os.path.join(bin_dir, name)


# ---- the language model: tiny LM and SAEs, then analyze_lm on a hostile corpus and paths
lm = ["--data", stories, "--cache", os.path.join(work, "cache"), "--vocab", "512", "--layers", "2", "--d-model", "32",
      "--heads", "2", "--hidden", "64", "--ctx", "32", "--batch", "8", "--eval-every", "40", "--eval-windows", "4",
      "--log-every", "20", "--threads", "2"]
run([prog("train_tinylm")] + lm + ["--steps", "40", "--seed", "1", "--out", os.path.join(work, "lm")], "train_tinylm")
ckpt = os.path.join(hostile, "lm.safetensors")
shutil.copy(os.path.join(work, "lm", "ckpt.safetensors"), ckpt)
run([prog("train_sae"), "--ckpt", os.path.join(work, "lm", "ckpt.safetensors"), "--data", stories, "--cache",
     os.path.join(work, "cache"), "--expansion", "4", "--k", "8", "--steps", "40", "--batch", "256", "--buffer", "1500",
     "--reuse", "2", "--eval-windows", "4", "--final-windows", "16", "--log-every", "20", "--threads", "2", "--top", "5",
     "--layer", "1", "--hook", "mlp_out,mlp_in", "--out", os.path.join(work, "sae")], "train_sae")
# the corpus: validation stories with the payload after every sentence
text = open(os.path.join(stories, "TinyStories-valid-head.txt"), encoding="utf-8").read()[:60000]
corpus = os.path.join(hostile, "corpus.txt")
with open(corpus, "w", encoding="utf-8") as f:
    f.write(text.replace(". ", ". " + PAYLOAD + " ").replace(", ", ", <&\"'> ").replace(" the ", " the </svg> "))
lm_out = os.path.join(hostile, "lm_report")
run([prog("analyze_lm"), "--ckpt", ckpt, "--sae-out", os.path.join(work, "sae"), "--sae-in", os.path.join(work, "sae"),
     "--layer", "1", "--text", corpus, "--windows", "24", "--goe-pool", "4", "--top-features", "2", "--threads", "2",
     "--out", lm_out], "analyze_lm")
t_lm = time.time() - t0

# ---- MNIST: a short model, analyze_mnist (+ explorer) and regularization_report with hostile paths
run([prog("train_mnist"), "--dataset", mnist, "--out", os.path.join(work, "mnist"), "--hidden", "32", "--max-steps", "20",
     "--batch", "256", "--no-final-train-eval"], "train_mnist")
mckpt = os.path.join(hostile, "model.safetensors")
shutil.copy(os.path.join(work, "mnist", "model.safetensors"), mckpt)
mdata = os.path.join(hostile, "mnist-data")
os.symlink(mnist, mdata)
mnist_out = os.path.join(hostile, "mnist_report")
run([prog("analyze_mnist"), "--ckpt", mckpt, "--dataset", mdata, "--out", mnist_out, "--explorer", "--adv-samples", "50",
     "--examples", "1", "--norms", "1,2"], "analyze_mnist")
reg_out = os.path.join(hostile, "reg_report")
label = "<b>L</b>\"'&</svg></script><script>window.__bilin_pwned++</script>"  # no "=": LABEL=CKPT
run([prog("regularization_report"), "--out", reg_out, "--dataset", mdata, label + "=" + mckpt], "regularization_report")
log_programs = time.time() - t0

# ---- every page in Chromium
HOOK = "window.__bilin_pwned"
pages = [(os.path.join(lm_out, "report.html"), ["td", "svg text", "h1, p"]),
         (os.path.join(mnist_out, "report.html"), ["h1, p"]),
         (os.path.join(mnist_out, "explorer.html"), None),
         (os.path.join(reg_out, "report.html"), ["p", "td"])]
driver = offline_driver(chromium, chromedriver)
try:
    for page, where in pages:
        rep.check(os.path.isfile(page), "no page %s" % page)
        src = open(page, encoding="utf-8-sig" if page.endswith("explorer.html") else "utf-8", errors="replace").read()
        if page.endswith("explorer.html"):
            src = open(page, "rb").read().decode("utf-16")
        driver.get("file://" + page)
        time.sleep(0.3)
        name = os.path.relpath(page, hostile)
        rep.check(driver.execute_script("return typeof " + HOOK + " === 'undefined'"),
                  "%s: an injected script or handler ran (%s = %r)" % (name, HOOK, driver.execute_script("return " + HOOK)))
        # the DOM holds exactly the elements the source opens, tag by tag (SVG ones in the SVG namespace)
        body = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", src, flags=re.S)  # a script's text is no markup
        body = re.sub(r"<style\b[^>]*>.*?</style>", "<style></style>", body, flags=re.S)
        tags = set(t.lower() for t in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", body))
        if where is None:  # the explorer builds its own elements; its static page must keep its scripts whole
            tags = {"script", "style"}
        for t in sorted(tags):
            in_src = len(re.findall(r"<%s[\s>/]" % t, body, flags=re.I))
            ns = "http://www.w3.org/2000/svg" if t in ("svg", "rect", "g", "text", "line", "path", "circle", "defs",
                                                        "clippath", "title", "polyline") else "*"
            if t == "title":  # <title> in <head> (HTML) and in SVG cells
                in_dom = driver.execute_script("return document.getElementsByTagName('title').length")
            else:
                in_dom = driver.execute_script("return document.getElementsByTagNameNS(arguments[0], arguments[1]).length",
                                               ns, "clipPath" if t == "clippath" else t)
            rep.check(in_dom == in_src, "%s: <%s> %d in the source but %d in the DOM" % (name, t, in_src, in_dom))
        bad = driver.execute_script("return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
        rep.check(bad == 0, "%s: %d pictures do not decode" % (name, bad))
        if where is None:  # the explorer: its script ran and shows the hostile path as text
            shown = driver.execute_script("return document.getElementById('subtitle').textContent")
            rep.check(PAYLOAD in shown, "%s: the subtitle does not show the path as text: %r" % (name, shown[:200]))
            meta = driver.execute_script("return JSON.parse(document.getElementById('bilin-meta').textContent).source")
            rep.check(PAYLOAD in meta, "%s: the metadata's source path did not survive: %r" % (name, meta[:200]))
        else:
            for sel in where:
                texts = driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", sel)
                if sel == "svg text":  # feature labels on the heatmap axes: "#index token", tokens of the corpus
                    hit = [t for t in texts if t.startswith("#") and any(c in t for c in "<>\"'&")]
                else:
                    hit = [t for t in texts if "__bilin_pwned" in t or "</svg>" in t or "<script>" in t or "</script>" in t]
                rep.check(hit, "%s: no '%s' element shows the payload as text" % (name, sel))
                rep.log("%s: %d '%s' elements show hostile text, e.g. %r" % (name, len(hit), sel, hit[0][:60]))
        n_svg = driver.execute_script("return document.getElementsByTagNameNS('http://www.w3.org/2000/svg', 'svg').length")
        rep.log("%s: safe (%d tags checked, %d SVGs, %d images)" % (name, len(tags), n_svg,
                                                                   driver.execute_script("return document.images.length")))
finally:
    driver.quit()
rep.log("ok: programs %.1f s (language model part %.1f s), all in %.1f s" % (log_programs, t_lm, time.time() - t0))

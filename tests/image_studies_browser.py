#!/usr/bin/env python3
"""image_studies_browser.py — examples/image_studies.sh --quick end to end, its report opened in
headless Chromium.

    tests/image_studies_browser.py BUILD_EXAMPLES_DIR WORK_DIR

Runs `bash image_studies.sh --build BUILD --out WORK --quick` and checks:
  - the last stdout line is a JSON object with "consistency_top_cosine_mean",
    "casper_recovered_cosine" (numbers in [0, 1]) and "report";
  - the report, loaded from a file:// URL in Debian's chromium through chromedriver (offline),
    has the sections #consistency, #casper, #ablations, #table1 and #pinv-masks, each with at
    least one picture or plot and none of them saying "Not run";
  - every <img> has decoded (complete, naturalWidth > 0) and every inline <svg> has a size;
  - the page logs no console error. A screenshot goes to WORK_DIR/report.png.
Exit 0 = passed, 1 = failed, 77 = skipped (no MNIST, chromium, chromedriver or selenium).
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import Reporter, find_browser, find_data, offline_driver  # noqa: E402

rep = Reporter("image_studies_browser")
log, fail, check = rep.log, rep.fail, rep.check
if len(sys.argv) != 3:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
here = os.path.dirname(os.path.abspath(__file__))
chromium, chromedriver = find_browser(rep)
mnist = find_data(here, "mnist", ["t10k-images-idx3-ubyte"])
if not mnist:
    rep.skip("MNIST not found (set BILIN_DATA or see data_scripts/)")

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
script = os.path.join(here, "..", "examples", "image_studies.sh")
res = subprocess.run(["bash", script, "--build", os.path.dirname(bin_dir), "--out", work, "--quick", "--dataset", mnist],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
open(os.path.join(work, "studies.log"), "w").write(res.stderr)
check(res.returncode == 0, "image_studies.sh failed (%d): %s" % (res.returncode, res.stderr[-2000:]))
j = json.loads(res.stdout.strip().splitlines()[-1])
for k in ("consistency_top_cosine_mean", "casper_recovered_cosine"):
    check(isinstance(j.get(k), (int, float)) and 0 <= j[k] <= 1, "%s = %r is not a number in [0, 1]" % (k, j.get(k)))
check(os.path.isfile(j.get("report", "")), "report %r does not exist" % j.get("report"))
log("JSON: consistency %.3f, casper %.3f" % (j["consistency_top_cosine_mean"], j["casper_recovered_cosine"]))

drv = offline_driver(chromium, chromedriver)
try:
    drv.get("file://" + os.path.abspath(j["report"]))
    info = drv.execute_script("""
      const ids = ['consistency', 'casper', 'ablations', 'table1', 'pinv-masks'];
      const out = {sections: {}, broken: [], imgs: document.images.length, svgs: 0, zero_svgs: 0};
      const heads = Array.from(document.querySelectorAll('h2'));
      for (const id of ids) {
        const h = document.getElementById(id);
        if (!h) { out.sections[id] = null; continue; }
        // The section's content: siblings up to the next h2.
        let n = h.nextElementSibling, pics = 0, text = '';
        while (n && n.tagName !== 'H2') {
          pics += n.querySelectorAll('img, svg').length + (['IMG', 'SVG'].includes(n.tagName.toUpperCase()) ? 1 : 0);
          text += n.textContent;
          n = n.nextElementSibling;
        }
        out.sections[id] = {pics: pics, not_run: text.includes('Not run')};
      }
      for (const im of document.images) if (!im.complete || im.naturalWidth === 0) out.broken.push(im.alt || im.src.slice(0, 40));
      for (const s of document.querySelectorAll('svg')) {
        if (s.closest('svg') !== s) continue;
        out.svgs++;
        const r = s.getBoundingClientRect();
        if (r.width <= 0 || r.height <= 0) out.zero_svgs++;
      }
      return out;""")
    for sid, s in info["sections"].items():
        check(s is not None, "section #%s is missing" % sid)
        check(s["pics"] > 0, "section #%s has no picture or plot" % sid)
        check(not s["not_run"], "section #%s says 'Not run'" % sid)
    check(info["imgs"] > 0 and not info["broken"], "broken pictures: %s" % info["broken"][:5])
    check(info["svgs"] > 0 and info["zero_svgs"] == 0, "%d of %d plots have no size" % (info["zero_svgs"], info["svgs"]))
    errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
    check(not errors, "console errors: %s" % errors[:3])
    drv.save_screenshot(os.path.join(work, "report.png"))
    log("passed: %d pictures, %d plots, sections %s" % (info["imgs"], info["svgs"], ", ".join(info["sections"])))
finally:
    drv.quit()

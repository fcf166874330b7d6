#!/usr/bin/env bash
# report_screenshot.sh — open an analysis report in headless Chromium and save a screenshot.
#
#   tests/report_screenshot.sh REPORT.html [OUT.png] [HEIGHT]
#
# Before the screenshot it checks that the report cannot show a missing picture: every <img src>
# must be an inline data: URI or a file that exists next to the report, and every data: PNG must
# decode (base64 + PNG signature). Exit codes: 0 ok, 1 a missing/broken picture or no screenshot,
# 77 Chromium is not installed (ctest treats 77 as "skipped").
set -euo pipefail

report=${1:?usage: report_screenshot.sh REPORT.html [OUT.png] [HEIGHT]}
out=${2:-${report%.html}.png}
height=${3:-4000}
[[ -f $report ]] || { echo "report_screenshot: $report does not exist" >&2; exit 1; }
report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
dir=$(dirname "$report")

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [[ -z $browser ]]; then
  echo "report_screenshot: SKIPPED — no chromium on PATH (Debian: apt-get install chromium)" >&2
  exit 77
fi

# Every picture reference must resolve (the report is meant to be self-contained).
python_check() {
  /usr/bin/env python3 - "$report" <<'EOF'
import base64, os, re, sys
path = sys.argv[1]
html = open(path, encoding="utf-8").read()
srcs = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
bad = []
for s in srcs:
    if s.startswith("data:image/png;base64,"):
        try:
            raw = base64.b64decode(s.split(",", 1)[1], validate=True)
        except Exception as e:
            bad.append("undecodable data URI (%s)" % e); continue
        if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
            bad.append("data URI is not a PNG")
    elif s.startswith("data:"):
        continue
    else:
        f = os.path.join(os.path.dirname(path), s)
        if not os.path.isfile(f):
            bad.append("missing file " + s)
svgs = html.count("<svg")
print("report_screenshot: %d <img> (%d inline), %d inline <svg>" % (len(srcs), sum(s.startswith("data:") for s in srcs), svgs))
if bad:
    print("report_screenshot: broken pictures:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}
python_check

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --hide-scrollbars --screenshot="$out" --window-size=1280,"$height" "file://$report" >/dev/null 2>&1 || true
if [[ ! -s $out ]]; then
  echo "report_screenshot: chromium wrote no screenshot for $report" >&2
  exit 1
fi
echo "report_screenshot: wrote $out ($(stat -c %s "$out") bytes)"

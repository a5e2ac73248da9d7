#!/usr/bin/env bash
# tools - the screenshots of docs/reports.md: the top of each report as
# headless Chromium shows it, 1100 px wide, saved small (a 256-colour palette,
# 80% scale) as docs/images/report_<name>.png.
#   tools/report_screenshots.sh NAME=REPORT_HTML[@HEIGHT[+TOP]] ...
# HEIGHT: pixels kept (default 1500); TOP: pixels skipped from the top, to
# show a section further down.  e.g. run=outputs/quick/report.html@2400
# classification=outputs/binary/report.html@1700+1370
set -eu
out=$(cd "$(dirname "$0")/.." && pwd)/docs/images
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "$@"; do
  name=${spec%%=*} rest=${spec#*=}
  html=${rest%@*} height=1500 top=0
  [ "$rest" != "$html" ] && height=${rest##*@}
  case $height in *+*) top=${height#*+} height=${height%+*} ;; esac
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile-$name" \
    --window-size=1100,"$((height + top))" --screenshot="$work/$name.png" "file://$(realpath "$html")" 2> /dev/null
  /usr/bin/python3 - "$work/$name.png" "$out/report_$name.png" "$top" <<'PY'
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("RGB")
top = int(sys.argv[3])
img = img.crop((0, top, img.width, img.height))
img = img.resize((int(img.width * 0.8), int(img.height * 0.8)), Image.LANCZOS)
img.quantize(colors=256, method=Image.FASTOCTREE).save(sys.argv[2], optimize=True)
PY
  echo "docs/images/report_$name.png: $(stat -c %s "$out/report_$name.png") bytes"
done

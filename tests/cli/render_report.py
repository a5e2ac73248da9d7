"""Renders a report.html in headless Chromium the way a person opens it
(tests/cli/test_report.sh) and checks what they would get:
  - no console errors and no failed or outside requests: Chromium's log
    (--enable-logging=stderr) has no CONSOLE error and no net:: error, and
    the page's resource timing lists nothing (every picture is inline);
  - every image decoded: a copy of the page with a small inline script first
    in <head> writes, after the load event, each <img>'s natural size and any
    error event into the DOM, which --dump-dom prints;
  - the screenshot is not blank: many distinct colours, and not one colour
    over nearly all pixels.
    render_report.py REPORT_HTML WORK_DIR [SCREENSHOT_OUT]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHECK = """<script>
window.__ieErrors = [];
window.addEventListener('error', function (e) {
  window.__ieErrors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error').slice(0, 120));
}, true);
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {
    images: imgs.length,
    undecoded: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0); })
                   .map(function (i) { return i.alt; }),
    svgs: document.querySelectorAll('svg').length,
    resources: performance.getEntriesByType('resource').map(function (r) { return r.name; }),
    errors: window.__ieErrors,
    height: document.body.scrollHeight
  };
  var pre = document.createElement('pre');
  pre.id = 'ie-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def chromium(args, work, name):
    profile = tempfile.mkdtemp(prefix="profile-", dir=work)  # a fresh profile each time
    try:
        return subprocess.run(["chromium"] + FLAGS + ["--user-data-dir=" + profile] + args, capture_output=True,
                              text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def log_problems(stderr):
    bad = []
    for line in stderr.splitlines():
        if "CONSOLE" in line and ("ERROR" in line or "error" in line.lower()):
            bad.append(line.strip())
        if re.search(r"net::ERR_|Failed to load resource", line):
            bad.append(line.strip())
    return bad


def main():
    report, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    shot = sys.argv[3] if len(sys.argv) > 3 else os.path.join(work, "screenshot.png")
    fails = []
    text = open(report, encoding="utf-8").read()
    probe = os.path.join(work, "probe_" + os.path.basename(os.path.dirname(report)) + ".html")
    if "<head>" not in text:
        fails.append("the page has no <head>")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("<head>", "<head>\n" + CHECK, 1))
    r = chromium(["--virtual-time-budget=10000", "--dump-dom", "file://" + probe], work, "dom")
    m = re.search(r'<pre id="ie-check">(.*?)</pre>', r.stdout, re.S)
    if r.returncode != 0 or not m:
        fails.append("Chromium gave no result (exit %d): %s" % (r.returncode, r.stderr[-2000:]))
    else:
        check = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                           .replace("&gt;", ">"))
        print("page: %d images, %d charts, %d px high, %d requests, %d errors" %
              (check["images"], check["svgs"], check["height"], len(check["resources"]), len(check["errors"])))
        if check["undecoded"]:
            fails.append("images not decoded: %s" % check["undecoded"][:5])
        if check["resources"]:
            fails.append("the page requested files: %s" % check["resources"][:5])
        if check["errors"]:
            fails.append("errors on the page: %s" % check["errors"][:5])
        if check["svgs"] == 0:
            fails.append("no chart on the page")
    fails += ["Chromium logged: " + line for line in log_problems(r.stderr)]
    r = chromium(["--window-size=1200,1600", "--screenshot=" + os.path.abspath(shot), "file://" + report], work,
                 "shot")
    if r.returncode != 0 or not os.path.exists(shot):
        fails.append("no screenshot (exit %d)" % r.returncode)
    else:
        fails += ["Chromium logged: " + line for line in log_problems(r.stderr)]
        try:
            from PIL import Image
            img = Image.open(shot).convert("RGB")
            colours = img.getcolors(maxcolors=1 << 20) or []
            top = max(c for c, _ in colours) if colours else 0
            share = top / (img.width * img.height)
            print("screenshot: %dx%d, %d colours, the commonest on %.0f%% of pixels" %
                  (img.width, img.height, len(colours), 100 * share))
            if len(colours) < 50 or share > 0.985:
                fails.append("the screenshot is blank (%d colours, %.1f%% one colour)" % (len(colours), 100 * share))
        except ImportError:  # without python3-pil: a blank page compresses to a few kB
            size = os.path.getsize(shot)
            print("screenshot: %d bytes" % size)
            if size < 20000:
                fails.append("the screenshot is blank (%d bytes)" % size)
    for f in fails:
        print("FAIL", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

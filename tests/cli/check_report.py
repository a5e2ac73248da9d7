"""Checks that every number a report.html shows is the one in the folder's
own files (tests/cli/test_report.sh):
  - each <table data-file="F">: its header is F's header and each row is one
    of F's rows, cell for cell as the file spells it;
  - the "What ran" facts: the values of run.json;
  - training curves: each series' data-y is train_log.csv's column;
  - box plots: n, quartiles and median are numpy's percentiles of the
    finite values per structure of the split's file (metrics.csv: test,
    val_metrics.csv: validation), and every split file present is shown;
  - ROC / PR titles: the areas of metrics.csv;
  - the comparison's B-against-A plots: compare_subjects.csv's a and b.
    check_report.py REPORT_HTML FOLDER [FILES_FOLDER]
FILES_FOLDER: where the tables' files are when not in FOLDER (a
cross-validation's ensemble/).  Prints what it checked; exits 1 on a
disagreement."""
import csv
import json
import os
import re
import sys
from html.parser import HTMLParser

import numpy as np


class Page(HTMLParser):
    """Tables (by data-file), facts, plots and their series, boxes."""

    def __init__(self):
        super().__init__()
        self.tables, self.plots, self.boxes = [], [], []
        self.table = self.row = self.cell = None
        self.plot = None
        self.svg_depth = 0  # a plot's <svg> holds an inner one (the clipped plot area)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and self.plot is not None:
            self.svg_depth += 1
        if tag == "table":
            self.table = {"file": a.get("data-file"), "rows": []}
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "svg" and "data-plot" in a:
            self.plot = {"id": a["data-plot"], "series": [], "title": "", "height": float(a.get("height", 0)),
                         "frame": None, "legend": []}
            self.plots.append(self.plot)
        elif tag == "rect" and self.plot is not None and self.plot["frame"] is None:
            self.plot["frame"] = float(a["y"]) + float(a["height"])  # the plot area's bottom edge
        elif tag == "text" and "data-legend" in a and self.plot is not None:
            self.plot["legend"].append(float(a["y"]))
        elif tag == "g" and a.get("class") == "series" and self.plot is not None:
            self.plot["series"].append(a)
        elif tag == "g" and a.get("class") == "box" and self.plot is not None:
            self.boxes.append((self.plot["id"], a))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.table["rows"].append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            self.tables.append(self.table)
            self.table = None
        elif tag == "svg" and self.svg_depth > 0:
            self.svg_depth -= 1
        elif tag == "svg":
            self.plot = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def numbers(text):
    return [float(v) for v in text.split()] if text else []


def close(a, b):
    if (np.isnan(a) and np.isnan(b)) or a == b:  # a == b: equal infinities
        return True
    return abs(a - b) <= 1e-8 * max(1.0, abs(b))  # the page writes %.9g


def main():
    html_path, folder = sys.argv[1], sys.argv[2]
    files = sys.argv[3] if len(sys.argv) > 3 else folder
    page = Page()
    html_text = open(html_path, encoding="utf-8").read()
    page.feed(html_text)
    fails, checked = [], 0

    def read_csv(name):
        for d in (files, folder):
            p = os.path.join(d, name)
            if os.path.exists(p):
                with open(p, newline="") as f:
                    return list(csv.reader(f))
        return None

    for t in page.tables:
        name = t["file"]
        if not name or name.endswith(".json"):
            continue
        rows = read_csv(name)
        if rows is None:
            fails.append("table of %s: no such file" % name)
            continue
        if not t["rows"]:
            continue
        header, body = t["rows"][0], t["rows"][1:]
        if name == "confusion_matrix.csv":
            continue  # pivoted: checked through predictions below
        if header != rows[0]:
            fails.append("table of %s: header %s, file %s" % (name, header, rows[0]))
        file_rows = set(tuple(r) for r in rows[1:])
        for r in body:
            checked += 1
            if tuple(r) not in file_rows:
                fails.append("table of %s: row %s is not in the file" % (name, r))

    record_path = os.path.join(folder, "run.json")
    if os.path.exists(record_path):
        record = json.load(open(record_path))
        facts = {}
        for t in page.tables:
            if t["file"] == "run.json":
                facts = {r[0]: r[1] for r in t["rows"] if len(r) == 2}
        for label, path in (("status", "status"), ("plugin SHA-256", "plugin.sha256"), ("seed", "seed"),
                            ("commit", "code.git_commit"), ("dataset SHA-256", "data.dataset_csv_sha256"),
                            ("CPU path", "machine.cpu_path"), ("model", "plugin.name")):
            v = record
            for k in path.split("."):
                v = v.get(k) if isinstance(v, dict) else None
            if v is None:
                continue
            checked += 1
            if facts.get(label) != str(v):
                fails.append("what ran: %s shows %r, run.json has %r" % (label, facts.get(label), v))

    log = read_csv("train_log.csv")
    if log:
        cols = {name: [float(r[i]) if r[i] not in ("", "nan") else float("nan") for r in log[1:]]
                for i, name in enumerate(log[0])}
        for p in page.plots:
            if not p["id"].startswith("curve:"):
                continue
            for s in p["series"]:
                name = s.get("data-name")
                if name not in cols:
                    fails.append("curve %s: series %s is not a train_log.csv column" % (p["id"], name))
                    continue
                got, want = numbers(s.get("data-y")), cols[name]
                checked += 1
                if len(got) != len(want) or not all(close(a, b) for a, b in zip(got, want)):
                    fails.append("curve %s: %s %s, train_log.csv %s" % (p["id"], name, got, want))
                if numbers(s.get("data-x")) != cols["epoch"]:
                    fails.append("curve %s: epochs differ from train_log.csv" % p["id"])

    metrics = read_csv("metrics.csv")
    if metrics and "Patient" in metrics[0]:
        # Each box names the file its values are from (data-file: metrics.csv
        # for the test split, val_metrics.csv for the validation split) and the
        # structure (data-key); every split file present must have its boxes.
        seen = set()
        for plot_id, box in page.boxes:
            column = plot_id.split(":", 1)[1]
            name, label = box.get("data-file"), box.get("data-key")
            rows = read_csv(name) if name else None
            if rows is None:
                fails.append("box %s %s: data-file %r is not a file of the folder" % (column, label, name))
                continue
            seen.add(name)
            h = rows[0]
            values = [float(r[h.index(column)]) for r in rows[1:] if r[h.index("Structure")] == label]
            finite = np.array([v for v in values if np.isfinite(v)])
            checked += 1
            if not values:
                fails.append("box %s %s: %s has no rows of that structure" % (column, label, name))
                continue
            if int(box["data-n"]) != len(finite) or int(box["data-inf"]) != sum(np.isinf(values)):
                fails.append("box %s %s (%s): n %s inf %s, file %d finite" % (column, label, name, box["data-n"],
                                                                             box["data-inf"], len(finite)))
                continue
            for key, q in (("data-q1", 25), ("data-median", 50), ("data-q3", 75)):
                if not close(float(box[key]), float(np.percentile(finite, q))):
                    fails.append("box %s %s (%s): %s %s, numpy %r" % (column, label, name, key, box[key],
                                                                      np.percentile(finite, q)))
        for name in ("metrics.csv", "val_metrics.csv"):
            if read_csv(name) is not None and name not in seen:
                fails.append("%s is in the folder but no box plot shows it" % name)
    elif metrics and "metric" in metrics[0]:
        h = metrics[0]
        for p in page.plots:
            m = re.match(r"(roc|pr):([^:]*):(.*)$", p["id"])
            if not m:
                continue
            name = "area_under_roc_curve" if m.group(1) == "roc" else "area_under_pr_curve"
            want = [r[h.index("value")] for r in metrics[1:]
                    if r[h.index("split")] == m.group(2) and r[h.index("target")] == m.group(3)
                    and r[h.index("metric")] == name]
            checked += 1
            shown = "AU%s %s" % ("ROC" if m.group(1) == "roc" else "PRC", want[0] if want else "?")
            if not want or shown not in html_text:
                fails.append("%s: the page does not show metrics.csv's %s %s" % (p["id"], name, want))

    # The comparison section: each B-against-A plot's points are
    # compare_subjects.csv's a and b of that structure and metric.
    subject_files = [t["file"] for t in page.tables if t["file"] and t["file"].endswith("compare_subjects.csv")]
    subject_file = subject_files[0] if subject_files else \
        next((n for n in ("compare_subjects.csv", "comparison/compare_subjects.csv") if read_csv(n)), None)
    for p in page.plots:
        m = re.match(r"compare:([^:]*):(.*)$", p["id"])
        if not m:
            continue
        rows = read_csv(subject_file) if subject_file else None
        if rows is None:
            fails.append("%s: no compare_subjects.csv beside the page" % p["id"])
            continue
        h = rows[0]
        pick = [r for r in rows[1:] if r[h.index("structure")] == m.group(1) and r[h.index("metric")] == m.group(2)]
        want_x = [float(r[h.index("a")]) for r in pick]
        want_y = [float(r[h.index("b")]) for r in pick]
        for s in p["series"]:
            got_x, got_y = numbers(s.get("data-x")), numbers(s.get("data-y"))
            checked += 1
            if len(got_x) != len(want_x) or not all(close(a, b) for a, b in zip(got_x + got_y, want_x + want_y)):
                fails.append("%s: points %s %s, %s has %s %s" % (p["id"], got_x, got_y, subject_file, want_x, want_y))

    # Legends sit below the plot area and its axis label (report.html used to
    # draw them over the curves), inside the chart.
    for p in page.plots:
        for y in p["legend"]:
            checked += 1
            if p["frame"] is None or y < p["frame"] + 30 or y > p["height"]:
                fails.append("%s: a legend entry at y %g is not below the plot area (bottom %s) and its axis label, "
                             "inside the chart (height %g)" % (p["id"], y, p["frame"], p["height"]))

    for f in fails:
        print("FAIL", f)
    print("%d values checked against the folder's files, %d disagreements" % (checked, len(fails)))
    if checked == 0:
        print("FAIL nothing was checked")
        return 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

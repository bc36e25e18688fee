#!/usr/bin/env python3
"""Checks a Lantern HTML report (ReportHTML.render) in a real browser: headless Chromium via Selenium.

    .venv-browser/bin/python scripts/check_report_html.py REPORT.html [--screenshot out.png]

For every expected chart id it checks, as rendered by the browser:
  * an <svg class="chart"> with that id exists, is displayed, and is wider and taller than 50 px;
  * it has a <title>, and an integer data-points attribute;
  * at least data-points data marks are rendered: elements path/circle/rect/polyline of class
    "mark" whose getBoundingClientRect() has a non-zero width and height (legend swatches and axes
    are not marks);
  * a chart with data-points > 0 has tick labels (at least two <text> elements besides the marks'
    titles), and one with data-points = 0 says "no data";
  * no geometry attribute of the chart holds NaN or Infinity.

Prints a JSON summary on stdout: {"charts": {id: {"width", "height", "marks", "dataPoints"}}, "title": ...}.
Exits 1, with one line per problem on stderr, when any check fails (2 for bad usage).

Build the venv with scripts/browser-env.sh (it also installs Debian's chromium and chromium-driver).
Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
"""
import argparse
import json
import os
import sys
from pathlib import Path

CHART_IDS = ["chart-requests", "chart-ttft", "chart-ttft-rows", "chart-cost", "chart-finish"]

# Runs in the page: what the browser rendered for one chart (null when the id is missing).
MEASURE_JS = r"""
const svg = document.getElementById(arguments[0]);
if (!svg) return null;
const box = svg.getBoundingClientRect();
const visible = e => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
const marks = Array.from(svg.querySelectorAll('path.mark, circle.mark, rect.mark, polyline.mark')).filter(visible).length;
const texts = Array.from(svg.querySelectorAll('text')).filter(visible).map(t => t.textContent.trim());
const geometry = ['x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'width', 'height', 'points', 'd', 'viewBox'];
const bad = [];
for (const e of [svg, ...svg.querySelectorAll('*')]) {
  for (const a of geometry) {
    const v = e.getAttribute(a);
    if (v !== null && /nan|inf/i.test(v)) bad.push(e.tagName + '[' + a + '="' + v + '"]');
  }
}
const title = Array.from(svg.children).find(c => c.tagName.toLowerCase() === 'title');
return {
  tag: svg.tagName.toLowerCase(),
  isChart: svg.classList.contains('chart'),
  width: box.width, height: box.height,
  dataPoints: svg.getAttribute('data-points'),
  marks: marks, texts: texts, badGeometry: bad.slice(0, 5),
  title: title ? title.textContent : null,
};
"""


def make_driver():
    # Imported here so that `--help` works without the venv.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    chromedriver = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    for path in (chromium, chromedriver):
        if not os.access(path, os.X_OK):
            sys.exit(f"error: {path} is missing: run scripts/browser-env.sh (installs chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1024",
                "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager stays out of it (it would try to download a driver).
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def check_chart(chart_id, m):
    """Problems with one measured chart (empty when it is fine)."""
    if m is None:
        return [f"{chart_id}: no element with this id"]
    problems = []
    if m["tag"] != "svg" or not m["isChart"]:
        problems.append(f"{chart_id}: is <{m['tag']}>, not <svg class=\"chart\">")
    if not (m["width"] > 50 and m["height"] > 50):
        problems.append(f"{chart_id}: rendered {m['width']:.0f}x{m['height']:.0f} px, want both > 50")
    if not m["title"]:
        problems.append(f"{chart_id}: no <title>")
    try:
        points = int(m["dataPoints"])
    except (TypeError, ValueError):
        problems.append(f"{chart_id}: data-points is {m['dataPoints']!r}, not an integer")
        points = 0
    if m["marks"] < points:
        problems.append(f"{chart_id}: {m['marks']} marks rendered with a non-zero box, data-points says {points}")
    if points > 0 and len(m["texts"]) < 2:
        problems.append(f"{chart_id}: no tick labels ({len(m['texts'])} text elements)")
    if points == 0 and "no data" not in m["texts"]:
        problems.append(f"{chart_id}: data-points is 0 but the chart does not say \"no data\"")
    if m["badGeometry"]:
        problems.append(f"{chart_id}: NaN or infinite geometry: {', '.join(m['badGeometry'])}")
    return problems


def main():
    ap = argparse.ArgumentParser(description="Check a Lantern HTML report in headless Chromium.")
    ap.add_argument("html", help="the report's HTML file")
    ap.add_argument("--charts", default=",".join(CHART_IDS), help="comma-separated chart ids to expect (default: all five)")
    ap.add_argument("--screenshot", metavar="PNG", help="also save a full-page screenshot")
    args = ap.parse_args()

    path = Path(args.html).resolve()
    if not path.is_file():
        sys.exit(f"error: {path} is not a file")
    try:
        import selenium  # noqa: F401
    except ImportError:
        sys.exit("error: selenium is not installed for this Python: run scripts/browser-env.sh and use .venv-browser/bin/python")

    summary = {"charts": {}, "title": None}
    problems = []
    driver = make_driver()
    try:
        driver.set_page_load_timeout(60)
        driver.get(path.as_uri())
        summary["title"] = driver.title
        for chart_id in [c for c in args.charts.split(",") if c]:
            m = driver.execute_script(MEASURE_JS, chart_id)
            problems += check_chart(chart_id, m)
            if m is not None:
                try:
                    points = int(m["dataPoints"])
                except (TypeError, ValueError):
                    points = None
                summary["charts"][chart_id] = {"width": round(m["width"], 1), "height": round(m["height"], 1),
                                               "marks": m["marks"], "dataPoints": points}
        if args.screenshot:
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, max(600, min(int(height) + 40, 16000)))
            if not driver.save_screenshot(str(Path(args.screenshot).resolve())):
                problems.append(f"could not write the screenshot {args.screenshot}")
    finally:
        driver.quit()

    print(json.dumps(summary, indent=2, sort_keys=True))
    if problems:
        print(f"FAIL: {path}", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

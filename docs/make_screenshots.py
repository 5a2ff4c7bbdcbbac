"""Screenshots of a scoring run's report for the docs (headless Chromium via playwright).

    .venv/bin/python docs/make_screenshots.py data/retention/report.html docs/report.png [--owner AM-01]

Opens the report as a manager would: the list filtered to one owner's customers to contact this week.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--owner", default=None, help="show this owner's week in the list")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(args.report.resolve().as_uri())
        page.wait_for_selector("#list-body tr")
        if args.owner:
            page.select_option("#filter-owner", args.owner)
        page.screenshot(path=str(args.png), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()

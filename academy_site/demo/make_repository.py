# ruff: noqa: E501 (the commits' file contents are kept as they would be written)
"""Rebuild demo-repository.bundle: the small git history the demo workspace mines.

    python academy_site/demo/make_repository.py

A maintenance script, never run by the app (the app only clones the bundle, through
curation.gitrepo). Each step below is one commit of a little stock-report tool, with a
message that says what changed and why, as an agent's commits would. Author, committer
and dates are fixed, so the same steps give the same commits.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
BUNDLE = HERE / "demo-repository.bundle"
AUTHOR = ("Demo Agent", "agent@demo.invalid")

INVENTORY_V1 = '''"""Stock levels read from a CSV file (name,quantity,price)."""

import csv


def load(path):
    with open(path, newline="") as handle:
        return [{"name": row["name"], "quantity": int(row["quantity"]), "price": float(row["price"])}
                for row in csv.DictReader(handle)]


def total_value(items):
    return sum(item["quantity"] * item["price"] for item in items)
'''

INVENTORY_V2 = INVENTORY_V1.replace('''def load(path):
    with open(path, newline="") as handle:''', '''class InventoryError(Exception):
    """A problem with the stock file, in words a person can act on."""


def load(path):
    try:
        handle = open(path, newline="")
    except FileNotFoundError:
        raise InventoryError(f"no stock file at {path}: export it from the shop first") from None
    with handle:''')

INVENTORY_V3 = INVENTORY_V2.replace('''        return [{"name": row["name"], "quantity": int(row["quantity"]), "price": float(row["price"])}
                for row in csv.DictReader(handle)]


def total_value(items):
    return sum(item["quantity"] * item["price"] for item in items)
''', '''        return [{"name": row["name"], "quantity": int(row["quantity"]), "price": _price(row["price"])}
                for row in csv.DictReader(handle)]


def _price(text):
    """A missing price counts as zero instead of failing the whole report."""
    return float(text) if text.strip() else 0.0


def total_value(items):
    return sum(item["quantity"] * item["price"] for item in items)
''')

INVENTORY_V4 = INVENTORY_V3.replace('''    with handle:
        return [{"name": row["name"], "quantity": int(row["quantity"]), "price": _price(row["price"])}
                for row in csv.DictReader(handle)]
''', '''    with handle:
        return parse(handle)


def parse(lines):
    """Items from CSV lines with a header row; kept apart from load() so tests need no file."""
    return [{"name": row["name"], "quantity": int(row["quantity"]), "price": _price(row["price"])}
            for row in csv.DictReader(lines)]
''')

INVENTORY_V5 = INVENTORY_V4 + '''

def low_stock(items, threshold):
    """Items below the threshold, the emptiest first."""
    return sorted((item for item in items if item["quantity"] < threshold), key=lambda item: item["quantity"])
'''

REPORT_V1 = '''"""python report.py STOCK.csv: print the items that run low."""

import sys

import inventory

THRESHOLD = 5


def main(argv):
    items = inventory.load(argv[1])
    for item in items:
        if item["quantity"] < THRESHOLD:
            print(f"{item['name']}: {item['quantity']} left")
    print(f"stock value: {inventory.total_value(items)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

REPORT_V2 = REPORT_V1.replace('''import sys

import inventory

THRESHOLD = 5
''', '''import os
import sys

import inventory

THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD", "5"))
''')

REPORT_V3 = REPORT_V2.replace('''    items = inventory.load(argv[1])
    for item in items:
        if item["quantity"] < THRESHOLD:
            print(f"{item['name']}: {item['quantity']} left")
''', '''    items = inventory.load(argv[1])
    for item in inventory.low_stock(items, THRESHOLD):
        print(f"{item['name']}: {item['quantity']} left")
''')

REPORT_V4 = REPORT_V3.replace('''    print(f"stock value: {inventory.total_value(items)}")''',
                              '''    print(f"stock value: {inventory.total_value(items):.2f}")''')

REPORT_V5 = REPORT_V4.replace('''def main(argv):
    items = inventory.load(argv[1])
''', '''def main(argv):
    if len(argv) != 2:
        print("usage: python report.py STOCK.csv", file=sys.stderr)
        return 2
    try:
        items = inventory.load(argv[1])
    except inventory.InventoryError as problem:
        print(problem, file=sys.stderr)
        return 1
''')

TESTS_V1 = '''import io

import inventory


def test_total_value_multiplies_quantity_by_price():
    items = [{"name": "nails", "quantity": 10, "price": 0.5}, {"name": "glue", "quantity": 2, "price": 3.0}]
    assert inventory.total_value(items) == 11.0
'''

TESTS_V2 = TESTS_V1 + '''

def test_a_missing_price_counts_as_zero():
    items = inventory.parse(io.StringIO("name,quantity,price\\nnails,10,\\n"))
    assert items == [{"name": "nails", "quantity": 10, "price": 0.0}]


def test_low_stock_lists_the_emptiest_first():
    items = [{"name": "a", "quantity": 3, "price": 1}, {"name": "b", "quantity": 1, "price": 1},
             {"name": "c", "quantity": 9, "price": 1}]
    assert [item["name"] for item in inventory.low_stock(items, 5)] == ["b", "a"]
'''

README = '''# stock-report

Prints the items of a shop's stock export that run low, and the stock's value.

    python report.py stock.csv
    LOW_STOCK_THRESHOLD=10 python report.py stock.csv

The CSV has a header row `name,quantity,price`; an empty price counts as zero.
Run the tests with `python -m pytest`.
'''

STEPS = [
    ("Add an inventory module that reads stock levels from a CSV export\n\n"
     "load() returns one dict per row; total_value() sums quantity times price.",
     {"inventory.py": INVENTORY_V1}),
    ("Add a report script that prints the items running low\n\n"
     "Anything under five left is listed, then the stock's value.",
     {"report.py": REPORT_V1}),
    ("Add a test for the stock value", {"test_inventory.py": TESTS_V1}),
    ("Say what to do when the stock file is missing instead of a traceback\n\n"
     "load() raises InventoryError naming the path and the fix.",
     {"inventory.py": INVENTORY_V2}),
    ("Count a missing price as zero instead of failing the whole report\n\n"
     "Exports from the shop leave the price empty for items never sold.",
     {"inventory.py": INVENTORY_V3}),
    ("Read the low-stock threshold from LOW_STOCK_THRESHOLD\n\n"
     "Shops with bulk items need a higher limit than five.",
     {"report.py": REPORT_V2}),
    ("Move CSV parsing into parse() so tests need no file on disk", {"inventory.py": INVENTORY_V4}),
    ("List low-stock items emptiest first\n\n"
     "The item that runs out soonest should be the first one a person reads.",
     {"inventory.py": INVENTORY_V5, "report.py": REPORT_V3, "test_inventory.py": TESTS_V2}),
    ("Print the stock value with two decimals", {"report.py": REPORT_V4}),
    ("Show usage and the stock file error on stderr with an exit status\n\n"
     "A wrong argument or a missing file no longer ends in a traceback.",
     {"report.py": REPORT_V5}),
    ("Explain how to run the report and its threshold in a README", {"README.md": README}),
]


def _git(repository: pathlib.Path, *args: str, date: str = "") -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repository), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1], "GIT_COMMITTER_NAME": AUTHOR[0],
           "GIT_COMMITTER_EMAIL": AUTHOR[1], "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=repository, env=env, check=True, capture_output=True)


def build(bundle: pathlib.Path = BUNDLE) -> pathlib.Path:
    with tempfile.TemporaryDirectory() as scratch:
        repository = pathlib.Path(scratch) / "stock-report"
        repository.mkdir()
        _git(repository, "init", "--quiet", "--initial-branch=main")
        for day, (message, files) in enumerate(STEPS, start=1):
            for name, text in files.items():
                (repository / name).write_text(text)
            _git(repository, "add", *files)
            _git(repository, "commit", "--quiet", "-m", message, date=f"2026-09-{day:02d}T10:00:00+00:00")
        _git(repository, "bundle", "create", str(bundle), "main")
    return bundle


if __name__ == "__main__":
    print(build(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else BUNDLE))

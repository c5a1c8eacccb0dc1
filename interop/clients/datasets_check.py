"""Hugging Face datasets: ``load_dataset(folder, <table>)`` for every table (offline).

``python datasets_check.py FOLDER EXPECTED_JSON``; one line per problem, exit 1 on any.
"""

import json
import sys
from pathlib import Path

from datasets import load_dataset

folder, expected = Path(sys.argv[1]), json.loads(sys.argv[2])
problems = []
for table, rows in expected["rows"].items():
    try:
        data = load_dataset(str(folder), table, split="train")
    except Exception as exc:
        problems.append(f"README.md: load_dataset(folder, {table!r}) fails: {exc}")
        continue
    if data.num_rows != rows:
        problems.append(f"README.md: config {table} gives {data.num_rows} rows, not {rows}")
    if data.column_names != expected["columns"][table]:
        problems.append(f"README.md: config {table} gives columns {data.column_names}")
for line in problems:
    print(line, file=sys.stderr)
print(f"loaded {len(expected['rows'])} configs")
sys.exit(1 if problems else 0)

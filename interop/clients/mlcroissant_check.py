"""mlcroissant: validate croissant.json and load every RecordSet.

``python mlcroissant_check.py FOLDER EXPECTED_JSON``; one line per problem, exit 1 on any.
"""

import json
import sys
from pathlib import Path

import mlcroissant as mlc

folder, expected = Path(sys.argv[1]), json.loads(sys.argv[2])
problems = []
try:
    dataset = mlc.Dataset(str(folder / "croissant.json"))
except Exception as exc:  # mlcroissant raises ValidationError with every problem
    print(f"croissant.json: {exc}", file=sys.stderr)
    sys.exit(1)
for table, rows in expected["rows"].items():
    try:
        records = list(dataset.records(table))
    except Exception as exc:
        problems.append(f"croissant.json: RecordSet {table} cannot be loaded: {exc}")
        continue
    if len(records) != rows:
        problems.append(f"croissant.json: RecordSet {table} has {len(records)} records, not {rows}")
    keys = [r.get(f"{table}/{expected['keys'][table]}") for r in records]
    if any(k is None for k in keys) or len(set(keys)) != len(keys):
        problems.append(f"croissant.json: RecordSet {table} keys are missing or repeated")
for line in problems:
    print(line, file=sys.stderr)
print(f"loaded {len(expected['rows'])} RecordSets")
sys.exit(1 if problems else 0)

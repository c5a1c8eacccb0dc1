"""frictionless (with its Parquet extra and pandas): validate the descriptor and every resource.

Run by interop/run.py with the client's own Python: ``python frictionless_check.py FOLDER
EXPECTED_JSON``. Prints one line per problem (``<file>: <problem>``) and exits 1 on any.
"""

import json
import sys
from pathlib import Path

from frictionless import validate

folder, expected = Path(sys.argv[1]), json.loads(sys.argv[2])
problems = []
report = validate(str(folder / "datapackage.json"))
for error in report.errors:
    problems.append(f"datapackage.json: {error.message}")
seen = {}
for task in report.tasks:
    where = task.place or task.name
    for error in task.errors:
        problems.append(f"{where}: {error.message}")
    seen[task.name] = task.stats.get("rows")
for table, rows in expected["rows"].items():
    for name in (table, f"{table}_csv"):
        if seen.get(name) != rows:
            problems.append(
                f"datapackage.json: resource {name} read {seen.get(name)} rows, not {rows}"
            )
for line in problems:
    print(line, file=sys.stderr)
print(f"validated {len(report.tasks)} resources, {sum(v or 0 for v in seen.values())} rows")
sys.exit(1 if problems else 0)

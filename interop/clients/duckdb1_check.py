"""DuckDB 1.x: open the release's .duckdb, run the card's queries, build a database from
load.sql with the DuckDB 1.x CLI and compare it with the Parquet files and the .duckdb.

``python duckdb1_check.py RELEASE UNZIPPED CLI WORK EXPECTED_JSON``: RELEASE is the release
folder (with the .duckdb), UNZIPPED the zip's copy (load.sql is run there), CLI the ``duckdb``
executable, WORK a scratch folder. One line per problem, exit 1 on any.
"""

import json
import subprocess
import sys
from pathlib import Path

import duckdb

release, unzipped, cli, work = (Path(a) for a in sys.argv[1:5])
expected = json.loads(sys.argv[5])
problems = []
if not duckdb.__version__.startswith("1."):
    problems.append(f"duckdb {duckdb.__version__} is not 1.x")
db_name = expected["duckdb"]

CATALOGUE = (
    "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal ORDER BY ALL",
    "SELECT table_name, column_name, data_type, is_nullable, comment FROM duckdb_columns() "
    "WHERE NOT internal ORDER BY table_name, column_index",
    "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() "
    "WHERE database_name = current_database() ORDER BY ALL",
)


def catalogue(con):
    return [con.execute(sql).fetchall() for sql in CATALOGUE]


try:
    con = duckdb.connect(str(release / db_name), read_only=True)
except duckdb.Error as exc:
    print(f"{db_name}: DuckDB {duckdb.__version__} cannot open it: {exc}", file=sys.stderr)
    sys.exit(1)
built = catalogue(con)
for table, rows in expected["rows"].items():
    (n,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    if n != rows:
        problems.append(f"{db_name}: {table} has {n} rows, not {rows}")
if any(comment is None for *_, comment in built[1]):
    problems.append(f"{db_name}: a column has no comment")
con.close()
# The card's queries, as a reader runs them: the DuckDB CLI in the release folder (they read
# data/<table>.parquet), and the database itself (fetching TIMESTAMPTZ values in Python would
# need pytz, which the duckdb package does not install).
for title, sql in [*expected["queries"], ["the database", "SELECT * FROM claims;"]]:
    target = [str(release / db_name), "-readonly"] if title == "the database" else []
    run = subprocess.run([str(cli), *target, "-c", sql], cwd=release, capture_output=True)
    if run.returncode != 0 or run.stderr.strip():
        problems.append(f"README.md: query {title!r} fails: {run.stderr.decode().strip()[:300]}")

work.mkdir(parents=True, exist_ok=True)
mine = work / "from-load-sql.duckdb"
mine.unlink(missing_ok=True)
with (unzipped / "load.sql").open("rb") as script:
    run = subprocess.run([str(cli), str(mine)], stdin=script, cwd=unzipped, capture_output=True)
if run.returncode != 0 or run.stderr.strip():
    problems.append(f"load.sql: the DuckDB CLI fails: {run.stderr.decode().strip()[:500]}")
else:
    con = duckdb.connect(str(mine), read_only=True)
    if catalogue(con) != built:
        problems.append(f"load.sql: comments, columns or constraints differ from {db_name}")
    for table in expected["rows"]:
        parquet = f"read_parquet('{unzipped / 'data' / (table + '.parquet')}')"
        for a, b in ((f'"{table}"', parquet), (parquet, f'"{table}"')):
            (n,) = con.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchone()
            if n:
                problems.append(f"load.sql: {n} rows of {a} are not in {b}")
    con.close()
for line in problems:
    print(line, file=sys.stderr)
print(
    f"duckdb {duckdb.__version__}: opened {db_name}, ran {len(expected['queries'])} queries, "
    "built from load.sql"
)
sys.exit(1 if problems else 0)

#!/usr/bin/env python3
"""Runs README.md's examples against the test cluster and checks what they
print: the psql session of "Getting started", the Python example (twice),
irp_batch_setup()'s answer shown in "Installation", and the steps of
docs/adoption.md ("Adopting an existing IRP database", section "Steps") on the
fixture database (the report lists exactly what the install refuses).
Connects through libpq's environment (PGHOST, PGPORT, PGUSER); prints TAP."""
import contextlib
import io
import os
import re
import subprocess
import sys

import psycopg

from invariants import report

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
ADOPTION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "adoption.md")
# make demo plays the pg_regress scenario, whose notebook role gets README's grants.
SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql", "scenario.sql")
DATABASE = "irp_batch_readme"

results = []


def check(ok, description, got=None):
    results.append((bool(ok), description, got))


def run_example(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    return out.getvalue().splitlines()


def fresh_database():
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")


def check_psql_session(readme):
    """The "Getting started" psql block: one refusal, then the cancel succeeds."""
    section = readme[readme.index("## Getting started"):]
    block = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    fresh_database()
    out = subprocess.run(["psql", "-X", "-d", DATABASE, "-v", "ON_ERROR_STOP=0"], input=block,
                         capture_output=True, text=True)
    errors = [line for line in out.stderr.splitlines() if "ERROR:" in line]
    check(len(errors) == 1 and "Active batch already exists for configuration 42" in errors[0],
          "Getting started: the re-run is the only error", errors)
    check(re.search(r"irp_cancel_batch\s*\n-+\n\s*t\n", out.stdout),
          "Getting started: the cancel returns true", out.stdout[-300:])


def check_adoption(adoption):
    """docs/adoption.md, "Steps": the report, the fix and the install, as written."""
    section = adoption[adoption.index("\n## Steps\n"):]
    report, resolve, install = re.findall(r"```sql\n(.*?)```", section, re.S)[:3]
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    fresh_database()
    for name in ("init_database.sql", "irp_data.sql"):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DATABASE, "-f",
                        os.path.join(fixtures, name)], check=True, capture_output=True)
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        # Step 03 run again, and a third time: ids 13, 14 and 15.
        conn.execute("INSERT INTO irp_batch (step_id, configuration_id, batch_type, status) VALUES"
                     " (2, 2, 'EDM_CREATION', 'INITIATED'), (2, 2, 'PORTFOLIO_CREATION', 'INITIATED'),"
                     " (2, 2, 'PORTFOLIO_CREATION', 'ACTIVE')")
        rows = conn.execute(report).fetchall()
        check([(r[0], r[1], r[2]) for r in rows] == [(2, "EDM_CREATION", 2), (2, "PORTFOLIO_CREATION", 3)],
              "Adopting: the report lists both keys with duplicates", rows)
        reported = sorted(int(i) for r in rows for i in re.findall(r"(\d+) \(", r[3]))
        try:
            conn.execute(install)
            check(False, "Adopting: CREATE EXTENSION refuses the duplicates")
        except psycopg.errors.UniqueViolation as e:
            check(e.diag.message_hint.endswith("WHERE id IN (13, 14, 15);"),
                  "Adopting: the refusal's hint gives the cancelling UPDATE", e.diag.message_hint)
            refused = sorted(int(i) for i in re.findall(r"batch (\d+) \(", e.diag.message_detail))
            check(reported == refused, "Adopting: the report lists exactly the batches the install refuses",
                  (reported, refused))
        check(conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'irp_batch'").fetchone()[0] == 0
              and conn.execute("SELECT to_regclass('irp_batch_event')").fetchone()[0] is None,
              "Adopting: the refused install changed nothing")
        conn.execute(resolve)
        check(conn.execute(report).fetchall() == [], "Adopting: after step 3 the report is empty")
        conn.execute(install)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'irp_batch'").fetchone()
        check(version is not None, "Adopting: step 4 installs the extension", version)
        members = conn.execute("SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"
                               " WHERE e.extname = 'irp_batch' AND d.deptype = 'e'"
                               " AND d.classid IN ('pg_class'::regclass, 'pg_type'::regclass)").fetchone()[0]
        check(members == 0, "Adopting: the tables, sequences and enums stay the database's", members)
        try:
            conn.execute("SELECT irp_create_batch('EDM_CREATION', 2, 2)")
            check(False, "Adopting: the adopted database refuses a duplicate")
        except psycopg.errors.UniqueViolation:
            check(True, "Adopting: the adopted database refuses a duplicate")
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {DATABASE}")


def check_scenario_grants(readme):
    """make demo's role (alice in sql/scenario.sql) has exactly the grants of README's Privileges."""
    section = readme.split("### Privileges", 1)[1]
    block = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    recipe = [line.replace("irp_app", "alice") for line in block.splitlines() if line.startswith("GRANT")]
    scenario = [line for line in open(SCENARIO).read().splitlines() if line.startswith("GRANT")]
    check(recipe and scenario == recipe, "make demo's notebook role gets exactly README's Privileges grants",
          {"README": recipe, "sql/scenario.sql": scenario})


def main():
    readme = open(README).read()
    check_psql_session(readme)
    check_scenario_grants(readme)
    check_adoption(open(ADOPTION).read())
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    check('psycopg.connect("dbname=irp")' in block, "the example connects with psycopg.connect(\"dbname=irp\")")
    code = block.replace('psycopg.connect("dbname=irp")', f'psycopg.connect("dbname={DATABASE}")')

    fresh_database()
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION irp_batch")
        shown = re.search(r"^SELECT irp_batch_setup\(\);\s+-- (.*)$", readme, re.M).group(1)
        answer = conn.execute("SELECT irp_batch_setup()").fetchone()[0]
        check(answer == shown, "Installation: irp_batch_setup() after CREATE EXTENSION answers as shown", answer)

    first = run_example(code)
    check(first == [], "first run creates the batch and prints nothing", first)
    second = run_example(code)
    check(len(second) == 3, "second run prints the error's three texts", second)
    if len(second) == 3:
        check(re.fullmatch(r"Active batch already exists for configuration 42 and batch_type "
                           r"'EDM_CREATION': Batch ID 1 \(status: INITIATED\)", second[0]),
              "message_primary names the existing batch", second[0])
        check(re.fullmatch(r"Batch 1 was created at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d by \S+ and has 1 job\.",
                           second[1]), "message_detail gives time, creator and job count", second[1])
        check(second[2].startswith("Use irp_create_batch(..., allow_duplicate => true)"),
              "message_hint gives both ways out", second[2])

    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        try:
            conn.execute("SELECT irp_create_batch('EDM_CREATION', 42, 3)")
            check(False, "the duplicate is refused")
        except psycopg.errors.UniqueViolation as e:
            d = e.diag
            check(d.sqlstate == "23505", "diag.sqlstate is 23505", d.sqlstate)
            check((d.schema_name, d.table_name, d.constraint_name) == ("public", "irp_batch", "idx_batch_unique_active"),
                  "diag names schema, table and constraint", (d.schema_name, d.table_name, d.constraint_name))
        count = conn.execute("SELECT count(*) FROM irp_batch").fetchone()[0]
        check(count == 1, "one batch in the end", count)

    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {DATABASE}")

    return report(results)


if __name__ == "__main__":
    sys.exit(main())

"""The invariants every concurrency check ends with (stress.py, outside_load.py,
upsert_race.py), and how the Python drivers in test/ print their checks as
TAP (also readme.py and error_origin.py).

Each check is (passed, description, detail).
"""


def key_invariants(conn):
    """The guard's promises over whatever the clients did, read from conn."""
    checks = []
    doubled = conn.execute(
        "SELECT configuration_id, batch_type, array_agg(id ORDER BY id) FROM irp_batch"
        " WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL"
        " GROUP BY 1, 2 HAVING count(*) > 1").fetchall()
    checks.append((not doubled, "no key has two active batches without duplicate_of", doubled))
    crossed = conn.execute(
        "SELECT d.id, d.duplicate_of FROM irp_batch d JOIN irp_batch o ON o.id = d.duplicate_of"
        " WHERE (o.configuration_id, o.batch_type) IS DISTINCT FROM (d.configuration_id, d.batch_type)").fetchall()
    checks.append((not crossed, "every duplicate_of names a batch of the same key", crossed))
    events = conn.execute(
        "SELECT b.id, count(e.id) FROM irp_batch b LEFT JOIN irp_batch_event e ON e.batch_id = b.id"
        " AND e.event IN ('CREATED', 'DUPLICATE_CREATED') GROUP BY b.id HAVING count(e.id) <> 1").fetchall()
    checks.append((not events, "every batch has exactly one creation event", events))
    return checks


def report(checks):
    """Prints checks as TAP; returns the exit status (1 if any failed)."""
    print(f"1..{len(checks)}")
    failed = 0
    for i, (ok, description, got) in enumerate(checks, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {description}")
        if not ok:
            failed += 1
            print(f"#   got: {str(got)[:2000]}")
    return 1 if failed else 0

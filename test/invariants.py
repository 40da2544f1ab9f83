"""The invariants every concurrency check ends with (stress.py, outside_load.py).

Each check is (passed, description, detail), printed as TAP by the caller.
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

#!/usr/bin/env python3
"""Plays a day of Step 03 for one configuration, sped up, and draws it with plot_history().

Makes docs/history.png (docs/python.md, "Live batch status in Python"). Everything is real: the
extension's functions and triggers write the audit trail, roles of their own
are its actors, and a stand-in job runner (a SIMULATION: it only changes
statuses) moves jobs; the time axis is therefore seconds, not hours.

Runs against the server libpq's environment names, as a superuser; it
creates (and at the end drops) the database irp_history_demo and the roles
alice, bob, carol and irp_runner if they do not exist. In a throwaway cluster,
from the repository, with the extension installed (make install):

    runuser -u postgres -- pg_virtualenv -t -v 15 \\
        env PYTHONPATH=clients/python python3 examples/history_demo.py docs/history.png
"""
import argparse
import sys
import time

import psycopg

import irp_batch_client as irp

DATABASE = "irp_history_demo"
CONFIGURATION = 42
ROLES = ["alice", "bob", "carol", "irp_runner"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", help="where to write the picture, e.g. docs/history.png")
    parser.add_argument("--pace", type=float, default=0.6, help="seconds per step of the scenario (default 0.6)")
    args = parser.parse_args()

    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
        for role in ROLES:
            if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                admin.execute(f"CREATE ROLE {role}")
    try:
        with psycopg.connect(dbname=DATABASE, autocommit=True) as db:
            db.execute("CREATE EXTENSION irp_batch")
            for role in ROLES:          # README, Privileges: what an application role needs
                db.execute(f"GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO {role}")
                db.execute(f"GRANT SELECT ON irp_batch_event TO {role}")
            play(db, args.pace)
        irp.configure(dbname=DATABASE)
        fig = irp.plot_history(CONFIGURATION, title=f"Configuration {CONFIGURATION}: a day of Step 03, sped up "
                                                    "(plot_history)")
        fig.savefig(args.png, dpi=100)
        print(f"wrote {args.png}")
    finally:
        with psycopg.connect("dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    return 0


def play(db: psycopg.Connection, pace: float) -> None:
    def as_role(role, call):
        with db.transaction():
            db.execute(f"SET LOCAL ROLE {role}")
            return call()

    def step():
        time.sleep(pace)

    def batch(batch_id, status):
        as_role("irp_runner", lambda: db.execute("UPDATE irp_batch SET status = %s, updated_ts = now() WHERE id = %s",
                                                 (status, batch_id)))

    def jobs(batch_id, status, limit=None):
        # SIMULATION: the job runner's status changes, nothing is submitted anywhere.
        as_role("irp_runner", lambda: db.execute(
            "UPDATE irp_job SET status = %s, updated_ts = now() WHERE id IN"
            " (SELECT id FROM irp_job WHERE batch_id = %s AND status NOT IN ('FINISHED', 'FAILED', 'CANCELLED')"
            "  ORDER BY id LIMIT %s)", (status, batch_id, limit)))

    edms = [{"edm_name": e} for e in ("EDM_NORTH", "EDM_SOUTH", "EDM_WEST")]
    portfolios = [{"portfolio_name": p} for p in ("PF_N_RES", "PF_N_COM", "PF_S_RES", "PF_S_COM", "PF_W_ALL")]

    # Morning: alice runs Step 03.
    edm = as_role("alice", lambda: irp.create_batch("EDM_CREATION", CONFIGURATION, 3, jobs=edms, conn=db))
    portfolio = as_role("alice", lambda: irp.create_batch("PORTFOLIO_CREATION", CONFIGURATION, 3, jobs=portfolios,
                                                          conn=db))
    step()
    # The EDMs are submitted and run.
    batch(edm, "ACTIVE")
    jobs(edm, "SUBMITTED")
    step()
    for _ in range(3):
        jobs(edm, "FINISHED", 1)
        step()
    batch(edm, "COMPLETED")
    step()
    # bob re-runs the notebook and confirms: an intentional duplicate of the portfolios.
    duplicate = as_role("bob", lambda: irp.create_batch("PORTFOLIO_CREATION", CONFIGURATION, 3, allow_duplicate=True,
                                                        jobs=portfolios, conn=db))
    step()
    step()
    # alice sees it (watch, or the pre-flight's warning) and cancels it before it is submitted.
    as_role("alice", lambda: irp.cancel_batch(duplicate, reason="Re-ran Step 03 by mistake", conn=db))
    step()
    # The portfolios are submitted; one fails at Moody's, and so does the batch.
    batch(portfolio, "ACTIVE")
    jobs(portfolio, "SUBMITTED")
    step()
    jobs(portfolio, "FINISHED", 3)
    step()
    jobs(portfolio, "FAILED", 1)
    step()
    batch(portfolio, "FAILED")
    step()
    # carol creates the portfolios again (no active batch is left: no duplicate), and they start to run.
    again = as_role("carol", lambda: irp.create_batch("PORTFOLIO_CREATION", CONFIGURATION, 3, jobs=portfolios,
                                                      conn=db))
    step()
    step()
    batch(again, "ACTIVE")
    jobs(again, "SUBMITTED")
    step()
    jobs(again, "FINISHED", 2)
    step()


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures: one fresh database with the extension for the whole session.

Tests the installed irp_batch_client (pip install ./clients/python into a
virtualenv; see ../README.md). The server is found through libpq's
environment (PGHOST, PGPORT, PGUSER, PGPASSWORD); the session's database is created from the `postgres`
maintenance database and dropped at the end. Each test gets configuration
ids no other test uses, so tests need no cleanup and can run in any order.
"""
import itertools
import os

import psycopg
import pytest

# The installed package (pip install ./clients/python), not the source folder:
# make test runs these tests from a throwaway virtualenv.
import irp_batch_client

# A statement that waits longer than this is a bug (a lock never released).
OPTIONS = "-c statement_timeout=60s -c lock_timeout=30s"
# Where watch() and wait_for_batches() LISTEN: the server itself when libpq's
# environment names a pooler in transaction mode (test/pgbouncer.sh sets it),
# which cannot keep a LISTEN; else the same server as every call.
LISTEN_CONNINFO = os.environ.get("IRP_LISTEN_CONNINFO")


def admin_connection():
    return psycopg.connect("dbname=postgres", autocommit=True, options=OPTIONS)


@pytest.fixture(scope="session")
def database():
    """The name of a fresh database with the extension in schema public."""
    name = f"irp_batch_pytest_{os.getpid()}"
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION irp_batch")
    yield name
    irp_batch_client.configure()
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def client(database):
    """The module, configured to connect to the session's database."""
    irp_batch_client.configure(dbname=database, options=OPTIONS, listen_conninfo=LISTEN_CONNINFO)
    yield irp_batch_client
    irp_batch_client.configure()


@pytest.fixture
def db(database):
    """An autocommit connection of the test's own, for looking at the tables."""
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        yield conn


_configuration_ids = itertools.count(1000)


@pytest.fixture
def config_id():
    """A configuration id no other test uses (the proposal's create_test_configuration)."""
    return next(_configuration_ids)


@pytest.fixture
def step_id():
    """The proposal's create_test_step: any positive id will do."""
    return 3

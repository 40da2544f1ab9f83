--
-- Adoption: CREATE EXTENSION irp_batch in a schema that already holds the
-- IRP helpers' tables (test/fixtures/init_database.sql, a reconstruction)
-- attaches to them: it refuses existing duplicates and tables it cannot
-- guard, changing nothing; otherwise it keeps every row, column, sequence
-- position, owner, grant and other table's foreign key, rewrites no table,
-- adds only what it needs, and the guard holds. The tables stay the
-- database's, not the extension's.
--
-- Line numbers of the install script are not part of the errors shown.
\set SHOW_CONTEXT never
CREATE SCHEMA helpers;
SET search_path = helpers;
\set ECHO none
\i test/fixtures/init_database.sql
\i test/fixtures/irp_data.sql
\set ECHO all

-- What must not change: every row (as it was, whatever columns are added),
-- the tables' files (no rewrite), the sequences, other tables' foreign keys.
CREATE FUNCTION pg_temp.snapshot() RETURNS TABLE (fact text, value text) LANGUAGE sql AS $$
  SELECT 'rows of ' || t, md5(string_agg(r, '|' ORDER BY r)) FROM (
    SELECT 'irp_batch' AS t, (to_jsonb(b) - '{duplicate_of,cancel_reason,created_by,request_id}'::text[])::text AS r FROM helpers.irp_batch b
    UNION ALL SELECT 'irp_job', to_jsonb(j)::text FROM helpers.irp_job j
    UNION ALL SELECT 'irp_batch_result', to_jsonb(x)::text FROM helpers.irp_batch_result x
    UNION ALL SELECT 'irp_configuration', to_jsonb(c)::text FROM helpers.irp_configuration c) s GROUP BY t
  UNION ALL
  SELECT 'file of ' || relname, pg_relation_filenode(oid)::text FROM pg_class
   WHERE relnamespace = 'helpers'::regnamespace AND relname IN ('irp_batch', 'irp_job')
  UNION ALL
  SELECT 'sequence ' || sequencename, last_value::text FROM pg_sequences
   WHERE schemaname = 'helpers' AND sequencename IN ('irp_batch_id_seq', 'irp_job_id_seq')
  UNION ALL
  SELECT 'constraint ' || conname, pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint
   WHERE conrelid IN ('helpers.irp_batch_result'::regclass, 'helpers.irp_job'::regclass)
  UNION ALL
  SELECT 'columns of ' || attrelid::regclass, string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid IN ('helpers.irp_batch'::regclass, 'helpers.irp_job'::regclass)
     AND attnum > 0 AND NOT attisdropped GROUP BY attrelid
$$;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.snapshot();
SELECT fact FROM before ORDER BY fact;

--
-- 1. Existing duplicates: two keys with two active batches each. The error
--    lists every group, the hint has the statement that resolves them, and
--    nothing changes.
--
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status, created_ts) VALUES
    (2, 2, 'EDM_CREATION', 'INITIATED', '2025-10-02 09:00'),        -- Step 03 run again
    (2, 2, 'PORTFOLIO_CREATION', 'INITIATED', '2025-10-02 09:00'),
    (2, 2, 'PORTFOLIO_CREATION', 'ACTIVE', '2025-10-02 09:30');     -- and a third time
-- The read-only report docs/adoption.md gives, before installing:
SELECT configuration_id, batch_type, count(*) AS active_batches,
       string_agg(format('%s (%s, created %s)', id, status, created_ts), ', ' ORDER BY created_ts, id) AS batches
  FROM irp_batch
 WHERE status IN ('INITIATED', 'ACTIVE')
 GROUP BY configuration_id, batch_type
HAVING count(*) > 1
 ORDER BY configuration_id, batch_type;
-- ... lists exactly the batches the install refuses.
CREATE TEMP TABLE report AS
SELECT configuration_id, batch_type, count(*) AS active_batches,
       string_agg(format('%s (%s, created %s)', id, status, created_ts), ', ' ORDER BY created_ts, id) AS batches
  FROM irp_batch
 WHERE status IN ('INITIATED', 'ACTIVE')
 GROUP BY configuration_id, batch_type
HAVING count(*) > 1;
DO $$
DECLARE
  refused text;
BEGIN
  BEGIN
    CREATE EXTENSION irp_batch SCHEMA helpers;
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS refused = PG_EXCEPTION_DETAIL;
  END;
  RAISE NOTICE 'the report and the refusal name the same batches: %',
    (SELECT array_agg(m[1]::int ORDER BY m[1]::int) FROM regexp_matches(refused, 'batch (\d+) \(', 'g') AS m)
    = (SELECT array_agg(m[1]::int ORDER BY m[1]::int) FROM report, regexp_matches(batches, '(\d+) \(', 'g') AS m);
END
$$;
CREATE TEMP TABLE before_duplicates AS SELECT * FROM pg_temp.snapshot();
\set VERBOSITY verbose
CREATE EXTENSION irp_batch SCHEMA helpers;
\set VERBOSITY default
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
SELECT (SELECT array_agg(f ORDER BY f) FROM (SELECT * FROM pg_temp.snapshot() EXCEPT SELECT * FROM before_duplicates) x(f)) AS changed,
       to_regclass('helpers.irp_batch_event') AS audit_table;
-- The hint's statement, as given:
UPDATE helpers.irp_batch SET status = 'CANCELLED', updated_ts = now(), completed_ts = now() WHERE id IN (13, 14, 15);
SELECT id, configuration_id, batch_type, status FROM irp_batch WHERE status IN ('INITIATED', 'ACTIVE') ORDER BY id;
-- This test wants the fixture back (a DBA would keep the cancelled rows).
DELETE FROM irp_batch WHERE id IN (13, 14, 15);
SELECT setval('irp_batch_id_seq', 12);

--
-- 2. Tables it cannot guard: everything wrong is named, and nothing changes.
--    What it can take stays as it is: a sequence of another name, another
--    serial column, row level security, views, triggers and rules of their
--    own, labels in another order or of their own, NOT VALID constraints.
--
CREATE SCHEMA broken;
SET search_path = broken;
CREATE TYPE batch_status_enum AS ENUM ('INITIATED', 'ACTIVE', 'COMPLETED', 'FAILED');
CREATE TABLE irp_step (id serial PRIMARY KEY);
CREATE TABLE irp_batch (
    id               serial PRIMARY KEY,
    step_id          integer NOT NULL REFERENCES irp_step (id),
    configuration_id bigint NOT NULL,
    batch_type       varchar(255) NOT NULL,
    status           batch_status_enum DEFAULT 'INITIATED',
    created_ts       timestamp DEFAULT CURRENT_TIMESTAMP,
    completed_ts     timestamp,
    created_by       integer
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON irp_batch FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE irp_job (id integer, batch_id integer, status text, job_configuration_data json,
                      created_ts timestamp, updated_ts timestamp, completed_ts timestamp);
ALTER SEQUENCE irp_batch_id_seq RENAME TO batch_id_seq;
ALTER TABLE irp_batch ADD COLUMN run_no serial;
ALTER TABLE irp_batch ENABLE ROW LEVEL SECURITY;
CREATE VIEW batch_age AS SELECT id, created_ts FROM irp_batch;
CREATE TYPE job_status_enum AS ENUM
  ('INITIATED', 'SUBMITTED', 'QUEUED', 'PENDING', 'RUNNING', 'FAILED', 'FINISHED', 'CANCELLED', 'ERROR');
CREATE TABLE job_archive (job_id integer, status job_status_enum);
CREATE VIEW job_errors AS SELECT job_id FROM job_archive WHERE status = 'ERROR';
ALTER TABLE irp_batch ADD CONSTRAINT irp_batch_step_positive CHECK (step_id > 0) NOT VALID;
CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
ALTER TABLE irp_batch ALTER COLUMN batch_type TYPE varchar(255) COLLATE case_insensitive;
CREATE TABLE batch_snapshot (taken timestamp, batch irp_batch);
-- An index of one of the extension's names on another table.
CREATE INDEX idx_batch_active ON job_archive (job_id);
CREATE TEMP TABLE broken_before AS
  SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
   WHERE c.relnamespace = 'broken'::regnamespace;
CREATE EXTENSION irp_batch SCHEMA broken;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
SELECT (SELECT count(*) FROM (SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
         WHERE c.relnamespace = 'broken'::regnamespace
        EXCEPT SELECT * FROM broken_before) x) AS columns_changed,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'broken'::regnamespace)
     = (SELECT count(DISTINCT relname) FROM broken_before) AS no_new_relations;
-- Corrected as the problems say, the same tables are attached, and what
-- was theirs stays. (A column of the table's row type would keep
-- PostgreSQL from changing the column types: it goes.)
DROP TABLE batch_snapshot;
ALTER TYPE batch_status_enum ADD VALUE 'CANCELLED';
ALTER TABLE irp_batch ALTER COLUMN configuration_id TYPE integer,
                      ALTER COLUMN batch_type TYPE varchar(255) COLLATE "default",
                      ALTER COLUMN created_by TYPE text;
ALTER TABLE irp_job ALTER COLUMN status TYPE job_status_enum USING status::job_status_enum,
                    ALTER COLUMN job_configuration_data TYPE jsonb,
                    ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY, ADD PRIMARY KEY (id);
DROP INDEX idx_batch_active;
CREATE EXTENSION irp_batch SCHEMA broken;
SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'broken'::regnamespace AND relkind = 'r' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'irp_batch'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'irp_batch'::regclass ORDER BY 1;
SELECT pg_get_serial_sequence('irp_batch', 'id') AS id_sequence, pg_get_serial_sequence('irp_batch', 'run_no') AS run_no_sequence;
INSERT INTO irp_step DEFAULT VALUES;
SELECT broken.irp_create_batch('EDM_CREATION', 1, 1) AS created;
SELECT id, run_no FROM irp_batch;
SELECT count(*) AS views_still_there FROM pg_views WHERE schemaname = 'broken';
SET client_min_messages = error;
DROP SCHEMA broken CASCADE;
RESET client_min_messages;
-- A name the extension needs, taken by a function of the same signature,
-- is not replaced: PostgreSQL refuses the install.
CREATE SCHEMA taken;
CREATE FUNCTION taken.irp_create_batch(text, integer, integer, boolean DEFAULT false, jsonb DEFAULT NULL,
                                       uuid DEFAULT NULL)
  RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE EXTENSION irp_batch SCHEMA taken;
SELECT taken.irp_create_batch('EDM_CREATION', 1, 1) AS still_theirs;
DROP SCHEMA taken CASCADE;

--
-- 3. Rows the extension's rules refuse (here a batch_type with a trailing
--    space, which the guard would take for another key): listed by id, and
--    nothing changes.
--
SET search_path = helpers;
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status, created_ts)
VALUES (1, 1, 'EDM_CREATION ', 'COMPLETED', '2025-07-01 10:29'), (0, 1, 'EDM_CREATION', 'FAILED', '2025-07-01 10:28');
CREATE EXTENSION irp_batch SCHEMA helpers;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
DELETE FROM irp_batch WHERE id IN (13, 14);
SELECT setval('irp_batch_id_seq', 12);

--
-- 4. A DBA who ran the proposal's migration already has its index, which
--    does not know intentional duplicates: it gives way to the extension's.
--
CREATE UNIQUE INDEX idx_batch_unique_active ON irp_batch (configuration_id, batch_type)
 WHERE status IN ('INITIATED', 'ACTIVE');

--
-- 5. Adoption. Whoever may create objects in the schema cannot slip
--    functions into the superuser's CREATE EXTENSION: these would be
--    better matches than pg_catalog's for calls the install script makes.
--
CREATE TABLE hostile_calls (f text);
CREATE FUNCTION cardinality(text[]) RETURNS integer LANGUAGE sql
  AS $$ INSERT INTO helpers.hostile_calls VALUES ('cardinality'); SELECT pg_catalog.cardinality($1) $$;
CREATE FUNCTION array_to_string(text[], text) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO helpers.hostile_calls VALUES ('array_to_string'); SELECT pg_catalog.array_to_string($1, $2) $$;
CREATE FUNCTION format(text, regnamespace) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO helpers.hostile_calls VALUES ('format'); SELECT pg_catalog.format($1, $2) $$;
CREATE EXTENSION irp_batch SCHEMA helpers;
SELECT count(*) AS hostile_calls FROM hostile_calls;
DROP FUNCTION cardinality(text[]), array_to_string(text[], text), format(text, regnamespace);
DROP TABLE hostile_calls;
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';
-- Nothing that was there changed; the added columns are NULL on old rows.
SELECT b.fact, b.value = a.value AS unchanged
  FROM before b LEFT JOIN pg_temp.snapshot() a USING (fact)
 WHERE b.fact NOT LIKE 'columns of %' ORDER BY b.fact;
SELECT fact, value FROM pg_temp.snapshot() WHERE fact LIKE 'columns of %' ORDER BY fact;
SELECT count(*) AS old_rows, count(duplicate_of) AS with_duplicate_of, count(cancel_reason) AS with_reason,
       count(created_by) AS with_created_by FROM irp_batch;
-- The tables, their sequences and the enums are not the extension's.
SELECT count(*) AS data_members FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irp_batch')
   AND (classid = 'pg_type'::regclass OR classid = 'pg_class'::regclass);
-- The extension's constraints, checked against the old rows.
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'irp_batch'::regclass ORDER BY conname;
SELECT pg_get_indexdef('idx_batch_unique_active'::regclass) AS unique_active;
-- Set up already: calling irp_batch_setup() again changes nothing.
SELECT irp_batch_setup();

--
-- 6. The guard holds over the adopted rows.
--
-- Configuration 2 already has an ACTIVE EDM_CREATION batch (4): refused, and
-- the TIMESTAMP column is shown in the session's time zone.
SELECT irp_create_batch('EDM_CREATION', 2, 2);
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (2, 2, 'PORTFOLIO_CREATION');
-- ERROR is finished (configuration 3's PORTFOLIO_CREATION), so is a NULL
-- status (configuration 3's EDM_CREATION): new batches may be created.
SELECT irp_create_batch('PORTFOLIO_CREATION', 3, 2, jobs => '[{"p": "US_A"}]') AS new_portfolio_batch;
SELECT irp_create_batch('EDM_CREATION', 3, 2) AS new_edm_batch;
SELECT id, status, created_by = current_user AS by_me, created_ts IS NOT NULL AS has_created_ts
  FROM irp_batch WHERE id > 12 ORDER BY id;
-- New rows get the extension's rules.
\set VERBOSITY terse
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (2, 9, 'EDM_CREATION ');
\set VERBOSITY default
-- Who made an old batch is unknown, and the error says nothing of it.
SELECT irp_create_batch('PORTFOLIO_CREATION', 2, 2);
SELECT id, batch_type, status, created_ts, job_count FROM irp_get_active_batches_for_config(2);
-- Cancelling batch 4 cancels its RUNNING job; its ERROR and FINISHED jobs
-- are finished and stay as they are.
SELECT irp_cancel_batch(4, 'adopted duplicate check');
SELECT id, status, completed_ts IS NOT NULL AS completed FROM irp_job WHERE batch_id = 4 ORDER BY id;
SELECT batch_id, event, reason, details FROM irp_batch_event ORDER BY id;
-- A column a DBA adds after installing needs no step of the extension's
-- (pg_dump writes the tables' definitions: test/backup.sh restores one).
ALTER TABLE irp_batch ADD COLUMN reviewed_by text;
SELECT irp_create_batch('REVIEW', 2, 2) > 0 AS created;

RESET search_path;
SET client_min_messages = error;
DROP SCHEMA helpers CASCADE;
RESET client_min_messages;

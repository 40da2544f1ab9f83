--
-- The guard on every path that writes irp_batch directly: INSERT,
-- INSERT ... SELECT, COPY and UPDATE, and the error fields clients read.
--
CREATE EXTENSION irp_batch;
SET timezone = 'UTC';

-- Runs stmt; returns the error's fields as a client sees them, or 'ok'.
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text; msg text; det text; hnt text; sch text; tbl text; con text;
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
    det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, sch = SCHEMA_NAME,
    tbl = TABLE_NAME, con = CONSTRAINT_NAME;
  RETURN format(E'%s: %s\nDETAIL: %s\nHINT: %s\nschema=%s table=%s constraint=%s',
                state, msg, det, hnt, sch, tbl, con);
END $$;

-- A plain INSERT creates an active batch; a second one for the key is refused.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, created_by, created_ts)
VALUES (1, 42, 'EDM_CREATION', 'alice', '2026-11-28 10:00:00+00');
INSERT INTO irp_job (batch_id) VALUES (1), (1);
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'EDM_CREATION');
-- The same error, field by field.
SELECT pg_temp.outcome($$INSERT INTO irp_batch (step_id, configuration_id, batch_type)
                         VALUES (1, 42, 'EDM_CREATION')$$);

-- From here on, the messages alone (DETAIL and HINT as above).
\set VERBOSITY terse

-- Another batch type, another configuration, or a finished batch: no conflict (rules 1 and 4).
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'PORTFOLIO_CREATION');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 43, 'EDM_CREATION');
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status)
VALUES (1, 42, 'EDM_CREATION', 'COMPLETED'), (1, 42, 'EDM_CREATION', 'FAILED'),
       (1, 42, 'EDM_CREATION', 'CANCELLED');
SELECT id, configuration_id, batch_type, status, duplicate_of FROM irp_batch ORDER BY id;

-- ACTIVE counts as active just like INITIATED.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status) VALUES (1, 42, 'EDM_CREATION', 'ACTIVE');

-- Two rows of one key in one statement: the second is refused, the statement writes nothing.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, created_by, created_ts)
VALUES (1, 50, 'RESULTS', 'bob', '2026-11-28 12:00:00+00'), (1, 50, 'RESULTS', 'bob', '2026-11-28 12:00:01+00');
INSERT INTO irp_batch (step_id, configuration_id, batch_type)
SELECT 1, 60 + g % 2, 'RESULTS' FROM generate_series(1, 3) g;
SELECT count(*) AS batches_for_50_and_60 FROM irp_batch WHERE configuration_id IN (50, 60, 61);

-- COPY goes through the same guard.
COPY irp_batch (step_id, configuration_id, batch_type) FROM stdin;
1	70	RESULTS
1	71	RESULTS
\.
COPY irp_batch (step_id, configuration_id, batch_type) FROM stdin;
1	72	RESULTS
1	70	RESULTS
\.
SELECT configuration_id, batch_type, status FROM irp_batch WHERE configuration_id BETWEEN 70 AND 72 ORDER BY id;

-- Also a COPY that supplies the ids, by a superuser that owns the tables,
-- as pg_restore's would: checked (the descriptive error) and audited. A
-- restore needs no exception: pg_dump creates the triggers after the rows.
COPY irp_batch (id, step_id, configuration_id, batch_type) FROM stdin;
900	1	73	RESULTS
\.
COPY irp_batch (id, step_id, configuration_id, batch_type) FROM stdin;
901	1	73	RESULTS
\.
SELECT batch_id, event, actor = current_user AS by_me FROM irp_batch_event WHERE batch_id >= 900 ORDER BY id;

-- An intentional duplicate records the batch it duplicates (rule 2) ...
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 42, 'EDM_CREATION', 1);
-- ... which must be a batch of the same key (23514), must exist (23503), and is not the row itself (23514).
SELECT pg_temp.outcome($$INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of)
                         VALUES (1, 42, 'PORTFOLIO_CREATION', 1)$$);
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 42, 'EDM_CREATION', 9999);
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, duplicate_of) VALUES (500, 1, 42, 'EDM_CREATION', 500);
SELECT pg_temp.outcome($$INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, duplicate_of)
                         VALUES (500, 1, 42, 'EDM_CREATION', 500)$$);
-- ON CONFLICT DO NOTHING does not make a duplicate a no-op: the guard runs first.
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'EDM_CREATION') ON CONFLICT DO NOTHING;

-- UPDATE: INITIATED -> ACTIVE is not "becoming active"; no check, no change to duplicate_of.
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 1;
-- Reactivating a finished batch while the key has an active one is refused.
SELECT id FROM irp_batch WHERE configuration_id = 42 AND batch_type = 'EDM_CREATION' AND status = 'COMPLETED';
UPDATE irp_batch SET status = 'INITIATED' WHERE configuration_id = 42 AND status = 'COMPLETED';
-- Moving an active batch onto a key that has one is refused ...
UPDATE irp_batch SET configuration_id = 42 WHERE configuration_id = 43;
-- ... moving it to a free key is fine.
UPDATE irp_batch SET configuration_id = 44 WHERE configuration_id = 43;
-- Pointing duplicate_of at another key's batch is refused (23514).
UPDATE irp_batch SET duplicate_of = 4 WHERE id = 1;
-- Turning the intentional duplicate into a second ordinary batch is refused.
SELECT id FROM irp_batch WHERE duplicate_of = 1;
UPDATE irp_batch SET duplicate_of = NULL WHERE duplicate_of = 1;
-- The id of a batch never changes (the audit trail refers to it).
UPDATE irp_batch SET id = 1000 WHERE id = 4;
-- A batch with intentional duplicates cannot change its key: they would be left behind (rule 2).
UPDATE irp_batch SET configuration_id = 45 WHERE id = 1;
UPDATE irp_batch SET batch_type = 'EDM_OTHER' WHERE id = 1;
-- Ids are positive, like every id the functions accept.
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (0, 1, 46, 'X');
-- Other columns update freely.
UPDATE irp_batch SET step_id = 2, updated_ts = now() WHERE configuration_id = 42;

-- Rule 3: with the original finished, the error names the oldest active duplicate.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of, created_ts)
VALUES (1, 42, 'EDM_CREATION', 1, '2026-11-27 08:00:00+00') RETURNING id;
-- (While batch 1 is active, the error names it, although this duplicate is older.)
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'EDM_CREATION');
UPDATE irp_batch SET status = 'COMPLETED' WHERE id = 1;
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'EDM_CREATION');

-- Reactivating a finished intentional duplicate clears its duplicate_of (rule 1):
-- reactivating two in one statement makes the first the key's batch, so the second is refused ...
UPDATE irp_batch SET status = 'CANCELLED' WHERE duplicate_of = 1 AND status = 'INITIATED';
SELECT id, status, duplicate_of FROM irp_batch WHERE duplicate_of = 1 ORDER BY id;
UPDATE irp_batch SET status = 'INITIATED' WHERE duplicate_of = 1;
UPDATE irp_batch SET status = 'INITIATED' WHERE id = 19 RETURNING id, status, duplicate_of;
-- ... and moving a batch to another key clears it too.
UPDATE irp_batch SET batch_type = 'EDM_RETRY' WHERE duplicate_of = 1 RETURNING id, batch_type, status, duplicate_of;

-- The table's own checks refuse what the functions refuse.
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 0, 'X');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (0, 1, 'X');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 1, '');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 1, ' X');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 1, E'X\tY');

-- The unique index is the safety net when triggers are off (e.g. replication).
SET session_replication_role = replica;
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'PORTFOLIO_CREATION');
RESET session_replication_role;

-- A duplicate_of that names another key's batch is refused by UPDATE too.
SELECT pg_temp.outcome($$UPDATE irp_batch SET duplicate_of = 1
  WHERE id = (SELECT max(id) FROM irp_batch WHERE configuration_id <> 42)$$);

-- Deleting batches that have jobs: the jobs' foreign key refuses it (delete
-- the jobs first); TRUNCATE needs irp_job in the same statement. Nothing is
-- removed by the refused statements.
SELECT count(*) AS batches_before, (SELECT count(*) FROM irp_job) AS jobs_before FROM irp_batch;
SELECT pg_temp.outcome($$DELETE FROM irp_batch WHERE id IN (SELECT batch_id FROM irp_job)$$);
SELECT pg_temp.outcome($$TRUNCATE irp_batch$$);
SELECT count(*) AS batches_after, (SELECT count(*) FROM irp_job) AS jobs_after FROM irp_batch;
-- Jobs first, then the batch: allowed, and recorded.
DELETE FROM irp_job WHERE batch_id = 1;
DELETE FROM irp_batch WHERE id = 1 RETURNING id;
SELECT batch_id, event, details->>'status' AS status FROM irp_batch_event WHERE event = 'DELETED';

-- Never two active non-duplicate batches for one key.
SELECT configuration_id, batch_type, count(*)
  FROM irp_batch WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL
 GROUP BY 1, 2 HAVING count(*) > 1;

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

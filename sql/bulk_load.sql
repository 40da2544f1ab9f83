-- Bulk loads: one statement may create any number of batches. The guard
-- holds at most one key claim at a time (released as soon as the row is in
-- the indexes, and at the end of the statement), so 200,000 distinct keys
-- in one statement do not exhaust the lock table; a duplicate inside such a
-- load is still caught, and then nothing of the load is kept.
CREATE EXTENSION irp_batch;
\set VERBOSITY terse

-- 200,000 batches in one INSERT ... SELECT, in one transaction.
BEGIN;
INSERT INTO irp_batch (step_id, configuration_id, batch_type)
SELECT 1, g, 'BULK_INSERT' FROM generate_series(1, 200000) g;
-- No claim lock (advisory, objsubid 18770) outlives the statement.
SELECT count(*) AS claim_locks_held
FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 18770 AND pid = pg_backend_pid();
COMMIT;
SELECT count(*) AS batches, count(DISTINCT configuration_id) AS keys
FROM irp_batch WHERE batch_type = 'BULK_INSERT';
SELECT event, count(*) FROM irp_batch_event
WHERE details->>'batch_type' = 'BULK_INSERT' GROUP BY event;

-- 200,000 batches with COPY.
COPY irp_batch (step_id, configuration_id, batch_type) FROM PROGRAM
  'seq 200000 | sed "s/.*/7,&,BULK_COPY/"' WITH (FORMAT csv);
SELECT count(*) AS batches, count(DISTINCT configuration_id) AS keys
FROM irp_batch WHERE batch_type = 'BULK_COPY';

-- A duplicate key late in a large INSERT: the descriptive error names the
-- batch inserted earlier in the same statement, and no row is kept.
INSERT INTO irp_batch (step_id, configuration_id, batch_type)
SELECT 1, g, 'BULK_DUP' FROM generate_series(1, 100000) g
UNION ALL SELECT 2, 500, 'BULK_DUP';
SELECT count(*) AS kept FROM irp_batch WHERE batch_type = 'BULK_DUP';

-- The same with COPY.
COPY irp_batch (step_id, configuration_id, batch_type) FROM PROGRAM
  '(seq 100000; echo 500) | sed "s/.*/7,&,BULK_DUP/"' WITH (FORMAT csv);
SELECT count(*) AS kept FROM irp_batch WHERE batch_type = 'BULK_DUP';

-- A load that creates intentional duplicates of existing batches.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of)
SELECT 2, b.configuration_id, b.batch_type, b.id
FROM irp_batch b WHERE b.batch_type = 'BULK_INSERT' AND b.configuration_id <= 50000;
SELECT count(*) AS duplicates FROM irp_batch WHERE batch_type = 'BULK_INSERT' AND duplicate_of IS NOT NULL;

-- Nothing is left claimed in this session.
SELECT count(*) AS claim_locks_held
FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 18770 AND pid = pg_backend_pid();

-- Reactivating many cancelled batches in one UPDATE is checked row by row.
UPDATE irp_batch SET status = 'CANCELLED' WHERE batch_type = 'BULK_COPY' AND configuration_id <= 1000;
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (9, 1000, 'BULK_COPY');
UPDATE irp_batch SET status = 'INITIATED' WHERE batch_type = 'BULK_COPY' AND configuration_id <= 1000 AND status = 'CANCELLED';
SELECT count(*) FILTER (WHERE status = 'CANCELLED') AS still_cancelled FROM irp_batch WHERE batch_type = 'BULK_COPY';

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

--
-- The proposal's real-world scenario, as a transcript.
--
-- The Step 03 "Create Batches" notebook identifies two batch types for
-- configuration 42 and creates one batch of each. Then somebody re-runs it.
--
CREATE EXTENSION irp_batch;

-- A notebook user with the privileges an application role needs (README,
-- "Privileges"): it reads the audit trail but never writes it.
CREATE ROLE alice;
GRANT USAGE ON SCHEMA public TO alice;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO alice;
GRANT USAGE ON SEQUENCE irp_batch_id_seq, irp_job_id_seq TO alice;
GRANT SELECT ON irp_batch_event TO alice;
SET ROLE alice;
-- Times in UTC; the CONTEXT line would only repeat the function's own INSERT.
SET timezone = 'UTC';
\set SHOW_CONTEXT never

-- First run (intentional): EDM_CREATION with 3 jobs, PORTFOLIO_CREATION with 5.
SELECT irp_create_batch('EDM_CREATION', 42, 3,
         jobs => '[{"edm": "EDM_A"}, {"edm": "EDM_B"}, {"edm": "EDM_C"}]') AS edm_batch;
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3,
         jobs => '[{"portfolio": "P1"}, {"portfolio": "P2"}, {"portfolio": "P3"},
                   {"portfolio": "P4"}, {"portfolio": "P5"}]') AS portfolio_batch;

-- (The transcript pins the creation times so that it reads the same every run.)
UPDATE irp_batch SET created_ts = '2026-11-28 10:00:00+00' WHERE id = 1;
UPDATE irp_batch SET created_ts = '2026-11-28 10:00:05+00' WHERE id = 2;

SELECT * FROM irp_get_active_batches_for_config(42);

-- Second run (accidental): the same batch types again. Both are refused.
SELECT irp_create_batch('EDM_CREATION', 42, 3,
         jobs => '[{"edm": "EDM_A"}, {"edm": "EDM_B"}, {"edm": "EDM_C"}]') AS edm_batch;
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3,
         jobs => '[{"portfolio": "P1"}, {"portfolio": "P2"}, {"portfolio": "P3"},
                   {"portfolio": "P4"}, {"portfolio": "P5"}]') AS portfolio_batch;

-- Nothing was written: still one active batch per type, with its jobs.
SELECT batch_type, count(*) AS batches FROM irp_batch GROUP BY batch_type ORDER BY batch_type;
SELECT batch_id, count(*) AS jobs FROM irp_job GROUP BY batch_id ORDER BY batch_id;

-- An intentional duplicate: asked for explicitly, and marked as such.
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true,
         jobs => '[{"edm": "EDM_A"}]') AS duplicate_batch \gset
UPDATE irp_batch SET created_ts = '2026-11-28 11:00:00+00' WHERE id = :duplicate_batch;
SELECT * FROM irp_get_active_batches_for_config(42, 'EDM_CREATION');

-- Meanwhile two jobs of the first EDM batch reached Moody's.
UPDATE irp_job SET status = 'SUBMITTED' WHERE id = 1;
UPDATE irp_job SET status = 'RUNNING' WHERE id = 2;

-- Clean up: cancel the original EDM batch with a reason, and the duplicate.
SELECT irp_cancel_batch(1, 'EDM list was wrong; re-creating');
SELECT irp_cancel_batch(:duplicate_batch);
-- Cancelling twice is harmless: false, nothing changes.
SELECT irp_cancel_batch(1, 'EDM list was wrong; re-creating');
SELECT id, status, cancel_reason, completed_ts IS NOT NULL AS completed FROM irp_batch ORDER BY id;
SELECT id, batch_id, status FROM irp_job WHERE batch_id = 1 ORDER BY id;

-- With no active EDM_CREATION batch left, the notebook can create it again.
SELECT irp_create_batch('EDM_CREATION', 42, 3,
         jobs => '[{"edm": "EDM_A"}, {"edm": "EDM_B"}, {"edm": "EDM_D"}]') AS edm_batch;
SELECT id, batch_type, status, job_count, duplicate_of FROM irp_get_active_batches_for_config(42);

-- The audit trail: every change, once, with who made it.
SELECT batch_id, event, reason, actor, details FROM irp_batch_event ORDER BY id;

RESET ROLE;
-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;
DROP OWNED BY alice;
DROP ROLE alice;

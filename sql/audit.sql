--
-- The audit trail: every change to a batch recorded exactly once in
-- irp_batch_event, whichever path made it.
--
CREATE EXTENSION irp_batch;
CREATE ROLE regress_irp_auditor;
GRANT USAGE ON SCHEMA public TO regress_irp_auditor;
GRANT SELECT, INSERT, UPDATE, DELETE ON irp_batch, irp_job TO regress_irp_auditor;
GRANT SELECT ON irp_batch_event TO regress_irp_auditor;
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- The functions: CREATED, DUPLICATE_CREATED.
SELECT irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"a": 1}, {"a": 2}, {"a": 3}]');
SELECT irp_create_batch('EDM_CREATION', 1, 1, allow_duplicate => true);
-- allow_duplicate with nothing to duplicate creates an ordinary batch: CREATED.
SELECT irp_create_batch('PORTFOLIO_CREATION', 1, 1, allow_duplicate => true);

-- Plain INSERT (one event per row) and COPY, as another role: the actor is that role.
SET ROLE regress_irp_auditor;
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 2, 'EDM_CREATION'), (1, 3, 'EDM_CREATION');
COPY irp_batch (step_id, configuration_id, batch_type, duplicate_of) FROM stdin;
1	1	EDM_CREATION	1
\.
RESET ROLE;

-- Status changes by UPDATE: STATUS_CHANGED with the old and new status, one per row.
UPDATE irp_batch SET status = 'ACTIVE' WHERE configuration_id = 2;
UPDATE irp_batch SET status = 'COMPLETED' WHERE configuration_id IN (2, 3);
-- A plain UPDATE to CANCELLED is a status change too; only irp_cancel_batch() records CANCELLED.
UPDATE irp_batch SET status = 'CANCELLED' WHERE id = 2;
UPDATE irp_job SET status = 'SUBMITTED' WHERE id = 1;
UPDATE irp_job SET status = 'FINISHED' WHERE id = 3;
SELECT irp_cancel_batch(1, 'Duplicate run');
-- Nothing to record: a cancel that changes nothing, updates that leave status and key alone.
SELECT irp_cancel_batch(1, 'Again');
UPDATE irp_batch SET step_id = 9, updated_ts = now() WHERE id = 3;
UPDATE irp_batch SET status = status;

-- A key change: KEY_CHANGED. Reactivation: STATUS_CHANGED, noting the cleared duplicate_of.
UPDATE irp_batch SET batch_type = 'PORTFOLIO_RETRY' WHERE configuration_id = 3;
SELECT irp_cancel_batch(6, 'Not needed');
UPDATE irp_batch SET status = 'INITIATED' WHERE id = 2 RETURNING id, duplicate_of;

-- Statements that fail, and transactions that roll back, leave no event.
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 1, 'PORTFOLIO_CREATION');
BEGIN;
SELECT irp_create_batch('ROLLED_BACK', 1, 1);
ROLLBACK;

-- DELETE: DELETED, with the row's key and status.
DELETE FROM irp_batch WHERE configuration_id = 3;

-- duplicate_of changed alone (here a finished duplicate made an ordinary batch): DUPLICATE_OF_CHANGED.
UPDATE irp_batch SET duplicate_of = NULL WHERE id = 6;

SELECT batch_id, event, reason, actor, details FROM irp_batch_event ORDER BY id;

-- Exactly once: every batch has exactly one creation event ...
SELECT b.id, count(e.id) AS creation_events
  FROM irp_batch b LEFT JOIN irp_batch_event e
    ON e.batch_id = b.id AND e.event IN ('CREATED', 'DUPLICATE_CREATED')
 GROUP BY b.id HAVING count(e.id) <> 1;
-- ... and its last recorded status is its status.
SELECT b.id, b.status, last.status AS recorded
  FROM irp_batch b
  CROSS JOIN LATERAL (
    SELECT coalesce(e.details ->> 'new_status', e.details ->> 'status',
                    CASE WHEN e.event = 'CANCELLED' THEN 'CANCELLED' END) AS status
      FROM irp_batch_event e
     WHERE e.batch_id = b.id AND (e.details ?| ARRAY['new_status', 'status'] OR e.event = 'CANCELLED')
     ORDER BY e.id DESC LIMIT 1) last
 WHERE b.status::text IS DISTINCT FROM last.status;

-- TRUNCATE: a DELETED event for every batch it removes.
TRUNCATE irp_batch, irp_job;
SELECT batch_id, event, details FROM irp_batch_event WHERE details ? 'truncated' ORDER BY id;

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;
DROP OWNED BY regress_irp_auditor;
DROP ROLE regress_irp_auditor;

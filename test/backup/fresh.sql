-- Source database 1: a fresh install with activity. Run by a superuser in an
-- empty database, with the role irp_backup_app existing; then dba.sql.
CREATE EXTENSION irp_batch;
GRANT USAGE ON SCHEMA public TO irp_backup_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO irp_backup_app;

-- Batches with jobs (1, 3), an intentional duplicate of 1 (2) whose original
-- is updated afterwards, so that the duplicate is stored before its original
-- in the table (and in the dump).
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]');
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true);
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"portfolio": "P1"}]');
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 1;
UPDATE irp_job SET status = 'SUBMITTED' WHERE batch_id = 3;
-- A cancellation.
SELECT irp_cancel_batch(3, 'Not needed');
-- An application role's changes: a batch, an intentional duplicate of it,
-- a status change.
SET ROLE irp_backup_app;
SELECT irp_create_batch('ANALYSIS', 42, 4, jobs => '[{"a": 1}]');
SELECT irp_create_batch('ANALYSIS', 42, 4, allow_duplicate => true);
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 4;
RESET ROLE;
-- A finished duplicate, and a deleted batch (its history stays).
UPDATE irp_batch SET status = 'COMPLETED', completed_ts = '2026-01-02 03:04:05+00' WHERE id = 5;
SELECT irp_create_batch('EDM_CREATION', 43, 3);
DELETE FROM irp_batch WHERE id = 6;
-- Ids lost to rolled-back transactions: the audit sequence is ahead.
SELECT pg_catalog.setval('irp_batch_event_id_seq', 40);
SELECT irp_create_batch('EDM_CREATION', 44, 3, jobs => '[{"edm": "C"}]');

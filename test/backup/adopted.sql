-- Source database 2: a seed-shaped database the extension adopts. Run by a
-- superuser in a database holding test/fixtures/init_database.sql and
-- irp_data.sql, with the role irp_backup_app existing; then dba.sql.

-- The duplicate the proposal is about, made before the extension: a second
-- active EDM_CREATION batch for configuration 2 (id 13, after batch 4).
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status, notes, created_ts, updated_ts)
VALUES (2, 2, 'EDM_CREATION', 'INITIATED', 're-run by mistake', '2025-10-01 12:00', '2025-10-01 12:00');
-- The adoption walkthrough (docs/adoption.md, Steps): report the duplicates, keep the oldest batch
-- of each key, cancel the newer ones.
SELECT configuration_id, batch_type, count(*) AS active_batches,
       string_agg(format('%s (%s, created %s)', id, status, created_ts), ', ' ORDER BY created_ts, id) AS batches
  FROM irp_batch
 WHERE status IN ('INITIATED', 'ACTIVE')
 GROUP BY configuration_id, batch_type
HAVING count(*) > 1
 ORDER BY configuration_id, batch_type;
UPDATE irp_batch SET status = 'CANCELLED', updated_ts = '2025-10-01 12:05', completed_ts = '2025-10-01 12:05'
 WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY configuration_id, batch_type ORDER BY created_ts, id) AS n
                                FROM irp_batch WHERE status IN ('INITIATED', 'ACTIVE')) AS active
               WHERE n > 1);

-- Before adoption: the application's grants, a constraint and an index that
-- use the extra label ERROR, a generated column and a column with a
-- collation of its own.
GRANT USAGE ON SCHEMA public TO irp_backup_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO irp_backup_app;
GRANT USAGE ON SEQUENCE irp_batch_id_seq, irp_job_id_seq TO irp_backup_app;
ALTER TABLE irp_batch ADD CONSTRAINT irp_batch_error_completed CHECK (status IS DISTINCT FROM 'ERROR' OR completed_ts IS NOT NULL);
CREATE INDEX idx_batch_errors ON irp_batch (configuration_id) WHERE status = 'ERROR';
ALTER TABLE irp_batch ADD COLUMN batch_key text GENERATED ALWAYS AS (configuration_id::text || ':' || batch_type) STORED;
ALTER TABLE irp_job ALTER COLUMN moodys_workflow_id TYPE varchar(255) COLLATE "C";

CREATE EXTENSION irp_batch;

-- Activity: a batch with a job (14) and an intentional duplicate of it (15),
-- cancelled; then the original is updated, so the duplicate is stored before
-- its original. An ERROR, a result row for a new batch, an application role's
-- batch, a deleted batch.
SELECT irp_create_batch('ANALYSIS', 2, 2, jobs => '[{"a": 1}]');
SELECT irp_create_batch('ANALYSIS', 2, 2, allow_duplicate => true);
SELECT irp_cancel_batch(15, 'not needed after all');
UPDATE irp_batch SET status = 'ACTIVE', submitted_ts = '2025-10-02 09:00' WHERE id = 14;
UPDATE irp_batch SET status = 'ERROR', notes = 'failed at Moody''s', completed_ts = '2025-10-02 08:00' WHERE id = 5;
INSERT INTO irp_batch_result (batch_id, result_path) VALUES (14, 's3://irp/q4/analysis.parquet');
SET ROLE irp_backup_app;
SELECT irp_create_batch('ANALYSIS', 3, 2, jobs => '[{"a": 2}, {"a": 3}]');
RESET ROLE;
SELECT irp_create_batch('EDM_CREATION', 9, 2);
DELETE FROM irp_batch WHERE id = 17;
-- A view over the adopted tables' own and TIMESTAMP columns, made after
-- adoption.
CREATE VIEW irp_job_workflow AS
SELECT j.id, j.moodys_workflow_id, j.submitted_ts, b.notes, b.batch_key, b.completed_ts AS batch_completed_ts
  FROM irp_job j JOIN irp_batch b ON b.id = j.batch_id;

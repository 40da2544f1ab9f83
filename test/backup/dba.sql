-- Changes a DBA makes after installing, with no extra step: a column with
-- values, a view over columns of irp_batch and irp_job, indexes of their own,
-- a table that references irp_batch(id), grants, enum labels added BEFORE
-- others (and used). Run after fresh.sql or adopted.sql.
ALTER TABLE irp_batch ADD COLUMN cost_centre text;
UPDATE irp_batch SET cost_centre = 'CC-' || configuration_id WHERE duplicate_of IS NULL AND id % 2 = 1;
ALTER TABLE irp_job ADD COLUMN attempts integer NOT NULL DEFAULT 1;
UPDATE irp_job SET attempts = 3 WHERE id = (SELECT min(id) FROM irp_job);
CREATE VIEW irp_batch_overview AS
SELECT b.id, b.batch_type, b.configuration_id, b.status, b.cost_centre, b.created_ts,
       count(j.id) AS jobs, sum(j.attempts) AS attempts
  FROM irp_batch b LEFT JOIN irp_job j ON j.batch_id = b.id
 GROUP BY b.id;
CREATE INDEX irp_batch_cost_centre_idx ON irp_batch (cost_centre) WHERE cost_centre IS NOT NULL;
CREATE INDEX irp_job_created_idx ON irp_job (batch_id, created_ts);
CREATE TABLE irp_batch_invoice (
    id       serial PRIMARY KEY,
    batch_id integer NOT NULL REFERENCES irp_batch (id),
    amount   numeric(10, 2) NOT NULL
);
INSERT INTO irp_batch_invoice (batch_id, amount)
SELECT id, 10 + id FROM irp_batch WHERE batch_type = 'EDM_CREATION' ORDER BY id;
GRANT SELECT ON irp_batch_event TO irp_backup_app;
GRANT SELECT ON irp_batch_overview TO irp_backup_app;
GRANT SELECT, INSERT ON irp_batch_invoice TO irp_backup_app;
ALTER TYPE batch_status_enum ADD VALUE 'ON_HOLD' BEFORE 'COMPLETED';
ALTER TYPE job_status_enum ADD VALUE 'RETRYING' BEFORE 'RUNNING';
UPDATE irp_batch SET status = 'ON_HOLD'
 WHERE id = (SELECT min(id) FROM irp_batch WHERE batch_type = 'ANALYSIS' AND status = 'ACTIVE' AND duplicate_of IS NULL);
UPDATE irp_job SET status = 'RETRYING' WHERE id = (SELECT max(id) FROM irp_job WHERE status = 'INITIATED');
-- Activity after the changes.
SELECT irp_create_batch('REPORT', 44, 5, jobs => '[{"report": "R1"}]');
UPDATE irp_batch SET cost_centre = 'CC-REPORT' WHERE batch_type = 'REPORT';

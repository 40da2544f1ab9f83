--
-- The triggers under misuse: NULLs where the table forbids them, rows that
-- name later rows, the trigger functions attached to other tables, and other
-- triggers on irp_batch that skip rows or cancel batches themselves.
--
CREATE EXTENSION irp_batch;
\set VERBOSITY terse

-- A NULL key or status is left to NOT NULL (23502), on INSERT and UPDATE.
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 99, NULL);
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, NULL, 'A');
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status) VALUES (1, 99, 'A', NULL);
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 99, NULL, 1);
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 99, 'A');
UPDATE irp_batch SET batch_type = NULL;
UPDATE irp_batch SET status = NULL;

-- duplicate_of must name a batch that exists when the row is written, not one
-- inserted later in the same statement (the foreign key checks only at its end).
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, duplicate_of)
VALUES (600, 1, 5, 'A', 601), (601, 1, 6, 'B', NULL);
-- Earlier in the same statement is fine.
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, duplicate_of)
VALUES (700, 1, 7, 'A', NULL), (701, 1, 7, 'A', 700);
SELECT id, configuration_id, batch_type, duplicate_of FROM irp_batch WHERE id >= 600 ORDER BY id;

-- The trigger functions only serve the extension's own irp_batch.
CREATE TABLE lookalike (id int, configuration_id int, batch_type int, status int, duplicate_of int);
CREATE TRIGGER g BEFORE INSERT ON lookalike FOR EACH ROW EXECUTE FUNCTION irp_batch_guard();
INSERT INTO lookalike VALUES (1, 1, 1094795585, 1, NULL);
DROP TRIGGER g ON lookalike;
CREATE TRIGGER a AFTER INSERT ON lookalike REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION irp_batch_audit();
INSERT INTO lookalike VALUES (1, 1, 1, 1, NULL);
DROP TABLE lookalike;
-- ... also for another role, who may attach them (EXECUTE is PUBLIC's, for
-- restores that run as the tables' owner) but not make them fire.
CREATE ROLE regress_irp_intruder;
SET ROLE regress_irp_intruder;
CREATE TEMP TABLE mine (id int, configuration_id int, batch_type text, status int, duplicate_of int);
CREATE TRIGGER g BEFORE INSERT ON mine FOR EACH ROW EXECUTE FUNCTION irp_batch_guard();
INSERT INTO mine VALUES (1, 1, 'x', 1, NULL);
SELECT irp_batch_guard();
DROP TABLE mine;
RESET ROLE;
DROP ROLE regress_irp_intruder;

-- ... nor with transition tables of other names.
CREATE TRIGGER zz AFTER UPDATE ON irp_batch REFERENCING OLD TABLE AS o NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION irp_batch_audit();
UPDATE irp_batch SET step_id = 2 WHERE id = 700;
DROP TRIGGER zz ON irp_batch;

-- Other BEFORE triggers that skip the extension's own writes: the functions
-- say so (09000) and nothing is written.
CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER skip BEFORE INSERT ON irp_batch FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT irp_create_batch('SKIPPED', 1, 1);
DROP TRIGGER skip ON irp_batch;
CREATE TRIGGER skip BEFORE INSERT ON irp_job FOR EACH ROW WHEN (NEW.job_configuration_data ? 'skip')
  EXECUTE FUNCTION skip_row();
SELECT irp_create_batch('SKIPPED', 1, 1, jobs => '[{"a": 1}, {"skip": true}]');
DROP TRIGGER skip ON irp_job;
SELECT irp_create_batch('SKIPPED', 1, 1, jobs => '[{"a": 1}, {"a": 2}]') AS skipped \gset
CREATE TRIGGER skip BEFORE UPDATE ON irp_batch FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT irp_cancel_batch(:skipped);
DROP TRIGGER skip ON irp_batch;
CREATE TRIGGER skip BEFORE UPDATE ON irp_job FOR EACH ROW EXECUTE FUNCTION skip_row();
SELECT irp_cancel_batch(:skipped);
DROP TRIGGER skip ON irp_job;
SELECT b.status, array_agg(j.status ORDER BY j.id) AS jobs
  FROM irp_batch b JOIN irp_job j ON j.batch_id = b.id WHERE b.id = :skipped GROUP BY b.status;
DROP FUNCTION skip_row();

-- A cancellation inside a cancellation: a user trigger that cancels a batch's
-- intentional duplicates when the batch is cancelled. Both are recorded as CANCELLED.
CREATE FUNCTION cancel_duplicates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM irp_cancel_batch(b.id, 'Original cancelled') FROM irp_batch b
    WHERE b.duplicate_of = NEW.id AND b.status IN ('INITIATED', 'ACTIVE');
  RETURN NULL;
END $$;
CREATE TRIGGER cancel_duplicates AFTER UPDATE OF status ON irp_batch FOR EACH ROW
  WHEN (NEW.status = 'CANCELLED') EXECUTE FUNCTION cancel_duplicates();
SELECT irp_create_batch('NESTED', 8, 1) AS original \gset
SELECT irp_create_batch('NESTED', 8, 1, allow_duplicate => true) AS duplicate \gset
SELECT irp_cancel_batch(:original, 'Wrong configuration');
SELECT batch_id = :original AS is_original, event, reason, details
  FROM irp_batch_event WHERE batch_id IN (:original, :duplicate) AND event <> 'DUPLICATE_CREATED' AND event <> 'CREATED'
 ORDER BY id;
DROP TRIGGER cancel_duplicates ON irp_batch;
DROP FUNCTION cancel_duplicates();

-- A table owner who drops a NOT NULL can store NULLs; the functions cope.
ALTER TABLE irp_batch ALTER COLUMN created_by DROP NOT NULL, ALTER COLUMN status DROP NOT NULL;
INSERT INTO irp_batch (step_id, configuration_id, batch_type, created_by) VALUES (1, 50, 'N', NULL) RETURNING id AS nameless \gset
SELECT irp_create_batch('N', 50, 1);
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status) VALUES (1, 51, 'N', NULL) RETURNING id AS statusless \gset
SELECT irp_cancel_batch(:statusless);

-- Errors caught in a loop do not pile up in the transaction's memory.
BEGIN;
DO $$
BEGIN
  FOR i IN 1..20000 LOOP
    BEGIN
      PERFORM irp_create_batch('N', 50, 1);
    EXCEPTION WHEN unique_violation THEN NULL;
    END;
  END LOOP;
END $$;
SELECT total_bytes < 1000000 AS bounded FROM pg_backend_memory_contexts WHERE name = 'TopTransactionContext';
COMMIT;

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

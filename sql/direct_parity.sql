--
-- Parity of the paths that skip SQL with the statements they replace: an
-- independent review of 2.1's performance work found each of these
-- differences (all of them printed FAIL before the fixes). Each block
-- prints PASS when the direct path behaves as the SQL INSERT does.
--
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION irp_batch;
SET irp_batch.notify = off;
SET client_min_messages = notice;

-- D1: varchar typmod of batch_type is not applied (value too long is stored).
ALTER TABLE irp_batch ALTER COLUMN batch_type TYPE varchar(10);
DO $$ BEGIN
  PERFORM irp_create_batch('ABCDEFGHIJKLMNOPQRST', 1, 1);
  RAISE NOTICE 'D1 FAIL: 20-character batch_type stored in varchar(10)';
EXCEPTION WHEN string_data_right_truncation THEN RAISE NOTICE 'D1 PASS (22001 as the INSERT raises)';
END $$;
ALTER TABLE irp_batch ALTER COLUMN batch_type TYPE varchar(255);

-- D2: domain constraints of columns the direct insert leaves NULL are not checked.
CREATE DOMAIN required_text AS text CHECK (VALUE IS NOT NULL);
ALTER TABLE irp_batch ADD COLUMN cost_center required_text DEFAULT 'legacy';
ALTER TABLE irp_batch ALTER COLUMN cost_center DROP DEFAULT;
DO $$ BEGIN
  PERFORM irp_create_batch('D2', 2, 1);
  RAISE NOTICE 'D2 FAIL: irp_batch.cost_center (domain NOT NULL) stored as NULL';
EXCEPTION WHEN check_violation THEN RAISE NOTICE 'D2 PASS (23514 as the INSERT raises)';
END $$;
ALTER TABLE irp_batch DROP COLUMN cost_center;
ALTER TABLE irp_batch_event ADD COLUMN source required_text DEFAULT 'legacy';
ALTER TABLE irp_batch_event ALTER COLUMN source DROP DEFAULT;
DO $$ BEGIN
  INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 3, 'D2b');  -- audit writes directly
  RAISE NOTICE 'D2b FAIL: irp_batch_event.source (domain NOT NULL) stored as NULL';
EXCEPTION WHEN check_violation THEN RAISE NOTICE 'D2b PASS';
END $$;
ALTER TABLE irp_batch_event DROP COLUMN source;

-- D3: planned defaults are cached across roles: an inlined SQL function's EXECUTE check is skipped.
CREATE ROLE regress_parity_writer;
GRANT SELECT, INSERT ON irp_batch, irp_job TO regress_parity_writer;
CREATE FUNCTION secret_region() RETURNS text LANGUAGE sql AS $f$ SELECT 'EU-' || 'west' $f$;
REVOKE EXECUTE ON FUNCTION secret_region() FROM PUBLIC;
ALTER TABLE irp_batch ADD COLUMN region text DEFAULT secret_region();
SELECT irp_create_batch('D3', 4, 1) > 0 AS owner_created;   -- plans and caches the defaults
SET ROLE regress_parity_writer;
DO $$ BEGIN
  PERFORM irp_create_batch('D3', 5, 1);
  RAISE NOTICE 'D3 FAIL: regress_parity_writer ran secret_region() without EXECUTE';
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'D3 PASS (42501 as the INSERT raises)';
END $$;
RESET ROLE;
ALTER TABLE irp_batch DROP COLUMN region;

-- D4: INSERT without SELECT privilege: the INSERT ... RETURNING id needs SELECT.
CREATE ROLE regress_parity_insert_only;
GRANT INSERT ON irp_batch TO regress_parity_insert_only;
SET ROLE regress_parity_insert_only;
DO $$ BEGIN
  PERFORM irp_create_batch('D4', 6, 1);
  RAISE NOTICE 'D4 FAIL: created a batch without SELECT on irp_batch';
EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'D4 PASS';
END $$;
RESET ROLE;

-- D5: a WHEN condition on the audit INSERT trigger is ignored by the direct create.
ALTER TABLE irp_batch DISABLE TRIGGER irp_batch_audit_insert;
CREATE TRIGGER irp_batch_audit_insert_when AFTER INSERT ON irp_batch REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT WHEN (current_setting('app.audit', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION irp_batch_audit();
SET app.audit = 'off';
SELECT irp_create_batch('D5', 7, 1) AS d5_batch \gset
SELECT CASE WHEN count(*) = 0 THEN 'D5 PASS' ELSE 'D5 FAIL: CREATED event written although the trigger''s WHEN is false' END
  FROM irp_batch_event WHERE batch_id = :d5_batch;
RESET app.audit;
DROP TRIGGER irp_batch_audit_insert_when ON irp_batch;
ALTER TABLE irp_batch ENABLE TRIGGER irp_batch_audit_insert;

-- D6: single-row UPDATE that changes id: the SQL audit pairs by id (no event); the direct one pairs by position.
SELECT irp_create_batch('D6', 8, 1) AS d6_batch \gset
ALTER TABLE irp_batch DISABLE TRIGGER irp_batch_guard;
UPDATE irp_batch SET id = 100000, status = 'ACTIVE' WHERE id = :d6_batch;
ALTER TABLE irp_batch ENABLE TRIGGER irp_batch_guard;
SELECT CASE WHEN count(*) = 0 THEN 'D6 PASS' ELSE 'D6 FAIL: STATUS_CHANGED written for batch 100000 (the SQL writes none)' END
  FROM irp_batch_event WHERE batch_id = 100000;

-- D7: irp_get_active_batches_for_config trusts an index of the extension's name whatever its predicate.
SELECT irp_create_batch('D7', 9, 1, jobs => '[{"a":1},{"a":2},{"a":3}]');
SELECT irp_create_batch('D7b', 9, 1);
UPDATE irp_job SET status = 'FINISHED' WHERE id = (SELECT min(id) FROM irp_job);
UPDATE irp_batch SET status = 'ACTIVE' WHERE batch_type = 'D7b';
DROP INDEX idx_job_batch_id;
CREATE INDEX idx_job_batch_id ON irp_job (batch_id) WHERE status <> 'FINISHED';
DROP INDEX idx_batch_active;
CREATE INDEX idx_batch_active ON irp_batch (configuration_id, batch_type, created_ts) WHERE status = 'INITIATED';
SELECT CASE WHEN (SELECT array_agg(row(id, job_count)::text ORDER BY id) FROM irp_get_active_batches_for_config(9))
               = (SELECT array_agg(row(b.id, (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id))::text ORDER BY b.id)
                    FROM irp_batch b WHERE b.configuration_id = 9 AND b.status IN ('INITIATED', 'ACTIVE'))
            THEN 'D7 PASS' ELSE 'D7 FAIL: rows/job counts differ from the query' END;
SELECT irp_batch_setup() IS NOT NULL AS indexes_restored;

-- D8: irp_batch_event missing: internal error XX000 instead of the audit's 42P01.
BEGIN;
DROP TABLE irp_batch_event;
DO $$ BEGIN
  PERFORM irp_create_batch('D8', 10, 1);
EXCEPTION WHEN undefined_table THEN RAISE NOTICE 'D8 PASS (42P01)';
          WHEN internal_error THEN RAISE NOTICE 'D8 FAIL: XX000 %', SQLERRM;
END $$;
ROLLBACK;

-- D9: a default that fails while being planned leaks no memory context (one parsed entry is kept).
ALTER TABLE irp_batch ADD COLUMN broken int;
ALTER TABLE irp_batch ALTER COLUMN broken SET DEFAULT 1/0;
DO $$ BEGIN FOR i IN 1..500 LOOP BEGIN PERFORM irp_create_batch('D9', 11, 1); EXCEPTION WHEN division_by_zero THEN NULL; END; END LOOP; END $$;
SELECT CASE WHEN count(*) < 10 THEN 'D9 PASS' ELSE format('D9 FAIL: %s leaked contexts, %s bytes', count(*), sum(total_bytes)) END
  FROM pg_backend_memory_contexts WHERE name = 'irp_batch parsed defaults and checks';
ALTER TABLE irp_batch DROP COLUMN broken;

SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE IF EXISTS irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
DROP FUNCTION secret_region();
DROP DOMAIN required_text;
DROP OWNED BY regress_parity_writer, regress_parity_insert_only;
DROP ROLE regress_parity_writer, regress_parity_insert_only;
RESET client_min_messages;

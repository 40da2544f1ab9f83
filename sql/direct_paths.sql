--
-- The paths that skip SQL, and when they yield to it.
--
-- irp_create_batch() and irp_ensure_batch() insert their batch row without
-- SQL (row_insert.hpp) when that runs what their INSERT statement would:
-- the guard, foreign keys, defaults and CHECK constraints as PostgreSQL
-- has them now, and the creation event only when the audit trigger would
-- fire. Anything else on irp_batch (another trigger, row security) makes
-- them run the INSERT statement, so that it acts as on any INSERT.
--
-- irp_get_active_batches_for_config() reads its two indexes directly unless
-- row security, a missing privilege or an unusable index says otherwise.
--
CREATE EXTENSION irp_batch;
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE ROLE regress_irp_direct;
GRANT USAGE ON SCHEMA public TO regress_irp_direct;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_direct;
GRANT SELECT ON irp_batch_event TO regress_irp_direct;

-- Defaults: as the table has them at each call (a change is seen at once).
SELECT irp_create_batch('DEFAULTS', 1, 1);
ALTER TABLE irp_batch ALTER COLUMN created_by SET DEFAULT 'the-notebook';
SELECT irp_create_batch('DEFAULTS', 2, 1);
CREATE FUNCTION regress_source() RETURNS text LANGUAGE sql AS $$SELECT 'first'$$;
ALTER TABLE irp_batch ADD COLUMN source text DEFAULT regress_source();
SELECT irp_create_batch('DEFAULTS', 3, 1);
CREATE OR REPLACE FUNCTION regress_source() RETURNS text LANGUAGE sql AS $$SELECT 'second'$$;
SELECT irp_create_batch('DEFAULTS', 4, 1);
SELECT configuration_id, status, created_by, source, created_ts IS NOT NULL AS created_ts
  FROM irp_batch WHERE batch_type = 'DEFAULTS' ORDER BY id;

-- CHECK constraints: one added after the backend planned the others holds at once.
ALTER TABLE irp_batch ADD CONSTRAINT regress_small_config CHECK (configuration_id < 1000);
SELECT irp_create_batch('CHECKED', 1000, 1);
SELECT irp_create_batch('CHECKED', 999, 1) > 0 AS created;
ALTER TABLE irp_batch DROP CONSTRAINT regress_small_config;
SELECT irp_create_batch('CHECKED', 1000, 1) > 0 AS created;

-- The guard fires as a row trigger: the duplicate error, and an intentional duplicate.
SELECT irp_create_batch('CHECKED', 1000, 1);
SELECT irp_create_batch('CHECKED', 1000, 1, allow_duplicate => true) > 0 AS created;

-- The audit trigger disabled, or not firing for session_replication_role =
-- replica: no event, as with the INSERT statement.
ALTER TABLE irp_batch DISABLE TRIGGER irp_batch_audit_insert;
SELECT irp_create_batch('UNAUDITED', 1, 1) AS unaudited \gset
ALTER TABLE irp_batch ENABLE TRIGGER irp_batch_audit_insert;
SET session_replication_role = replica;
SELECT irp_create_batch('REPLICA', 1, 1) AS replica \gset
RESET session_replication_role;
SELECT b.batch_type, count(e.id) AS events FROM irp_batch b LEFT JOIN irp_batch_event e ON e.batch_id = b.id
 WHERE b.id IN (:unaudited, :replica) GROUP BY b.batch_type ORDER BY 1;

-- Another trigger on irp_batch, row or statement: the INSERT statement runs, and it fires.
CREATE TABLE regress_seen (what text, n bigint);
GRANT INSERT ON regress_seen TO regress_irp_direct;
CREATE FUNCTION regress_note_row() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO regress_seen VALUES ('row ' || NEW.batch_type, 1); RETURN NEW; END$$;
CREATE FUNCTION regress_note_statement() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO regress_seen SELECT 'statement', count(*) FROM new_rows; RETURN NULL; END$$;
CREATE TRIGGER regress_note_row BEFORE INSERT ON irp_batch FOR EACH ROW EXECUTE FUNCTION regress_note_row();
SELECT irp_create_batch('ROW_TRIGGER', 1, 1) > 0 AS created;
DROP TRIGGER regress_note_row ON irp_batch;
CREATE TRIGGER regress_note_statement AFTER INSERT ON irp_batch REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION regress_note_statement();
SELECT irp_create_batch('STATEMENT_TRIGGER', 1, 1) > 0 AS created;
DROP TRIGGER regress_note_statement ON irp_batch;
SELECT * FROM regress_seen ORDER BY what;

-- Row security on irp_batch holds the caller to its policies.
ALTER TABLE irp_batch ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_read ON irp_batch FOR SELECT USING (true);
CREATE POLICY regress_low ON irp_batch FOR INSERT WITH CHECK (configuration_id < 500);
SET ROLE regress_irp_direct;
SELECT irp_create_batch('POLICY', 499, 1) > 0 AS created;
SELECT irp_create_batch('POLICY', 500, 1);
RESET ROLE;
ALTER TABLE irp_batch DISABLE ROW LEVEL SECURITY;

-- Without the INSERT privilege: PostgreSQL's own error.
REVOKE INSERT ON irp_batch FROM regress_irp_direct;
SET ROLE regress_irp_direct;
SELECT irp_create_batch('NO_PRIVILEGE', 1, 1);
RESET ROLE;

-- irp_get_active_batches_for_config: the same rows whichever way it reads them.
CREATE TEMP TABLE regress_expected AS SELECT * FROM irp_get_active_batches_for_config(1000);
SELECT id, batch_type, status, job_count, duplicate_of FROM regress_expected ORDER BY created_ts DESC, id DESC;
-- Row security on irp_job (a policy hiding jobs): the query runs, and the counts follow the policy.
SELECT irp_create_batch('WITH_JOBS', 1000, 1, jobs => '[{"a": 1}, {"a": 2}, {"b": 3}]') AS with_jobs \gset
SELECT job_count FROM irp_get_active_batches_for_config(1000, 'WITH_JOBS');
ALTER TABLE irp_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_some_jobs ON irp_job FOR SELECT USING (job_configuration_data ? 'a');
GRANT SELECT ON irp_batch, irp_job TO regress_irp_direct;
SET ROLE regress_irp_direct;
SELECT job_count FROM irp_get_active_batches_for_config(1000, 'WITH_JOBS');
RESET ROLE;
ALTER TABLE irp_job DISABLE ROW LEVEL SECURITY;
-- Without SELECT on irp_job: PostgreSQL's own error.
REVOKE SELECT ON irp_job FROM regress_irp_direct;
SET ROLE regress_irp_direct;
SELECT job_count FROM irp_get_active_batches_for_config(1000, 'WITH_JOBS');
RESET ROLE;
-- idx_batch_active not ready (as early in CREATE INDEX CONCURRENTLY): a batch
-- created meanwhile is not in it, and the table is read instead.
UPDATE pg_index SET indisvalid = false, indisready = false WHERE indexrelid = 'idx_batch_active'::regclass;
SELECT irp_create_batch('NOT_INDEXED', 1000, 1) AS not_indexed \gset
SELECT id = :not_indexed AS not_indexed_batch_listed FROM irp_get_active_batches_for_config(1000, 'NOT_INDEXED');
UPDATE pg_index SET indisvalid = true, indisready = true WHERE indexrelid = 'idx_batch_active'::regclass;
REINDEX INDEX idx_batch_active;
SELECT id = :not_indexed AS not_indexed_batch_listed FROM irp_get_active_batches_for_config(1000, 'NOT_INDEXED');

-- Every batch but the unaudited two has exactly one creation event, by the right actor.
SELECT b.id, b.batch_type, count(e.id) AS creations FROM irp_batch b
  LEFT JOIN irp_batch_event e ON e.batch_id = b.id AND e.event IN ('CREATED', 'DUPLICATE_CREATED')
 WHERE b.id NOT IN (:unaudited, :replica)
 GROUP BY b.id, b.batch_type HAVING count(e.id) <> 1;
SELECT actor, count(*) FROM irp_batch_event GROUP BY actor ORDER BY actor;

SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch, regress_seen;
DROP TYPE batch_status_enum, job_status_enum;
DROP FUNCTION regress_source(), regress_note_row(), regress_note_statement();
DROP OWNED BY regress_irp_direct;
DROP ROLE regress_irp_direct;
RESET client_min_messages;

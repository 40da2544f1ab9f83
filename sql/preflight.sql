--
-- irp_batch_preflight (what the notebook shows before creating batches) and
-- irp_ensure_batch (the idempotent re-run).
--
CREATE EXTENSION irp_batch;
SET timezone = 'UTC';

-- Runs stmt; returns 'ok: <first column>' or '<SQLSTATE>: <message> (<detail>)'.
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text; state text; msg text; det text;
BEGIN
  EXECUTE stmt INTO result;
  RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN state || ': ' || msg || coalesce(' (' || nullif(det, '') || ')', '');
END $$;
CREATE FUNCTION pg_temp.contents() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat(
    (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp_batch b),
    (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
    (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e)))
$$;

-- Data: an EDM batch with two jobs and its intentional duplicate, a cancelled
-- portfolio batch, and another configuration's batch.
INSERT INTO irp_batch (step_id, configuration_id, batch_type, created_ts, created_by)
VALUES (3, 42, 'EDM_CREATION', '2026-11-28 09:00:00+00', 'alice');
INSERT INTO irp_job (batch_id) VALUES (1), (1);
INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of, created_ts, created_by)
VALUES (3, 42, 'EDM_CREATION', 1, '2026-11-28 10:00:00+00', 'bob');
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status, created_ts)
VALUES (3, 42, 'PORTFOLIO_CREATION', 'CANCELLED', '2026-11-28 08:00:00+00');
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (3, 43, 'PORTFOLIO_CREATION');

-- One row per requested type in the order given; its active batches oldest
-- first, or one row without a batch. A type listed twice appears once, at its
-- first place. Finished batches and other configurations do not count.
-- (2.1's columns last_change, stale and message: the progress test.)
SELECT batch_type, batch_id, status, created_ts, created_by, job_count, duplicate_of
  FROM irp_batch_preflight(42, ARRAY['PORTFOLIO_CREATION', 'EDM_CREATION', 'ANALYSIS', 'PORTFOLIO_CREATION']);
-- Nothing asked, nothing returned.
SELECT count(*) FROM irp_batch_preflight(42, '{}');

-- irp_ensure_batch: the batch the duplicate error would name (rule 3), no jobs added ...
SELECT * FROM irp_ensure_batch('EDM_CREATION', 42, 4, '[{"edm": "again"}]');
-- ... or a new batch with its jobs, in order; a second call returns it.
SELECT * FROM irp_ensure_batch('PORTFOLIO_CREATION', 42, 4, '[{"p": 1}, {"p": 2}]');
SELECT * FROM irp_ensure_batch('PORTFOLIO_CREATION', 42, 4, '[{"p": 1}, {"p": 2}]');
SELECT * FROM irp_ensure_batch('ANALYSIS', 42, 4);
SELECT b.id, b.batch_type, b.duplicate_of, count(j.id) AS jobs, jsonb_agg(j.job_configuration_data ORDER BY j.id)
  FROM irp_batch b LEFT JOIN irp_job j ON j.batch_id = b.id
 WHERE b.configuration_id = 42 GROUP BY b.id ORDER BY b.id;
-- With the original finished, it returns the oldest active duplicate.
UPDATE irp_batch SET status = 'COMPLETED' WHERE id = 1;
SELECT * FROM irp_ensure_batch('EDM_CREATION', 42, 4);
SELECT batch_id, event FROM irp_batch_event WHERE event IN ('CREATED', 'DUPLICATE_CREATED') ORDER BY id;

-- Bad input: an error with its SQLSTATE, and nothing written.
SELECT pg_temp.contents() AS before \gset
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$SELECT count(*) FROM irp_batch_preflight(NULL, '{EDM_CREATION}')$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, NULL)$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, ARRAY['EDM_CREATION', NULL])$$),
  ($$SELECT count(*) FROM irp_batch_preflight(0, '{EDM_CREATION}')$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, ARRAY['EDM_CREATION', ''])$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, ARRAY[repeat('x', 256)])$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, ARRAY[E'EDM\nCREATION'])$$),
  ($$SELECT count(*) FROM irp_batch_preflight(42, '{{EDM_CREATION},{ANALYSIS}}')$$),
  ($$SELECT batch_id FROM irp_ensure_batch(NULL, 42, 4)$$),
  ($$SELECT batch_id FROM irp_ensure_batch('NEW_TYPE', NULL, 4)$$),
  ($$SELECT batch_id FROM irp_ensure_batch('NEW_TYPE', 42, NULL)$$),
  ($$SELECT batch_id FROM irp_ensure_batch('NEW_TYPE', 42, 0)$$),
  ($$SELECT batch_id FROM irp_ensure_batch(' NEW_TYPE', 42, 4)$$),
  ($$SELECT batch_id FROM irp_ensure_batch('NEW_TYPE', 42, 4, '{"a": 1}')$$),
  ($$SELECT batch_id FROM irp_ensure_batch('NEW_TYPE', 42, 4, '[{"a": 1}, 2]')$$)
) AS cases(stmt);
SELECT pg_temp.contents() = :'before' AS nothing_changed;
-- At the limit: 255 characters.
SELECT count(*) FROM irp_batch_preflight(42, ARRAY[repeat('x', 255)]);
SELECT created FROM irp_ensure_batch(repeat('x', 255), 42, 4);

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

--
-- Live batch status: irp_batch_progress, irp_stale_batches, the stale
-- columns and message of irp_batch_preflight, the settings irp_batch.notify
-- and irp_batch.stale_after, bad input, and the irp_job_progress trigger's
-- checks. (What the notifications say: specs/notify_*.spec.)
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

-- The settings and their defaults.
SHOW irp_batch.notify;
SHOW irp_batch.stale_after;
SELECT name, setting, unit, vartype, context, min_val, max_val FROM pg_settings
 WHERE name IN ('irp_batch.notify', 'irp_batch.stale_after') ORDER BY name;

-- Batches of every kind (their notifications are not the point here).
SET irp_batch.notify = off;
-- 1: fresh, six jobs in four statuses.
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{}, {}, {}, {}, {}, {}]');
UPDATE irp_job SET status = 'RUNNING' WHERE id = 3;
UPDATE irp_job SET status = 'FINISHED', completed_ts = now() WHERE id IN (4, 5);
UPDATE irp_job SET status = 'FAILED', completed_ts = now() WHERE id = 6;
-- 2: no jobs, nothing since 2020-01-01 10:00.
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3);
-- 3: the latest time is a job's completed_ts (2020-01-02 12:00).
SELECT irp_create_batch('EDM_CREATION', 43, 3, jobs => '[{}, {}]');
UPDATE irp_job SET status = 'FINISHED', completed_ts = '2020-01-02 12:00+00' WHERE id = 8;
-- 4: the latest time is an audit event's (2020-01-03 08:00): ACTIVE since then.
SELECT irp_create_batch('EDM_CREATION', 44, 3, jobs => '[{}]');
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 4;
-- 5: finished long ago: never stale.
SELECT irp_create_batch('EDM_CREATION', 45, 3);
UPDATE irp_batch SET status = 'COMPLETED' WHERE id = 5;
-- 6: nothing for 30 hours.
SELECT irp_create_batch('EDM_CREATION', 46, 3, jobs => '[{}]');
-- 7: no recorded time at all (an adopted row: nullable times, no event).
ALTER TABLE irp_batch ALTER COLUMN created_ts DROP NOT NULL, ALTER COLUMN updated_ts DROP NOT NULL;
INSERT INTO irp_batch (step_id, configuration_id, batch_type, created_ts, updated_ts)
VALUES (3, 47, 'EDM_CREATION', NULL, NULL);
DELETE FROM irp_batch_event WHERE batch_id = 7;
-- Set the clocks back (as the owner of the tables may).
UPDATE irp_batch SET created_ts = '2020-01-01 10:00+00', updated_ts = '2020-01-01 10:00+00' WHERE id BETWEEN 2 AND 5;
UPDATE irp_job SET created_ts = '2020-01-01 10:00+00', updated_ts = '2020-01-01 10:00+00' WHERE batch_id BETWEEN 2 AND 5;
UPDATE irp_batch_event SET event_ts = '2020-01-01 10:00+00' WHERE batch_id BETWEEN 2 AND 5;
UPDATE irp_batch_event SET event_ts = '2020-01-03 08:00+00' WHERE batch_id = 4 AND event = 'STATUS_CHANGED';
UPDATE irp_batch SET created_ts = now() - interval '30 hours', updated_ts = now() - interval '30 hours' WHERE id = 6;
UPDATE irp_job SET created_ts = now() - interval '30 hours', updated_ts = now() - interval '30 hours' WHERE batch_id = 6;
UPDATE irp_batch_event SET event_ts = now() - interval '30 hours' WHERE batch_id = 6;
RESET irp_batch.notify;

-- Progress: one row per given batch that exists, in the order given, each
-- once; counts by status (non-zero only); finished = neither INITIATED,
-- SUBMITTED, QUEUED, PENDING nor RUNNING; NULL fraction without jobs.
SELECT batch_id, status, total_jobs, counts, finished_fraction,
       CASE WHEN last_change > now() - interval '1 hour' THEN 'recent'
            WHEN last_change > now() - interval '2 days' THEN 'about 30 hours ago' ELSE last_change::text END AS last_change,
       stale
  FROM irp_batch_progress(ARRAY[2, 1, 999, 3, 4, 5, 6, 7, 2]);
SELECT count(*) FROM irp_batch_progress('{}');
-- The last change follows each of its sources: a job's update ...
UPDATE irp_job SET updated_ts = '2020-01-05 00:00+00' WHERE id = 7;
SELECT last_change FROM irp_batch_progress(ARRAY[3]);
-- ... the batch's own updated_ts ...
UPDATE irp_batch SET updated_ts = '2020-01-06 00:00+00' WHERE id = 3;
SELECT last_change FROM irp_batch_progress(ARRAY[3]);
-- ... a job's creation ...
UPDATE irp_job SET created_ts = '2020-01-07 00:00+00' WHERE id = 8;
SELECT last_change FROM irp_batch_progress(ARRAY[3]);
-- ... and an event.
UPDATE irp_batch_event SET event_ts = '2020-01-08 00:00+00' WHERE batch_id = 3;
SELECT last_change FROM irp_batch_progress(ARRAY[3]);

-- irp_batch.stale_after decides: 30 hours idle is stale after a day (the
-- default) or 26 hours, not after two days.
SELECT batch_id, stale FROM irp_batch_progress(ARRAY[6]);
SET irp_batch.stale_after = '2d';
SELECT batch_id, stale FROM irp_batch_progress(ARRAY[6]);
SET irp_batch.stale_after = '26h';
SELECT batch_id, stale FROM irp_batch_progress(ARRAY[6]);
SET irp_batch.stale_after = 111600;  -- a number is seconds: 31 hours
SELECT batch_id, stale FROM irp_batch_progress(ARRAY[6]);
RESET irp_batch.stale_after;
-- A duration GUC: units us, ms, s, min, h, d; at least one second.
SELECT pg_temp.outcome($$SELECT set_config('irp_batch.stale_after', '1 day', false)$$);
SELECT pg_temp.outcome($$SELECT set_config('irp_batch.stale_after', '0', false)$$);
SELECT pg_temp.outcome($$SELECT set_config('irp_batch.notify', 'maybe', false)$$);

-- Stale batches: active, unchanged for older_than (default a day) or with
-- no recorded time (first); oldest activity first.
SELECT batch_id, configuration_id, batch_type, status,
       CASE WHEN last_change > now() - interval '2 days' THEN 'about 30 hours ago' ELSE last_change::text END AS last_change,
       CASE WHEN idle < interval '2 days' THEN 'about 30 hours' WHEN idle IS NULL THEN NULL ELSE 'years' END AS idle,
       total_jobs
  FROM irp_stale_batches();
SELECT bool_and(idle = now() - last_change) AS idle_is_now_minus_last_change FROM irp_stale_batches();
SELECT array_agg(batch_id) AS idle_two_days FROM irp_stale_batches('2 days');
SELECT array_agg(batch_id) AS idle_at_all FROM irp_stale_batches('0');
SELECT array_agg(batch_id) AS idle_for_a_day_less_a_second FROM irp_stale_batches('1 day -1 second');

-- Preflight marks them, and says what to do.
SELECT batch_type, batch_id, status, stale,
       CASE WHEN last_change > now() - interval '2 days' THEN 'recent' ELSE last_change::text END AS last_change,
       regexp_replace(regexp_replace(message, '\d+ seconds? ago', 'N seconds ago'), '\d+ days', 'N days', 'g') AS message
  FROM irp_batch_preflight(42, ARRAY['EDM_CREATION', 'PORTFOLIO_CREATION', 'ANALYSIS']);
SELECT batch_id, stale, message FROM irp_batch_preflight(46, ARRAY['EDM_CREATION']);
SELECT batch_id, stale, message FROM irp_batch_preflight(47, ARRAY['EDM_CREATION']);
SET irp_batch.stale_after = '2d';
SELECT batch_id, stale, regexp_replace(message, '\d+ hours', 'N hours') AS message
  FROM irp_batch_preflight(46, ARRAY['EDM_CREATION']);
RESET irp_batch.stale_after;

-- Bad input: 22004 for NULL, 22023 for a value no batch can have.
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$SELECT count(*) FROM irp_batch_progress(NULL)$$),
  ($$SELECT count(*) FROM irp_batch_progress(ARRAY[1, NULL])$$),
  ($$SELECT count(*) FROM irp_batch_progress(ARRAY[1, 0])$$),
  ($$SELECT count(*) FROM irp_batch_progress(ARRAY[-7])$$),
  ($$SELECT count(*) FROM irp_batch_progress('{{1},{2}}')$$),
  ($$SELECT count(*) FROM irp_stale_batches(NULL)$$),
  ($$SELECT count(*) FROM irp_stale_batches('-1 day')$$),
  ($$SELECT count(*) FROM irp_stale_batches('1 mon -31 days')$$),
  ($$SELECT count(*) FROM irp_stale_batches('-1 second')$$)
) AS t(stmt);

-- The progress trigger counts jobs as the owner of irp_job: a role that may
-- only insert jobs still can.
CREATE ROLE regress_irp_job_writer;
GRANT USAGE ON SCHEMA public TO regress_irp_job_writer;
GRANT INSERT ON irp_job TO regress_irp_job_writer;
SET ROLE regress_irp_job_writer;
INSERT INTO irp_job (batch_id) VALUES (1);
RESET ROLE;
SELECT total_jobs FROM irp_batch_progress(ARRAY[1]);
DROP OWNED BY regress_irp_job_writer;
DROP ROLE regress_irp_job_writer;

-- irp_job_progress() runs only as the AFTER statement triggers on the
-- extension's irp_job, with its transition tables (39P01), even when
-- irp_batch.notify is off.
SET irp_batch.notify = off;
CREATE TABLE regress_other (id integer, batch_id integer, status text);
CREATE TRIGGER progress_elsewhere AFTER INSERT ON regress_other REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION irp_job_progress();
SELECT pg_temp.outcome($$INSERT INTO regress_other VALUES (1, 1, 'RUNNING')$$);
DROP TABLE regress_other;
CREATE TRIGGER progress_by_row AFTER UPDATE ON irp_job FOR EACH ROW EXECUTE FUNCTION irp_job_progress();
SELECT pg_temp.outcome($$UPDATE irp_job SET status = 'QUEUED' WHERE id = 1$$);
DROP TRIGGER progress_by_row ON irp_job;
CREATE TRIGGER progress_without_tables AFTER UPDATE ON irp_job FOR EACH STATEMENT EXECUTE FUNCTION irp_job_progress();
SELECT pg_temp.outcome($$UPDATE irp_job SET status = 'QUEUED' WHERE id = 1$$);
DROP TRIGGER progress_without_tables ON irp_job;
RESET irp_batch.notify;

-- Clean up.
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;

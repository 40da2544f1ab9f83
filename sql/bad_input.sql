--
-- Bad input to the SQL API: every case is an error with its SQLSTATE, never a
-- silent NULL, and writes nothing.
--
CREATE EXTENSION irp_batch;

-- Runs stmt; returns 'ok: <first column>' or '<SQLSTATE>: <message> (<detail>)',
-- and whether any row of the three tables changed.
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text; state text; msg text; det text; before text := pg_temp.contents();
BEGIN
  BEGIN
    EXECUTE stmt INTO result;
    result := 'ok: ' || coalesce(result, 'NULL');
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    result := state || ': ' || msg || coalesce(' (' || nullif(det, '') || ')', '');
  END;
  RETURN result || CASE WHEN pg_temp.contents() = before THEN '' ELSE ' [CHANGED ROWS]' END;
END $$;

-- Everything in the three tables, as one value.
CREATE FUNCTION pg_temp.contents() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat(
    (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp_batch b),
    (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
    (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e)))
$$;

SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}]') AS batch;
SELECT pg_temp.contents() AS before \gset

SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  -- NULL in a required argument: 22004
  ($$SELECT irp_create_batch(NULL, 1, 1)$$),
  ($$SELECT irp_create_batch('X', NULL, 1)$$),
  ($$SELECT irp_create_batch('X', 1, NULL)$$),
  ($$SELECT irp_create_batch('X', 1, 1, allow_duplicate => NULL)$$),
  ($$SELECT irp_cancel_batch(NULL)$$),
  ($$SELECT irp_cancel_batch(1, NULL)$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(NULL)$$),
  -- batch_type: empty, too long, whitespace at either end, control characters: 22023
  ($$SELECT irp_create_batch('', 1, 1)$$),
  ($$SELECT irp_create_batch(repeat('x', 256), 1, 1)$$),
  ($$SELECT irp_create_batch(repeat('é', 256), 1, 1)$$),
  ($$SELECT irp_create_batch(' EDM', 1, 1)$$),
  ($$SELECT irp_create_batch('EDM ', 1, 1)$$),
  ($$SELECT irp_create_batch(E'EDM\t', 1, 1)$$),
  ($$SELECT irp_create_batch(E'ED\nM', 1, 1)$$),
  ($$SELECT irp_create_batch('ED' || chr(127) || 'M', 1, 1)$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(1, '')$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(1, ' EDM')$$),
  -- ids <= 0: 22023
  ($$SELECT irp_create_batch('X', 0, 1)$$),
  ($$SELECT irp_create_batch('X', -1, 1)$$),
  ($$SELECT irp_create_batch('X', 1, 0)$$),
  ($$SELECT irp_cancel_batch(0)$$),
  ($$SELECT irp_cancel_batch(-7)$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(0)$$),
  -- jobs that are not an array of objects: 22023
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '{"edm": "A"}')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '"A"')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '7')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => 'true')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => 'null')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '[{"edm": "A"}, 2]')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '[{"edm": "A"}, {"edm": "B"}, [3]]')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '[null]')$$),
  ($$SELECT irp_create_batch('X', 1, 1, jobs => '["A"]')$$),
  -- an empty or blank reason: 22023
  ($$SELECT irp_cancel_batch(1, '')$$),
  ($$SELECT irp_cancel_batch(1, E'  \t ')$$),
  -- an unknown batch: P0002
  ($$SELECT irp_cancel_batch(9999)$$),
  ($$SELECT irp_cancel_batch(9999, 'gone')$$)
) AS cases(stmt);

-- None of it changed a row (each case says so above; and all of them together).
SELECT pg_temp.contents() = :'before' AS nothing_changed;

-- Values at the limits are accepted: 255 characters (also when multibyte),
-- an empty jobs array, and no jobs at all; NULL batch_type means every type.
SELECT irp_create_batch(repeat('x', 255), 1, 1) AS ascii,
       irp_create_batch(repeat('é', 255), 1, 1) AS multibyte,
       irp_create_batch('EMPTY_JOBS', 1, 1, jobs => '[]') AS empty_jobs,
       irp_create_batch('NO_JOBS', 1, 1, jobs => NULL) AS no_jobs \gset
SELECT b.id, length(b.batch_type) AS chars, octet_length(b.batch_type) AS bytes,
       (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id) AS jobs
  FROM irp_batch b WHERE b.id IN (:ascii, :multibyte, :empty_jobs, :no_jobs) ORDER BY b.id;
SELECT count(*) AS all_types FROM irp_get_active_batches_for_config(1, NULL);
SELECT irp_create_batch('Ünïcødé batch', 2147483647, 2147483647) > 0 AS max_ids_ok;

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

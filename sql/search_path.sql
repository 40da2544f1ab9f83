--
-- search_path safety. A hostile schema first in search_path defines its own
-- irp_batch, irp_job and irp_batch_event tables, an integer = and <>
-- operator, and now(), count(*), to_char() and jsonb_strip_nulls() that
-- record every call. Every function and trigger of the extension still works
-- on the extension's own tables and never calls anything of the hostile
-- schema: the extension's SQL names every object with its schema. The same
-- with the extension in a schema of its own that the search_path lacks.
--
CREATE EXTENSION irp_batch;
\set VERBOSITY terse

CREATE SCHEMA hostile;
CREATE TABLE hostile.called (what text);
CREATE TABLE hostile.irp_batch (id integer, step_id integer, configuration_id integer, batch_type text,
  status text, duplicate_of integer, cancel_reason text, created_by text, created_ts timestamptz,
  updated_ts timestamptz, completed_ts timestamptz);
CREATE TABLE hostile.irp_job (id integer, batch_id integer, status text, job_configuration_data jsonb,
  created_ts timestamptz, updated_ts timestamptz, completed_ts timestamptz);
CREATE TABLE hostile.irp_batch_event (id bigint, batch_id integer, event text, reason text, actor text,
  details jsonb, event_ts timestamptz);
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('now()');
  RETURN pg_catalog.now();
END $$;
CREATE FUNCTION hostile.count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('count(*)');
  RETURN $1 + 1;
END $$;
CREATE AGGREGATE hostile.count(*) (SFUNC = hostile.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION hostile.int_eq(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('=');
  RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR hostile.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = hostile.int_eq);
CREATE FUNCTION hostile.int_ne(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('<>');
  RETURN $1 OPERATOR(pg_catalog.<>) $2;
END $$;
CREATE OPERATOR hostile.<> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = hostile.int_ne);
CREATE FUNCTION hostile.to_char(timestamptz, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('to_char()');
  RETURN 'forged';
END $$;
CREATE FUNCTION hostile.jsonb_strip_nulls(jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO hostile.called VALUES ('jsonb_strip_nulls()');
  RETURN '{"forged": true}';
END $$;

-- The traps work: with hostile first (before pg_catalog), plain SQL calls them.
SET search_path = hostile, pg_catalog, public;
SELECT 1 = 1 AS eq, to_char(now(), 'YYYY') AS year, (SELECT count(*) FROM (VALUES (1)) v) AS n;
SELECT what, count(*) FROM hostile.called GROUP BY what ORDER BY what;
TRUNCATE hostile.called;

-- Every function and trigger path, with that search_path. (The test's own
-- WHERE clauses write OPERATOR(pg_catalog.=), so that any call comes from the
-- extension.)
SELECT irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"edm": "A"}, {"edm": "B"}]') AS created;
SELECT irp_create_batch('EDM_CREATION', 1, 2);
SELECT irp_create_batch('EDM_CREATION', 1, 2, allow_duplicate => true) AS duplicate;
SELECT id, batch_type, status, job_count, duplicate_of FROM irp_get_active_batches_for_config(1);
SELECT id FROM irp_get_active_batches_for_config(1, 'EDM_CREATION');
INSERT INTO public.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 2, 'EDM_CREATION');
INSERT INTO public.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 2, 'EDM_CREATION');
INSERT INTO public.irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (3, 3, 'EDM_CREATION', 1);
UPDATE public.irp_batch SET configuration_id = 5 WHERE id OPERATOR(pg_catalog.=) 1;
UPDATE public.irp_batch SET status = 'ACTIVE' WHERE id OPERATOR(pg_catalog.=) 3;
SELECT irp_cancel_batch(1, 'hostile search_path');
UPDATE public.irp_batch SET status = 'INITIATED' WHERE id OPERATOR(pg_catalog.=) 1;
DELETE FROM public.irp_batch WHERE id OPERATOR(pg_catalog.=) 3;
TRUNCATE public.irp_job, public.irp_batch;
RESET search_path;

-- Nothing of the hostile schema was called or written.
SELECT coalesce(string_agg(what, ', '), 'none') AS hostile_calls FROM hostile.called;
SELECT (SELECT count(*) FROM hostile.irp_batch) + (SELECT count(*) FROM hostile.irp_job)
     + (SELECT count(*) FROM hostile.irp_batch_event) AS hostile_rows;
-- The extension's own audit trail has it all, with real values.
SELECT batch_id, event, reason, details - 'submitted_job_ids' AS details FROM irp_batch_event ORDER BY id;

-- The extension in a schema of its own, called from a search_path without it.
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;
CREATE SCHEMA irp;
CREATE EXTENSION irp_batch SCHEMA irp;
SET search_path = hostile, pg_catalog;
SELECT irp.irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"edm": "A"}]') AS created;
SELECT irp.irp_create_batch('EDM_CREATION', 1, 2);
SELECT irp.irp_create_batch('EDM_CREATION', 1, 2, allow_duplicate => true) AS duplicate;
SELECT id, batch_type, status, job_count, duplicate_of FROM irp.irp_get_active_batches_for_config(1);
INSERT INTO irp.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 1, 'EDM_CREATION');
SELECT irp.irp_cancel_batch(1);
UPDATE irp.irp_batch SET status = 'ACTIVE' WHERE id OPERATOR(pg_catalog.=) 3;
RESET search_path;
SELECT coalesce(string_agg(what, ', '), 'none') AS hostile_calls FROM hostile.called;
SELECT (SELECT count(*) FROM hostile.irp_batch) + (SELECT count(*) FROM hostile.irp_job)
     + (SELECT count(*) FROM hostile.irp_batch_event) AS hostile_rows;
SELECT batch_id, event, reason FROM irp.irp_batch_event ORDER BY id;

SET client_min_messages = error;
DROP SCHEMA irp CASCADE;
RESET client_min_messages;
DROP SCHEMA hostile CASCADE;

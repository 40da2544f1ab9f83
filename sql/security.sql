--
-- Privileges and the audit trail's integrity. The functions are SECURITY
-- INVOKER: table privileges decide who may act. An application role with the
-- grants README gives can create, cancel and query batches; a role without
-- them gets 42501 and nothing is written. No role but the audit table's
-- owner writes irp_batch_event, yet every change is recorded with the acting
-- role as actor.
--
CREATE EXTENSION irp_batch;
SET timezone = 'UTC';

-- Everything in the three tables, as one value (read with this session's
-- superuser rights, whatever role runs the test case).
CREATE FUNCTION pg_temp.contents() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$
  SELECT md5(concat(
    (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM public.irp_batch b),
    (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM public.irp_job j),
    (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM public.irp_batch_event e)))
$$;
-- Runs stmt as the current role; returns 'ok: <first column or row count>'
-- or '<SQLSTATE>: <message>', and whether any row of the three tables changed.
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text; state text; msg text; before text; n bigint;
BEGIN
  before := pg_temp.contents();
  BEGIN
    IF stmt ~* '^\s*select|returning' THEN
      EXECUTE stmt INTO result;
    ELSE
      EXECUTE stmt;
      GET DIAGNOSTICS n = ROW_COUNT;
      result := n || ' rows';
    END IF;
    result := 'ok: ' || coalesce(result, 'NULL');
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    result := state || ': ' || msg;
  END;
  RETURN result || CASE WHEN pg_temp.contents() = before THEN ' [nothing changed]' ELSE ' [changed]' END;
END $$;

-- The application role, granted exactly what README's Privileges section says.
CREATE ROLE regress_irp_app;
GRANT USAGE ON SCHEMA public TO regress_irp_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_app;
GRANT USAGE ON SEQUENCE irp_batch_id_seq, irp_job_id_seq TO regress_irp_app;
GRANT SELECT ON irp_batch_event TO regress_irp_app;
-- A reporting role: it may read, not write.
CREATE ROLE regress_irp_reader;
GRANT USAGE ON SCHEMA public TO regress_irp_reader;
GRANT SELECT ON irp_batch, irp_job, irp_batch_event TO regress_irp_reader;
-- A role that may write batches but not jobs.
CREATE ROLE regress_irp_batches_only;
GRANT USAGE ON SCHEMA public TO regress_irp_batches_only;
GRANT SELECT, INSERT, UPDATE ON irp_batch TO regress_irp_batches_only;
-- A role that was granted writes on the audit table by mistake.
CREATE ROLE regress_irp_forger;
GRANT USAGE ON SCHEMA public TO regress_irp_forger;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON irp_batch_event TO regress_irp_forger;
-- A role with no privilege at all.
CREATE ROLE regress_irp_nobody;

SELECT irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"edm": "A"}]') AS existing;

-- The application role does its work; each action is audited as its own.
SET ROLE regress_irp_app;
SELECT irp_create_batch('PORTFOLIO_CREATION', 1, 1, jobs => '[{"p": 1}, {"p": 2}]') AS created;
SELECT irp_create_batch('EDM_CREATION', 1, 2, allow_duplicate => true) AS duplicate;
SELECT id, batch_type, status, job_count, duplicate_of FROM irp_get_active_batches_for_config(1) ORDER BY id;
SELECT irp_cancel_batch(3, 'not needed') AS cancelled;
INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 2, 'EDM_CREATION');
UPDATE irp_batch SET status = 'ACTIVE' WHERE configuration_id = 2;
UPDATE irp_job SET status = 'SUBMITTED' WHERE batch_id = 2;
RESET ROLE;
SELECT batch_id, event, actor FROM irp_batch_event ORDER BY id;

-- Writing the audit trail directly: refused for every role but its owner,
-- by PostgreSQL's privileges or, where a write was granted, by the
-- extension's own trigger; nothing changes.
SET ROLE regress_irp_app;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$INSERT INTO irp_batch_event (batch_id, event, actor) VALUES (1, 'CANCELLED', 'someone_else') RETURNING id$$),
  ($$UPDATE irp_batch_event SET actor = 'someone_else' RETURNING id$$),
  ($$DELETE FROM irp_batch_event RETURNING id$$),
  ($$SELECT count(*) FROM (SELECT 1 FROM irp_batch_event FOR UPDATE) x$$)
) AS cases(stmt);
RESET ROLE;
SET ROLE regress_irp_forger;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$INSERT INTO irp_batch_event (batch_id, event, actor) VALUES (1, 'CANCELLED', 'someone_else') RETURNING id$$),
  ($$UPDATE irp_batch_event SET actor = 'someone_else' RETURNING id$$),
  ($$DELETE FROM irp_batch_event RETURNING id$$),
  ($$TRUNCATE irp_batch_event$$)
) AS cases(stmt);
RESET ROLE;
-- The whole error, as the forger sees it.
SET ROLE regress_irp_forger;
DELETE FROM irp_batch_event;
RESET ROLE;

-- Roles without the privileges get 42501, and nothing is written.
SET ROLE regress_irp_reader;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$SELECT irp_create_batch('ANALYSIS', 9, 1)$$),
  ($$SELECT irp_create_batch('EDM_CREATION', 1, 1, allow_duplicate => true)$$),
  ($$SELECT irp_cancel_batch(2)$$),
  ($$INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 9, 'ANALYSIS') RETURNING id$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(1)$$)
) AS cases(stmt);
RESET ROLE;
SET ROLE regress_irp_batches_only;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$SELECT irp_create_batch('ANALYSIS', 9, 1, jobs => '[{"a": 1}]')$$),
  ($$SELECT irp_cancel_batch(2)$$)
) AS cases(stmt);
RESET ROLE;
SET ROLE regress_irp_nobody;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$SELECT irp_create_batch('ANALYSIS', 9, 1)$$),
  ($$SELECT irp_cancel_batch(2)$$),
  ($$SELECT count(*) FROM irp_get_active_batches_for_config(1)$$)
) AS cases(stmt);
RESET ROLE;

-- The guard reads as the table's owner: a role that may insert batches but
-- not read them still gets the descriptive duplicate error.
CREATE ROLE regress_irp_loader;
GRANT USAGE ON SCHEMA public TO regress_irp_loader;
GRANT INSERT ON irp_batch TO regress_irp_loader;
SET ROLE regress_irp_loader;
SELECT stmt, pg_temp.outcome(stmt) AS outcome FROM (VALUES
  ($$INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 1, 'EDM_CREATION')$$),
  ($$INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (1, 5, 'EDM_CREATION')$$)
) AS cases(stmt);
RESET ROLE;
SELECT batch_id, event, actor FROM irp_batch_event WHERE batch_id > 4 ORDER BY id;

-- An application role's COPY that supplies the ids is checked and audited
-- like any other write (so is the owner's: direct_dml).
GRANT INSERT (id, step_id, configuration_id, batch_type) ON irp_batch TO regress_irp_app;
\set VERBOSITY terse
SET ROLE regress_irp_app;
COPY irp_batch (id, step_id, configuration_id, batch_type) FROM stdin;
1000	1	1	EDM_CREATION
\.
COPY irp_batch (id, step_id, configuration_id, batch_type) FROM stdin;
1001	1	9	EDM_CREATION
\.
RESET ROLE;
\set VERBOSITY default
SELECT batch_id, event, actor FROM irp_batch_event WHERE batch_id >= 1000 ORDER BY id;

-- A role that was granted TRIGGER on the audit table adds a trigger: the
-- audit writes as the table owner, so it refuses to run that trigger's code
-- (which would otherwise run with the owner's privileges), and the change is
-- refused with it.
GRANT TRIGGER ON irp_batch_event TO regress_irp_forger;
CREATE FUNCTION public.regress_forge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.actor := 'someone_else';
  RETURN NEW;
END $$;
ALTER FUNCTION public.regress_forge() OWNER TO regress_irp_forger;
SET ROLE regress_irp_forger;
CREATE TRIGGER regress_forge BEFORE INSERT ON irp_batch_event FOR EACH ROW EXECUTE FUNCTION public.regress_forge();
RESET ROLE;
SET ROLE regress_irp_app;
SELECT pg_temp.outcome($$SELECT irp_create_batch('FORGED', 9, 1)$$);
RESET ROLE;
DROP TRIGGER regress_forge ON irp_batch_event;
DROP FUNCTION public.regress_forge();

-- Every function is SECURITY INVOKER, and the trigger functions cannot be called.
SELECT p.proname, p.prosecdef, has_function_privilege('regress_irp_app', p.oid, 'EXECUTE') AS app_may_execute
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'irp%' ORDER BY 1;

-- Clean up: the extension, then the tables, which are the database's
-- (drop_guard tests what DROP EXTENSION does to them).
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;
DROP OWNED BY regress_irp_app, regress_irp_reader, regress_irp_batches_only, regress_irp_forger,
  regress_irp_nobody, regress_irp_loader;
DROP ROLE regress_irp_app, regress_irp_reader, regress_irp_batches_only, regress_irp_forger,
  regress_irp_nobody, regress_irp_loader;

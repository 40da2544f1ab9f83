--
-- Updating: 1.0, 1.1 and 1.2, with data, are updated to the newest version
-- by ALTER EXTENSION irp_batch UPDATE, and so is a database whose tables 1.2
-- adopted. The data is unchanged, the guard still holds, and every object of
-- the extension's schema, member or not (read from the catalogs), is defined
-- as in a fresh install of the newest version, or as the newest version
-- adopting the same tables.
--
\set VERBOSITY terse
-- The functions below read tables that come and go.
SET check_function_bodies = off;

-- Everything in the three tables, as one value (2.0 adds irp_batch.request_id, NULL on old rows).
CREATE FUNCTION pg_temp.contents() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat(
    (SELECT string_agg((to_jsonb(b) - 'request_id')::text, '|' ORDER BY b.id) FROM irp_batch b),
    (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
    (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e),
    (SELECT string_agg(s::text, '|' ORDER BY s) FROM (SELECT last_value::text FROM irp_batch_id_seq
       UNION ALL SELECT last_value::text FROM irp_job_id_seq
       UNION ALL SELECT last_value::text FROM irp_batch_event_id_seq) s)))
$$;

-- The definition of every object in schema public and of every member of
-- the extension, one row per fact; "member" says whether it is the
-- extension's.
CREATE FUNCTION pg_temp.definition() RETURNS TABLE (kind text, name text, member boolean, definition text)
LANGUAGE sql AS $$
  WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'irp_batch'),
  members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
  rels AS (SELECT c.*, EXISTS (SELECT FROM members m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid) AS member
             FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S', 'v'))
  SELECT 'relation', r.relname, r.member,
         concat_ws(' ', r.relkind, r.relpersistence, obj_description(r.oid, 'pg_class'), r.relowner::regrole)
    FROM rels r
  UNION ALL
  SELECT 'column', r.relname || '.' || a.attname, r.member,
         concat_ws(' ', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   pg_get_expr(ad.adbin, ad.adrelid), col_description(r.oid, a.attnum))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    WHERE r.relkind = 'r'
  UNION ALL
  SELECT 'constraint', r.relname || '.' || con.conname, r.member, pg_get_constraintdef(con.oid) || ' ' || con.convalidated
    FROM rels r JOIN pg_constraint con ON con.conrelid = r.oid
  UNION ALL
  SELECT 'index', i.indexrelid::regclass::text, EXISTS (SELECT FROM members m WHERE m.objid = i.indexrelid),
         pg_get_indexdef(i.indexrelid) || ' ' || coalesce(obj_description(i.indexrelid, 'pg_class'), '')
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT 'trigger', r.relname || '.' || t.tgname, EXISTS (SELECT FROM members m WHERE m.objid = t.oid),
         concat_ws(' ', pg_get_triggerdef(t.oid), t.tgenabled, obj_description(t.oid, 'pg_trigger'))
    FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'sequence', r.relname, r.member,
         concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
    FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
  UNION ALL
  SELECT 'function', p.oid::regprocedure::text,
         EXISTS (SELECT FROM members m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid),
         pg_get_functiondef(p.oid) || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '') || ' '
         || has_function_privilege('public', p.oid, 'EXECUTE')
    FROM pg_proc p
   WHERE p.pronamespace = 'public'::regnamespace
      OR EXISTS (SELECT FROM members m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
  UNION ALL
  SELECT 'type', t.typname, EXISTS (SELECT FROM members m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid),
         concat_ws(' ', t.typtype, obj_description(t.oid, 'pg_type'),
                   (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t
   WHERE (t.typnamespace = 'public'::regnamespace AND t.typtype = 'e')
      OR EXISTS (SELECT FROM members m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)
  UNION ALL
  SELECT 'event trigger', e.evtname, true,
         concat_ws(' ', e.evtevent, e.evttags::text, e.evtfoid::regprocedure, e.evtenabled,
                   obj_description(e.oid, 'pg_event_trigger'))
    FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
  UNION ALL
  SELECT 'config', c::regclass::text, true, coalesce(x.extcondition[i], '')
    FROM pg_extension x, unnest(x.extconfig) WITH ORDINALITY AS u(c, i) WHERE x.extname = 'irp_batch'
  UNION ALL
  SELECT 'initial privileges', pg_describe_object(p.classoid, p.objoid, p.objsubid), true,
         (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.initprivs) a)
    FROM pg_init_privs p, ext
   WHERE EXISTS (SELECT FROM pg_depend d WHERE d.classid = p.classoid AND d.objid = p.objoid
                    AND d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
      OR (p.classoid = 'pg_class'::regclass AND EXISTS (SELECT FROM rels r WHERE r.oid = p.objoid))
$$;

-- Removes the extension and its tables, leaving schema public as it was.
CREATE FUNCTION pg_temp.uninstall() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL client_min_messages = error;
  DROP EXTENSION irp_batch CASCADE;
  DROP TABLE IF EXISTS irp_batch_result, irp_batch_event, irp_job, irp_batch, irp_step, irp_configuration, irp_cycle;
  DROP TYPE batch_status_enum, job_status_enum;
END
$$;

-- The install of the newest version everything below is compared with.
CREATE EXTENSION irp_batch;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.definition();
SELECT kind, member, count(*) AS facts FROM fresh GROUP BY kind, member ORDER BY kind, member;
SELECT pg_temp.uninstall();

CREATE EXTENSION irp_batch VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';

-- As 1.0's README asked: the application role may insert audit rows.
CREATE ROLE regress_irp_v10_app;
GRANT USAGE ON SCHEMA public TO regress_irp_v10_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_v10_app;
GRANT SELECT, INSERT ON irp_batch_event TO regress_irp_v10_app;
-- ... and some granted more, passed on, and on columns.
CREATE ROLE regress_irp_v10_admin;
CREATE ROLE regress_irp_v10_other;
GRANT ALL ON irp_batch_event TO regress_irp_v10_admin WITH GRANT OPTION;
SET ROLE regress_irp_v10_admin;
GRANT INSERT, TRIGGER ON irp_batch_event TO regress_irp_v10_other;
RESET ROLE;
GRANT UPDATE (actor) ON irp_batch_event TO regress_irp_v10_other;

-- Data made with 1.0: batches, jobs, an intentional duplicate, a cancellation.
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"edm": "A"}, {"edm": "B"}]') AS a;
SELECT irp_create_batch('EDM_CREATION', 1, 2, allow_duplicate => true) AS b;
SELECT irp_create_batch('PORTFOLIO_CREATION', 1, 1, jobs => '[{"p": 1}]') AS c;
SELECT irp_cancel_batch(3, 'made with 1.0');
RESET ROLE;
SELECT pg_temp.contents() AS before \gset

ALTER EXTENSION irp_batch UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';

-- The data is exactly as it was.
SELECT pg_temp.contents() = :'before' AS data_unchanged;
-- The 1.0-era write privileges on the audit table are gone; reading stays.
SELECT r AS role, has_table_privilege(r, 'irp_batch_event', 'INSERT') AS may_insert,
       has_table_privilege(r, 'irp_batch_event', 'TRIGGER') AS may_add_triggers,
       has_column_privilege(r, 'irp_batch_event', 'actor', 'UPDATE') AS may_update_actor,
       has_table_privilege(r, 'irp_batch_event', 'SELECT') AS may_read
  FROM unnest(ARRAY['regress_irp_v10_app', 'regress_irp_v10_admin', 'regress_irp_v10_other']) AS r ORDER BY r;
-- The guard and the audit still work, for the same role.
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 1, 3);
SELECT irp_create_batch('PORTFOLIO_CREATION', 1, 3) AS d;
INSERT INTO irp_batch_event (batch_id, event, actor) VALUES (1, 'CANCELLED', 'forged');
RESET ROLE;
SELECT batch_id, event, actor, reason FROM irp_batch_event ORDER BY id;

-- Every object is defined as in a fresh install of the newest version
-- (grants on the tables are the DBA's, and not compared).
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.definition();
SELECT 'only after the update' AS side, * FROM (SELECT * FROM updated EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in a fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated) y
ORDER BY 1, 2, 3;

-- 1.1, with data, is updated to the newest version the same way.
SELECT pg_temp.uninstall();
CREATE EXTENSION irp_batch VERSION '1.1';
-- As 1.1's README asks.
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_v10_app;
GRANT USAGE ON SEQUENCE irp_batch_id_seq, irp_job_id_seq TO regress_irp_v10_app;
GRANT SELECT ON irp_batch_event TO regress_irp_v10_app;
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 7, 1, jobs => '[{"edm": "A"}]') AS a;
SELECT irp_create_batch('EDM_CREATION', 7, 2, allow_duplicate => true) AS b;
SELECT batch_id, created FROM irp_ensure_batch('EDM_CREATION', 7, 3);
SELECT irp_cancel_batch(2, 'made with 1.1');
RESET ROLE;
SELECT pg_temp.contents() AS before \gset
ALTER EXTENSION irp_batch UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';
SELECT pg_temp.contents() = :'before' AS data_unchanged;
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 7, 3);
RESET ROLE;
CREATE TEMP TABLE updated_11 AS SELECT * FROM pg_temp.definition();
SELECT 'only after the update from 1.1' AS side, * FROM (SELECT * FROM updated_11 EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in a fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated_11) y
ORDER BY 1, 2, 3;

-- 1.2, with data: the 1.2 code runs on the newest library until the update
-- (its drop guard still refuses, its functions still return the enum).
SELECT pg_temp.uninstall();
CREATE EXTENSION irp_batch VERSION '1.2';
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_v10_app;
GRANT SELECT ON irp_batch_event TO regress_irp_v10_app;
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 8, 1, jobs => '[{"edm": "A"}]') AS a;
SELECT irp_create_batch('EDM_CREATION', 8, 2, allow_duplicate => true) AS b;
SELECT irp_cancel_batch(2, 'made with 1.2');
RESET ROLE;
DROP EXTENSION irp_batch;
SELECT id, status, pg_typeof(status) FROM irp_get_active_batches_for_config(8);
-- A grant of the DBA's on a function whose result type changes: the update
-- names the statements that restore it.
REVOKE EXECUTE ON FUNCTION irp_batch_preflight(integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION irp_batch_preflight(integer, text[]) TO regress_irp_v10_app;
SELECT pg_temp.contents() AS before \gset
\set VERBOSITY default
ALTER EXTENSION irp_batch UPDATE;
\set VERBOSITY terse
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';
SELECT pg_temp.contents() = :'before' AS data_unchanged;
SELECT id, status, pg_typeof(status) FROM irp_get_active_batches_for_config(8);
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 8, 3);
RESET ROLE;
CREATE TEMP TABLE updated_12 AS SELECT * FROM pg_temp.definition();
SELECT 'only after the update from 1.2' AS side, * FROM (SELECT * FROM updated_12 EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in a fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated_12) y
ORDER BY 1, 2, 3;

-- 2.0, with data: the 2.0 code runs on the newest library until the update
-- (its irp_batch_preflight has 2.0's seven columns; its jobs have no
-- progress trigger). The update adds the trigger and irp_batch_preflight's
-- new columns, and names the statements that restore a grant on it.
SELECT pg_temp.uninstall();
CREATE EXTENSION irp_batch VERSION '2.0';
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO regress_irp_v10_app;
GRANT SELECT ON irp_batch_event TO regress_irp_v10_app;
SET ROLE regress_irp_v10_app;
SELECT irp_create_batch('EDM_CREATION', 10, 1, jobs => '[{"edm": "A"}, {"edm": "B"}]') AS a;
SELECT irp_create_batch('PORTFOLIO_CREATION', 10, 1) AS b;
SELECT irp_cancel_batch(2, 'made with 2.0');
UPDATE irp_job SET status = 'RUNNING' WHERE id = 1;
SELECT batch_type, batch_id, status, created_by, job_count, duplicate_of
  FROM irp_batch_preflight(10, ARRAY['EDM_CREATION', 'PORTFOLIO_CREATION']);
RESET ROLE;
SELECT pg_get_function_result('irp_batch_preflight(integer, text[])'::regprocedure);
SELECT count(*) AS progress_triggers FROM pg_trigger WHERE tgrelid = 'irp_job'::regclass AND tgname LIKE 'irp_job_progress%';
REVOKE EXECUTE ON FUNCTION irp_batch_preflight(integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION irp_batch_preflight(integer, text[]) TO regress_irp_v10_app;
SELECT pg_temp.contents() AS before \gset
\set VERBOSITY default
ALTER EXTENSION irp_batch UPDATE;
\set VERBOSITY terse
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';
SELECT pg_temp.contents() = :'before' AS data_unchanged;
SELECT count(*) AS progress_triggers FROM pg_trigger WHERE tgrelid = 'irp_job'::regclass AND tgname LIKE 'irp_job_progress%';
SELECT pg_get_function_result('irp_batch_preflight(integer, text[])'::regprocedure);
SET ROLE regress_irp_v10_app;
SELECT batch_type, batch_id, status, job_count, stale FROM irp_batch_preflight(10, ARRAY['EDM_CREATION']);
SELECT batch_id, status, total_jobs, counts, finished_fraction FROM irp_batch_progress(ARRAY[1, 2]);
RESET ROLE;
CREATE TEMP TABLE updated_20 AS SELECT * FROM pg_temp.definition();
SELECT 'only after the update from 2.0' AS side, * FROM (SELECT * FROM updated_20 EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in a fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated_20) y
ORDER BY 1, 2, 3;
-- Every released version updates to the newest one (the version just
-- installed by the update) along the chain. (pg_available_extensions is not
-- read: under Debian's extension_destdir, as the package build tests, it
-- lists only the server's own extension folder.)
SELECT source, path FROM pg_extension_update_paths('irp_batch')
 WHERE target = (SELECT extversion FROM pg_extension WHERE extname = 'irp_batch')
   AND path IS NOT NULL ORDER BY source;

-- Tables that 1.2 adopted (with the shape tables it kept for them) end as
-- the newest version adopting the same tables leaves them.
SELECT pg_temp.uninstall();
\set ECHO none
\i test/fixtures/init_database.sql
\i test/fixtures/irp_data.sql
\set ECHO all
CREATE EXTENSION irp_batch VERSION '1.2';
SELECT count(*) > 0 AS shape_recorded FROM irp_adopted_shape;
SELECT pg_temp.contents() AS before \gset
ALTER EXTENSION irp_batch UPDATE;
SELECT pg_temp.contents() = :'before' AS data_unchanged;
SELECT irp_create_batch('EDM_CREATION', 9, 1) > 0 AS created;
SELECT irp_create_batch('EDM_CREATION', 9, 1);
CREATE TEMP TABLE updated_adopted AS SELECT * FROM pg_temp.definition();
SELECT pg_temp.uninstall();
\set ECHO none
\i test/fixtures/init_database.sql
\i test/fixtures/irp_data.sql
\set ECHO all
CREATE EXTENSION irp_batch;
CREATE TEMP TABLE adopted AS SELECT * FROM pg_temp.definition();
SELECT kind, member, count(*) AS facts FROM adopted GROUP BY kind, member ORDER BY kind, member;
SELECT 'only after the update of adopted tables' AS side, * FROM (SELECT * FROM updated_adopted EXCEPT SELECT * FROM adopted) x
UNION ALL
SELECT 'only when the newest version adopts them', * FROM (SELECT * FROM adopted EXCEPT SELECT * FROM updated_adopted) y
ORDER BY 1, 2, 3;

SELECT pg_temp.uninstall();
DROP OWNED BY regress_irp_v10_app, regress_irp_v10_admin, regress_irp_v10_other;
DROP ROLE regress_irp_v10_app, regress_irp_v10_admin, regress_irp_v10_other;

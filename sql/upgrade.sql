--
-- Updating: 1.0 and 1.1, with data, are updated to the newest version by ALTER
-- EXTENSION irp_batch UPDATE. The data is unchanged, the guard still holds,
-- and every member object's definition (read from the catalogs) equals that
-- of a fresh install of the newest version.
--
\set VERBOSITY terse

CREATE EXTENSION irp_batch VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'irp_batch';

-- Everything in the three tables, as one value.
CREATE FUNCTION pg_temp.contents() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat(
    (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp_batch b),
    (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
    (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e),
    (SELECT string_agg(s::text, '|' ORDER BY s) FROM (SELECT last_value::text FROM irp_batch_id_seq
       UNION ALL SELECT last_value::text FROM irp_job_id_seq
       UNION ALL SELECT last_value::text FROM irp_batch_event_id_seq) s)))
$$;

-- The definition of every member object of the extension, one row per fact.
CREATE FUNCTION pg_temp.definition() RETURNS TABLE (kind text, name text, definition text)
LANGUAGE sql AS $$
  WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'irp_batch'),
  members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
  rels AS (SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
  SELECT 'relation', r.relname, concat_ws(' ', r.relkind, r.relpersistence, obj_description(r.oid, 'pg_class'))
    FROM rels r
  UNION ALL
  SELECT 'column', r.relname || '.' || a.attname,
         concat_ws(' ', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   pg_get_expr(ad.adbin, ad.adrelid), col_description(r.oid, a.attnum))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    WHERE r.relkind = 'r'
  UNION ALL
  SELECT 'constraint', r.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
    FROM rels r JOIN pg_constraint con ON con.conrelid = r.oid
  UNION ALL
  SELECT 'index', i.indexrelid::regclass::text,
         pg_get_indexdef(i.indexrelid) || ' ' || coalesce(obj_description(i.indexrelid, 'pg_class'), '')
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT 'trigger', r.relname || '.' || t.tgname,
         concat_ws(' ', pg_get_triggerdef(t.oid), t.tgenabled, obj_description(t.oid, 'pg_trigger'))
    FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'sequence', r.relname, concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
    FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
  UNION ALL
  SELECT 'function', p.oid::regprocedure::text,
         pg_get_functiondef(p.oid) || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '') || ' '
         || has_function_privilege('public', p.oid, 'EXECUTE')
    FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  UNION ALL
  SELECT 'type', t.typname,
         concat_ws(' ', t.typtype, obj_description(t.oid, 'pg_type'),
                   (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
  UNION ALL
  SELECT 'event trigger', e.evtname,
         concat_ws(' ', e.evtevent, e.evttags::text, e.evtfoid::regprocedure, e.evtenabled,
                   obj_description(e.oid, 'pg_event_trigger'))
    FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
  UNION ALL
  SELECT 'config', c::regclass::text, coalesce(x.extcondition[i], '')
    FROM pg_extension x, unnest(x.extconfig) WITH ORDINALITY AS u(c, i) WHERE x.extname = 'irp_batch'
$$;


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

-- Every member object is defined as in a fresh install of the newest version.
CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.definition();
-- The tables hold the test's rows: confirm the drop (drop_guard tests the refusal).
SET irp_batch.confirm_drop = on;
DROP EXTENSION irp_batch;
CREATE EXTENSION irp_batch;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.definition();
SELECT kind, count(*) AS facts FROM fresh GROUP BY kind ORDER BY kind;
SELECT 'only after the update' AS side, * FROM (SELECT * FROM updated EXCEPT SELECT * FROM fresh) x
UNION ALL
SELECT 'only in a fresh install', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM updated) y
ORDER BY 1, 2, 3;

-- 1.1, with data, is updated to the newest version the same way.
SET irp_batch.confirm_drop = on;
DROP EXTENSION irp_batch;
RESET irp_batch.confirm_drop;
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

SET irp_batch.confirm_drop = on;
DROP EXTENSION irp_batch;
DROP OWNED BY regress_irp_v10_app, regress_irp_v10_admin, regress_irp_v10_other;
DROP ROLE regress_irp_v10_app, regress_irp_v10_admin, regress_irp_v10_other;

--
-- Drops keep the rows: the tables are the database's, not the extension's.
-- DROP EXTENSION without CASCADE is refused by PostgreSQL, naming the
-- triggers that need the extension's functions; with CASCADE it removes the
-- guard and the audit, warns that it does, and deletes no row or column.
-- CREATE EXTENSION attaches to the tables again. DROP SCHEMA ... CASCADE
-- and DROP OWNED act on the tables as on any table.
--
-- Line numbers of irp_batch_setup() are not part of the errors shown.
\set SHOW_CONTEXT never
CREATE ROLE regress_irp_schema_owner;
CREATE SCHEMA irp AUTHORIZATION regress_irp_schema_owner;
CREATE EXTENSION irp_batch SCHEMA irp;
SELECT irp.irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"a": 1}, {"a": 2}]') AS batch;
SELECT irp.irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true) AS duplicate;

-- What the tables hold and how they are made, as one value each.
CREATE FUNCTION pg_temp.tables() RETURNS TABLE (what text, value text) LANGUAGE sql AS $$
  SELECT 'rows', md5(concat(
    (SELECT string_agg(to_jsonb(b)::text, '|' ORDER BY b.id) FROM irp.irp_batch b),
    (SELECT string_agg(to_jsonb(j)::text, '|' ORDER BY j.id) FROM irp.irp_job j),
    (SELECT string_agg(to_jsonb(e)::text, '|' ORDER BY e.id) FROM irp.irp_batch_event e)))
  UNION ALL
  SELECT 'columns, defaults, constraints, indexes', md5(concat(
    (SELECT string_agg(concat_ws(' ', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod),
                                 a.attnotnull, pg_get_expr(d.adbin, d.adrelid)), '|' ORDER BY a.attrelid, a.attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid IN ('irp.irp_batch'::regclass, 'irp.irp_job'::regclass, 'irp.irp_batch_event'::regclass)
        AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(conname || pg_get_constraintdef(oid), '|' ORDER BY conname) FROM pg_constraint
      WHERE connamespace = 'irp'::regnamespace),
    (SELECT string_agg(pg_get_indexdef(indexrelid), '|' ORDER BY indexrelid::regclass::text) FROM pg_index
      WHERE indrelid IN ('irp.irp_batch'::regclass, 'irp.irp_job'::regclass, 'irp.irp_batch_event'::regclass))))
$$;
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.tables();

-- Of the tables, only the triggers depend on the extension: no column,
-- default, constraint or index does, so no drop can take those.
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS depends_on_the_extension
  FROM pg_depend d
  JOIN pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid AND m.deptype = 'e'
  JOIN pg_extension e ON e.oid = m.refobjid AND e.extname = 'irp_batch'
 WHERE d.deptype = 'n'
   AND NOT EXISTS (SELECT FROM pg_depend x WHERE x.classid = d.classid AND x.objid = d.objid AND x.deptype = 'e')
 ORDER BY 1;

-- Without CASCADE: refused, nothing dropped.
DROP EXTENSION irp_batch;

-- With CASCADE: a warning, the triggers go, every row and definition stays.
DROP EXTENSION irp_batch CASCADE;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
SELECT b.what, b.value = a.value AS unchanged FROM before b JOIN pg_temp.tables() a USING (what) ORDER BY 1;
SELECT count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'irp'::regnamespace AND NOT t.tgisinternal;

-- Without the extension only the unique index refuses a duplicate, with
-- PostgreSQL's own message, and nothing is audited.
\set VERBOSITY terse
INSERT INTO irp.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'EDM_CREATION');
INSERT INTO irp.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'ANALYSIS') RETURNING id AS unaudited;
SELECT count(*) AS events FROM irp.irp_batch_event;

-- Created again: attached to the tables, guard and audit back, once the
-- rows written meanwhile keep the rules the guard would have enforced.
UPDATE irp.irp_batch SET duplicate_of = 1 WHERE id = 4;
\set VERBOSITY default
CREATE EXTENSION irp_batch SCHEMA irp;
UPDATE irp.irp_batch SET duplicate_of = NULL WHERE id = 4;
CREATE EXTENSION irp_batch SCHEMA irp;
SELECT count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'irp'::regnamespace AND NOT t.tgisinternal;
\set VERBOSITY terse
INSERT INTO irp.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'EDM_CREATION');
SELECT irp.irp_cancel_batch(1, 'Dropped and attached again');
SELECT batch_id, event FROM irp.irp_batch_event ORDER BY id;
\set VERBOSITY default

-- A role's DROP OWNED drops its schema, and with it the tables and the
-- extension, as it does for any table.
DROP OWNED BY regress_irp_schema_owner CASCADE;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'irp';
DROP ROLE regress_irp_schema_owner;

-- A session that set row_security off looks like a restore of a dump:
-- CREATE EXTENSION makes only the code, the functions say what to do, and
-- irp_batch_setup() makes the tables.
CREATE SCHEMA irp_restoring;
SET row_security = off;
CREATE EXTENSION irp_batch SCHEMA irp_restoring;
RESET row_security;
SELECT to_regclass('irp_restoring.irp_batch') AS batch_table;
SELECT irp_restoring.irp_create_batch('EDM_CREATION', 42, 3);
\set VERBOSITY terse
SELECT irp_restoring.irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true);
SELECT * FROM irp_restoring.irp_ensure_batch('EDM_CREATION', 42, 3);
SELECT irp_restoring.irp_cancel_batch(1);
SELECT * FROM irp_restoring.irp_get_active_batches_for_config(42);
SELECT * FROM irp_restoring.irp_batch_preflight(42, ARRAY['EDM_CREATION']);
\set VERBOSITY default
SELECT irp_restoring.irp_batch_setup();
SELECT irp_restoring.irp_create_batch('EDM_CREATION', 42, 3) AS created;
-- A trigger of the extension's name that is not the extension's (here one
-- that never fires) is replaced, not taken for the guard.
DROP TRIGGER irp_batch_guard ON irp_restoring.irp_batch;
CREATE TRIGGER irp_batch_guard BEFORE INSERT ON irp_restoring.irp_batch
  FOR EACH ROW WHEN (false) EXECUTE FUNCTION irp_restoring.irp_batch_guard();
SELECT irp_restoring.irp_batch_setup();
\set VERBOSITY terse
SELECT irp_restoring.irp_create_batch('EDM_CREATION', 42, 3);
\set VERBOSITY default
-- Tables dropped under a session that used the functions: the same answer.
DROP TABLE irp_restoring.irp_batch_event, irp_restoring.irp_job, irp_restoring.irp_batch;
\set VERBOSITY terse
SELECT irp_restoring.irp_create_batch('EDM_CREATION', 42, 3);
\set VERBOSITY default
SET client_min_messages = error;
DROP SCHEMA irp_restoring CASCADE;
RESET client_min_messages;

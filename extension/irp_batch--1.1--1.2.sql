/* irp_batch--1.1--1.2.sql: update irp_batch 1.1 to 1.2 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION irp_batch UPDATE TO '1.2'" to load this file. \quit

-- 1.2 adopts existing IRP tables at CREATE EXTENSION and keeps their shape
-- across pg_dump. An installed 1.1 adopted nothing: the shape tables stay
-- empty until irp_batch_record_shape() is called.

SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- pg_dump dumps only the rows of an extension's tables, and a restore makes
-- the tables and types from this script. An adopted table can differ from
-- what this script makes (extra columns, TIMESTAMP columns, nullable
-- columns, extra enum labels, its own indexes and constraints), so adoption
-- records its shape in the next two tables. pg_dump dumps their rows with the
-- others and loads the data of one schema by name: the labels first, then
-- the shape, then irp_batch's rows. Triggers on the two tables make the
-- restored, still empty tables match the recorded shape again; the labels
-- are committed before the shape's constraints or indexes may use them.
CREATE TABLE @extschema@.irp_adopted_enum_label (
    type_name  text NOT NULL,
    label      text NOT NULL,
    position   integer NOT NULL,
    PRIMARY KEY (type_name, label)
);
COMMENT ON TABLE @extschema@.irp_adopted_enum_label IS
    'Labels of batch_status_enum and job_status_enum in their order, as irp_batch_record_shape() recorded them; empty unless recorded. Restoring its rows adds the labels the restored types lack';
COMMENT ON COLUMN @extschema@.irp_adopted_enum_label.position IS 'The label''s place in the type''s sort order, from 1';

CREATE TABLE @extschema@.irp_adopted_shape (
    kind       text NOT NULL
               CONSTRAINT irp_adopted_shape_kind_check
               CHECK (kind OPERATOR(pg_catalog.=) ANY
                      ('{column,default,not null,constraint,index}'::pg_catalog.text[])),
    object     text NOT NULL,
    name       text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (kind, object, name)
);
COMMENT ON TABLE @extschema@.irp_adopted_shape IS
    'Shape of irp_batch and irp_job recorded by irp_batch_record_shape() (CREATE EXTENSION records it when it adopts existing tables); empty unless recorded. Restoring its rows reshapes the restored tables to match';
COMMENT ON COLUMN @extschema@.irp_adopted_shape.kind IS
    'column (definition: type, collation, generation), default (expression), not null, constraint (definition) or index (CREATE INDEX statement)';
COMMENT ON COLUMN @extschema@.irp_adopted_shape.object IS 'The table (irp_batch, irp_job) the fact is about';
COMMENT ON COLUMN @extschema@.irp_adopted_shape.name IS 'Column, constraint or index name';

CREATE FUNCTION @extschema@.irp_batch_shape()
RETURNS TABLE (kind text, object text, name text, definition text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH t AS (
    SELECT c.oid, c.relname::text AS relname FROM pg_class c
    WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::regnamespace
      AND c.relname OPERATOR(pg_catalog.=) ANY ('{irp_batch,irp_job}'::name[])),
  col AS (
    SELECT t.oid, t.relname, a.attnum, a.attname::text AS attname, a.atttypid, a.atttypmod,
           a.attnotnull, a.attidentity, a.attgenerated, a.attcollation, ty.typcollation
    FROM t JOIN pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.oid
           JOIN pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
    WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)
  -- Each label with the one before it in the sort order.
  SELECT 'enum label', ty.typname::text, e.enumlabel::text,
         COALESCE(lag(e.enumlabel::text) OVER (PARTITION BY ty.oid ORDER BY e.enumsortorder), '')
    FROM pg_type ty JOIN pg_enum e ON e.enumtypid OPERATOR(pg_catalog.=) ty.oid
    WHERE ty.typnamespace OPERATOR(pg_catalog.=) '@extschema@'::regnamespace
      AND ty.typname OPERATOR(pg_catalog.=) ANY ('{batch_status_enum,job_status_enum}'::name[])
  UNION ALL
  -- The id is left out of the generation clauses and defaults: a restore
  -- makes it an identity column, which draws from a sequence of the same
  -- name as a SERIAL's.
  SELECT 'column', col.relname, col.attname,
         concat(format_type(col.atttypid, col.atttypmod),
                CASE WHEN col.attcollation OPERATOR(pg_catalog.<>) col.typcollation
                     THEN ' COLLATE ' OPERATOR(pg_catalog.||) (SELECT quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                                                               OPERATOR(pg_catalog.||) quote_ident(co.collname)
                                                          FROM pg_collation co JOIN pg_namespace n
                                                            ON n.oid OPERATOR(pg_catalog.=) co.collnamespace
                                                         WHERE co.oid OPERATOR(pg_catalog.=) col.attcollation) END,
                CASE WHEN col.attname OPERATOR(pg_catalog.=) 'id' THEN ''
                     WHEN col.attidentity OPERATOR(pg_catalog.=) 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                     WHEN col.attidentity OPERATOR(pg_catalog.=) 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY'
                     WHEN col.attgenerated OPERATOR(pg_catalog.=) 's' THEN
                          ' GENERATED ALWAYS AS (' OPERATOR(pg_catalog.||)
                          (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                            WHERE d.adrelid OPERATOR(pg_catalog.=) col.oid AND d.adnum OPERATOR(pg_catalog.=) col.attnum)
                          OPERATOR(pg_catalog.||) ') STORED' END)
    FROM col
  UNION ALL
  SELECT 'default', col.relname, col.attname, pg_get_expr(d.adbin, d.adrelid)
    FROM col JOIN pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) col.oid
                              AND d.adnum OPERATOR(pg_catalog.=) col.attnum
    WHERE col.attname OPERATOR(pg_catalog.<>) 'id' AND col.attgenerated OPERATOR(pg_catalog.=) ''
  UNION ALL
  SELECT 'not null', col.relname, col.attname, '' FROM col WHERE col.attnotnull
  UNION ALL
  SELECT 'constraint', t.relname, co.conname::text, pg_get_constraintdef(co.oid)
    FROM t JOIN pg_constraint co ON co.conrelid OPERATOR(pg_catalog.=) t.oid
  UNION ALL
  -- Indexes of their own; those of constraints and the extension's own are
  -- made with them.
  SELECT 'index', t.relname, i.relname::text, pg_get_indexdef(i.oid)
    FROM t JOIN pg_index x ON x.indrelid OPERATOR(pg_catalog.=) t.oid
           JOIN pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint co WHERE co.conindid OPERATOR(pg_catalog.=) i.oid)
      AND i.relname OPERATOR(pg_catalog.<>) ALL
          ('{idx_batch_unique_active,idx_batch_active,idx_batch_duplicate_of,idx_job_batch_id}'::name[])
$$;
COMMENT ON FUNCTION @extschema@.irp_batch_shape() IS
    'The shape of irp_batch and irp_job and the labels of the two enums (each with the label before it), one row per fact, as irp_adopted_enum_label and irp_adopted_shape record it; names outside pg_catalog are schema-qualified';

CREATE FUNCTION @extschema@.irp_batch_record_shape() RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  DELETE FROM @extschema@.irp_adopted_enum_label;
  INSERT INTO @extschema@.irp_adopted_enum_label (type_name, label, position)
    SELECT ty.typname::text, e.enumlabel::text,
           row_number() OVER (PARTITION BY ty.oid ORDER BY e.enumsortorder)
      FROM pg_type ty JOIN pg_enum e ON e.enumtypid OPERATOR(pg_catalog.=) ty.oid
     WHERE ty.typnamespace OPERATOR(pg_catalog.=) '@extschema@'::regnamespace
       AND ty.typname OPERATOR(pg_catalog.=) ANY ('{batch_status_enum,job_status_enum}'::name[]);
  DELETE FROM @extschema@.irp_adopted_shape;
  INSERT INTO @extschema@.irp_adopted_shape
    SELECT * FROM @extschema@.irp_batch_shape() s WHERE s.kind OPERATOR(pg_catalog.<>) 'enum label';
  SELECT (SELECT count(*) FROM @extschema@.irp_adopted_enum_label)
         OPERATOR(pg_catalog.+) (SELECT count(*) FROM @extschema@.irp_adopted_shape);
$$;
COMMENT ON FUNCTION @extschema@.irp_batch_record_shape() IS
    'Records the current shape of irp_batch and irp_job and the enums'' labels in irp_adopted_shape and irp_adopted_enum_label, so that pg_dump keeps them (call it after changing the tables'' definitions); returns the number of facts recorded';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_record_shape() FROM PUBLIC;

--
-- Restoring an adopted database. pg_dump loads the rows of
-- irp_adopted_enum_label, then those of irp_adopted_shape, then irp_batch's;
-- the triggers below make the types and tables the restore has just created
-- match the recorded ones (extra labels in their places; extra columns,
-- TIMESTAMP columns, NULLs allowed, their own defaults, constraints and
-- indexes) while the tables are still empty.
--

CREATE FUNCTION @extschema@.irp_adopted_enum_label_restore() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp constant regnamespace := '@extschema@'::regnamespace;
    r record;
BEGIN
    -- Each recorded label the type lacks, after the label recorded before it
    -- (or first); a label added now may be used once this transaction commits.
    FOR r IN SELECT a.type_name, a.label,
                    (SELECT p.label FROM @extschema@.irp_adopted_enum_label p
                      WHERE p.type_name OPERATOR(pg_catalog.=) a.type_name
                        AND p.position OPERATOR(pg_catalog.<) a.position
                      ORDER BY p.position DESC LIMIT 1) AS after_label
             FROM @extschema@.irp_adopted_enum_label a
             WHERE to_regtype(format('%s.%I', nsp, a.type_name)) IS NOT NULL
               AND NOT EXISTS (SELECT FROM pg_enum e
                               WHERE e.enumtypid OPERATOR(pg_catalog.=) to_regtype(format('%s.%I', nsp, a.type_name))
                                 AND e.enumlabel OPERATOR(pg_catalog.=) a.label)
             ORDER BY a.type_name, a.position
    LOOP
        IF r.after_label IS NOT NULL THEN
            EXECUTE format('ALTER TYPE %s.%I ADD VALUE IF NOT EXISTS %L AFTER %L', nsp, r.type_name, r.label, r.after_label);
        ELSE
            EXECUTE format('ALTER TYPE %s.%I ADD VALUE IF NOT EXISTS %L BEFORE %L', nsp, r.type_name, r.label,
                           (SELECT e.enumlabel FROM pg_enum e
                             WHERE e.enumtypid OPERATOR(pg_catalog.=) to_regtype(format('%s.%I', nsp, r.type_name))
                             ORDER BY e.enumsortorder LIMIT 1));
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.irp_adopted_enum_label_restore() IS
    'AFTER INSERT statement trigger on irp_adopted_enum_label: adds the recorded labels that the restored enum types lack, in their places';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_adopted_enum_label_restore() FROM PUBLIC;

CREATE TRIGGER irp_adopted_enum_label_restore
    AFTER INSERT ON @extschema@.irp_adopted_enum_label
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_adopted_enum_label_restore();

CREATE FUNCTION @extschema@.irp_adopted_shape_restore() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp constant regnamespace := '@extschema@'::regnamespace;
    r record;
BEGIN
    -- Nothing to do when the tables already have the recorded shape (as
    -- when irp_batch_record_shape() records it).
    IF NOT EXISTS (SELECT * FROM @extschema@.irp_adopted_shape
                   EXCEPT SELECT * FROM @extschema@.irp_batch_shape())
       AND NOT EXISTS (SELECT * FROM @extschema@.irp_batch_shape() c
                       WHERE c.kind OPERATOR(pg_catalog.<>) 'enum label'
                         AND c.object IN (SELECT s.object FROM @extschema@.irp_adopted_shape s)
                       EXCEPT SELECT * FROM @extschema@.irp_adopted_shape) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT FROM @extschema@.irp_batch) OR EXISTS (SELECT FROM @extschema@.irp_job) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'cannot reshape irp_batch and irp_job: they hold rows',
            DETAIL = 'Rows written to irp_adopted_shape that differ from the tables'' shape reshape the tables, which is possible only while they are empty, as in a restore.',
            HINT = 'To record the tables'' current shape, call irp_batch_record_shape(). To restore a dump, restore it into a new database (pg_restore without --data-only and without -j).',
            SCHEMA = nsp::text, TABLE = 'irp_adopted_shape';
    END IF;

    -- What the restored tables have that the adopted ones had not (or had
    -- differently): away with it first. Constraints go with CASCADE; the
    -- recorded ones are added back below.
    FOR r IN SELECT c.kind, c.object, c.name
             FROM @extschema@.irp_batch_shape() c
             LEFT JOIN @extschema@.irp_adopted_shape a USING (kind, object, name)
             WHERE c.kind OPERATOR(pg_catalog.=) ANY ('{default,not null,constraint,index}'::text[])
               AND c.object IN (SELECT s.object FROM @extschema@.irp_adopted_shape s
                                WHERE s.kind OPERATOR(pg_catalog.=) 'column')
               AND a.definition IS DISTINCT FROM c.definition
             ORDER BY c.kind OPERATOR(pg_catalog.<>) 'constraint', c.name
    LOOP
        CONTINUE WHEN r.kind OPERATOR(pg_catalog.=) 'constraint' AND NOT EXISTS (
            SELECT FROM pg_constraint co
            WHERE co.conrelid OPERATOR(pg_catalog.=) to_regclass(format('%s.%I', nsp, r.object))
              AND co.conname OPERATOR(pg_catalog.=) r.name);   -- gone with an earlier CASCADE
        EXECUTE CASE r.kind
            WHEN 'constraint' THEN format('ALTER TABLE %s.%I DROP CONSTRAINT %I CASCADE', nsp, r.object, r.name)
            WHEN 'index' THEN format('DROP INDEX %s.%I', nsp, r.name)
            WHEN 'default' THEN format('ALTER TABLE %s.%I ALTER COLUMN %I DROP DEFAULT', nsp, r.object, r.name)
            ELSE format('ALTER TABLE %s.%I ALTER COLUMN %I DROP NOT NULL', nsp, r.object, r.name) END;
    END LOOP;

    -- What the adopted tables had: columns and their types first.
    FOR r IN SELECT a.kind, a.object, a.name, a.definition,
                    EXISTS (SELECT FROM @extschema@.irp_batch_shape() c
                            WHERE c.kind OPERATOR(pg_catalog.=) a.kind AND c.object OPERATOR(pg_catalog.=) a.object
                              AND c.name OPERATOR(pg_catalog.=) a.name) AS present
             FROM @extschema@.irp_adopted_shape a
             WHERE (a.kind, a.object, a.name, a.definition) NOT IN (SELECT * FROM @extschema@.irp_batch_shape())
             ORDER BY array_position('{column,default,not null,constraint,index}'::text[], a.kind),
                      a.definition LIKE '% STORED',   -- generated columns after the columns they use
                      -- keys before the foreign keys that need them
                      a.definition NOT LIKE 'PRIMARY KEY%' AND a.definition NOT LIKE 'UNIQUE%',
                      a.definition LIKE 'FOREIGN KEY%', a.name
    LOOP
        EXECUTE CASE r.kind
            WHEN 'column' THEN
                CASE WHEN r.present
                     THEN format('ALTER TABLE %s.%I ALTER COLUMN %I TYPE %s', nsp, r.object, r.name, r.definition)
                     ELSE format('ALTER TABLE %s.%I ADD COLUMN %I %s', nsp, r.object, r.name, r.definition) END
            WHEN 'default' THEN format('ALTER TABLE %s.%I ALTER COLUMN %I SET DEFAULT %s', nsp, r.object, r.name, r.definition)
            WHEN 'not null' THEN format('ALTER TABLE %s.%I ALTER COLUMN %I SET NOT NULL', nsp, r.object, r.name)
            WHEN 'constraint' THEN format('ALTER TABLE %s.%I ADD CONSTRAINT %I %s', nsp, r.object, r.name, r.definition)
            ELSE r.definition END;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.irp_adopted_shape_restore() IS
    'AFTER INSERT statement trigger on irp_adopted_shape: reshapes the restored, still empty irp_batch and irp_job to the recorded shape of the tables the extension adopted';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_adopted_shape_restore() FROM PUBLIC;

CREATE TRIGGER irp_adopted_shape_restore
    AFTER INSERT ON @extschema@.irp_adopted_shape
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_adopted_shape_restore();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.irp_adopted_enum_label', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irp_adopted_shape', '');

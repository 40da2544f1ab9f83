/* irp_batch--1.2.sql: install script for irp_batch 1.2 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION irp_batch" to load this file. \quit


--
-- Adoption. CREATE EXTENSION in a schema that already holds the IRP
-- helpers' tables (made by init_database.sql) adopts them: it checks their
-- shape and existing duplicates first and changes nothing if either is
-- wrong; otherwise it makes the types, tables and sequences members of the
-- extension and adds only what is missing. No table is rewritten, and no
-- existing row, column, sequence position or other table's foreign key
-- changes.
--

-- Nothing below resolves through the schema being adopted, where anybody
-- who may create objects there could have put functions or operators.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- Can the tables be adopted? Every problem is reported at once; nothing has
-- been changed yet.
DO $adopt_check$
DECLARE
    nsp constant regnamespace := '@extschema@'::regnamespace;
    batch_rel constant regclass := to_regclass(format('%s.irp_batch', nsp));
    adopted oid[];
    problems text[] := '{}';
    reshaped text[] := '{}';
    need record;
    att record;
    r record;
    groups text[];
    extra_ids text;
BEGIN
    -- Names the extension makes that must not be taken (indexes of the
    -- extension's names on the tables it adopts give way, unless a
    -- constraint needs them).
    FOR r IN SELECT format('relation %s already exists', c.relname) AS what FROM pg_class c
              WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
                AND c.relname OPERATOR(pg_catalog.=) ANY
                    ('{irp_batch_event,irp_batch_event_pkey,irp_batch_event_id_seq,idx_batch_event_batch_id,irp_adopted_shape,irp_adopted_shape_pkey,irp_adopted_enum_label,irp_adopted_enum_label_pkey}'::name[])
             UNION ALL
             SELECT format('relation %s already exists', c.relname) FROM pg_class c
               LEFT JOIN pg_index x ON x.indexrelid OPERATOR(pg_catalog.=) c.oid
               LEFT JOIN pg_class t ON t.oid OPERATOR(pg_catalog.=) x.indrelid
              WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
                AND c.relname OPERATOR(pg_catalog.=) ANY
                    ('{idx_batch_unique_active,idx_batch_active,idx_batch_duplicate_of,idx_job_batch_id}'::name[])
                AND (t.relname IS NULL OR NOT (t.relname OPERATOR(pg_catalog.=) ANY ('{irp_batch,irp_job}'::name[]))
                     OR EXISTS (SELECT FROM pg_constraint co WHERE co.conindid OPERATOR(pg_catalog.=) c.oid))
             UNION ALL
             SELECT format('type %s already exists', t.typname) FROM pg_type t
              WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp AND t.typrelid OPERATOR(pg_catalog.=) 0
                AND t.typname OPERATOR(pg_catalog.=) ANY ('{irp_batch_event,irp_adopted_shape,irp_adopted_enum_label,irp_batch,irp_job}'::name[])
             UNION ALL
             SELECT format('function %s already exists', p.oid::regprocedure) FROM pg_proc p
              WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
                AND p.proname OPERATOR(pg_catalog.=) ANY ('{irp_batch_guard,irp_batch_audit,irp_batch_event_guard,irp_create_batch,irp_cancel_batch,irp_get_active_batches_for_config,irp_batch_preflight,irp_ensure_batch,irp_batch_drop_guard,irp_batch_shape,irp_batch_record_shape,irp_adopted_shape_restore,irp_adopted_enum_label_restore}'::name[])
             UNION ALL
             SELECT format('event trigger %s already exists', e.evtname) FROM pg_event_trigger e
              WHERE e.evtname OPERATOR(pg_catalog.=) 'irp_batch_drop_guard'
             ORDER BY 1
    LOOP
        problems := problems || r.what;
    END LOOP;
    IF batch_rel IS NULL THEN
        FOR r IN SELECT c.relname AS name FROM pg_class c
                  WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp AND c.relname OPERATOR(pg_catalog.=) 'irp_job'
                 UNION ALL
                 SELECT t.typname FROM pg_type t
                  WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
                    AND t.typname OPERATOR(pg_catalog.=) ANY ('{batch_status_enum,job_status_enum}'::name[])
                 ORDER BY 1
        LOOP
            problems := problems || format('%s exists without a table irp_batch: the extension adopts it only together with irp_batch', r.name);
        END LOOP;
    END IF;
    IF cardinality(problems) > 0 OR batch_rel IS NULL THEN
        IF cardinality(problems) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_table_definition',
                MESSAGE = format('cannot install irp_batch in schema %s: %s', nsp, problems[1]),
                DETAIL = array_to_string(problems, E'\n'),
                HINT = 'Nothing was changed. Install the extension into another schema, or move these objects out of the way.',
                SCHEMA = nsp::text;
        END IF;
        RETURN;
    END IF;
    adopted := ARRAY(SELECT c.oid FROM pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
                      AND c.relname OPERATOR(pg_catalog.=) ANY ('{irp_batch,irp_job}'::name[]));

    -- Plain tables only, without row security (which pg_dump would not keep).
    FOR r IN SELECT c.relname, c.relkind, c.relispartition, c.relrowsecurity,
                    EXISTS (SELECT FROM pg_inherits i
                            WHERE i.inhrelid OPERATOR(pg_catalog.=) c.oid
                               OR i.inhparent OPERATOR(pg_catalog.=) c.oid) AS inherits
             FROM pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ANY (adopted)
             ORDER BY c.relname
    LOOP
        IF r.relkind OPERATOR(pg_catalog.<>) 'r' OR r.relispartition OR r.inherits THEN
            problems := problems || format('%s is not a plain table (partitioned, inherited or not a table)', r.relname);
        END IF;
        IF r.relrowsecurity THEN
            problems := problems || format('table %s has row level security enabled, which pg_dump does not keep for an extension''s table', r.relname);
        END IF;
    END LOOP;

    -- The columns the extension uses, the types it accepts, and the type a
    -- fresh install has (a column that differs must be reshaped by a restore).
    FOR need IN SELECT * FROM (VALUES
        ('irp_batch', 'id',                     '{integer}', true, 'integer'),
        ('irp_batch', 'step_id',                '{integer}', true, 'integer'),
        ('irp_batch', 'configuration_id',       '{integer}', true, 'integer'),
        ('irp_batch', 'batch_type',             '{character varying,text}', true, 'character varying(255)'),
        ('irp_batch', 'status',                 '{batch_status_enum}', true, 'batch_status_enum'),
        ('irp_batch', 'created_ts',             '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'),
        ('irp_batch', 'updated_ts',             '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'),
        ('irp_batch', 'completed_ts',           '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'),
        ('irp_batch', 'duplicate_of',           '{integer}', false, 'integer'),
        ('irp_batch', 'cancel_reason',          '{text}', false, 'text'),
        ('irp_batch', 'created_by',             '{text}', false, 'text'),
        ('irp_job',   'id',                     '{integer}', true, 'integer'),
        ('irp_job',   'batch_id',               '{integer}', true, 'integer'),
        ('irp_job',   'status',                 '{job_status_enum}', true, 'job_status_enum'),
        ('irp_job',   'job_configuration_data', '{jsonb}', true, 'jsonb'),
        ('irp_job',   'created_ts',             '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'),
        ('irp_job',   'updated_ts',             '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'),
        ('irp_job',   'completed_ts',           '{timestamp without time zone,timestamp with time zone}', true, 'timestamp with time zone'))
        AS n(relname, attname, types, required, fresh)
        WHERE to_regclass(format('%s.%I', nsp, n.relname)) IS NOT NULL
    LOOP
        SELECT a.atttypid, t.typname::text AS typname, t.typnamespace,
               format_type(a.atttypid, NULL) AS typ, format_type(a.atttypid, a.atttypmod) AS typ_mod,
               a.attcollation OPERATOR(pg_catalog.<>) t.typcollation AS own_collation
          INTO att
          FROM pg_attribute a JOIN pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
         WHERE a.attrelid OPERATOR(pg_catalog.=) to_regclass(format('%s.%I', nsp, need.relname))
           AND a.attname OPERATOR(pg_catalog.=) need.attname AND NOT a.attisdropped;
        IF NOT FOUND THEN
            IF need.required THEN
                problems := problems || format('table %s has no column %s', need.relname, need.attname);
            END IF;
            CONTINUE;
        ELSIF need.types LIKE '%enum}' THEN
            IF att.typnamespace OPERATOR(pg_catalog.<>) nsp
               OR att.typname OPERATOR(pg_catalog.<>) btrim(need.types, '{}') THEN
                problems := problems || format('column %s.%s has type %s; the extension needs %s.%s',
                                               need.relname, need.attname, att.typ, nsp, btrim(need.types, '{}'));
            END IF;
            CONTINUE;
        ELSIF NOT (att.typ OPERATOR(pg_catalog.=) ANY (need.types::text[])) THEN
            problems := problems || format('column %s.%s has type %s; the extension needs %s',
                                           need.relname, need.attname, att.typ,
                                           array_to_string(need.types::text[], ' or '));
        END IF;
        IF need.attname OPERATOR(pg_catalog.=) 'batch_type' AND EXISTS (
               SELECT FROM pg_attribute a JOIN pg_collation co ON co.oid OPERATOR(pg_catalog.=) a.attcollation
               WHERE a.attrelid OPERATOR(pg_catalog.=) batch_rel AND a.attname OPERATOR(pg_catalog.=) 'batch_type'
                 AND NOT co.collisdeterministic) THEN
            problems := problems || 'column irp_batch.batch_type has a nondeterministic collation; the extension compares batch types exactly'::text;
        END IF;
        IF att.typ_mod OPERATOR(pg_catalog.<>) need.fresh OR att.own_collation THEN
            reshaped := reshaped || format('%s.%s', need.relname, need.attname);
        END IF;
    END LOOP;
    -- Columns of their own are reshaped too.
    reshaped := reshaped || ARRAY(
        SELECT format('%s.%s', c.relname, a.attname) FROM pg_class c
          JOIN pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
         WHERE c.oid OPERATOR(pg_catalog.=) ANY (adopted) AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND NOT (a.attname OPERATOR(pg_catalog.=) ANY (CASE c.relname
               WHEN 'irp_batch' THEN '{id,step_id,configuration_id,batch_type,status,created_ts,updated_ts,completed_ts,duplicate_of,cancel_reason,created_by}'::name[]
               ELSE '{id,batch_id,status,job_configuration_data,created_ts,updated_ts,completed_ts}'::name[] END)));

    -- pg_dump restores views and SQL-standard function bodies before the
    -- rows of the tables, that is, before a restore has reshaped them: none
    -- may use a column that a restore reshapes.
    FOR r IN SELECT DISTINCT
                    CASE WHEN d.classid OPERATOR(pg_catalog.=) 'pg_rewrite'::regclass
                         THEN (SELECT CASE v.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                                                     ELSE 'a rule on ' END OPERATOR(pg_catalog.||) v.oid::regclass::text
                                 FROM pg_rewrite rw JOIN pg_class v ON v.oid OPERATOR(pg_catalog.=) rw.ev_class
                                WHERE rw.oid OPERATOR(pg_catalog.=) d.objid)
                         ELSE pg_describe_object(d.classid, d.objid, 0) END AS dependent, c.relname,
                    CASE WHEN d.refobjsubid OPERATOR(pg_catalog.=) 0 THEN 'the whole row'
                         ELSE 'column ' OPERATOR(pg_catalog.||) a.attname END AS what
             FROM pg_depend d
             JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) d.refobjid
             LEFT JOIN pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
                                     AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
             WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_class'::regclass
               AND d.refobjid OPERATOR(pg_catalog.=) ANY (adopted)
               AND d.classid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_rewrite'::regclass, 'pg_proc'::regclass]::oid[])
               AND cardinality(reshaped) OPERATOR(pg_catalog.>) 0
               AND (d.refobjsubid OPERATOR(pg_catalog.=) 0
                    OR format('%s.%s', c.relname, a.attname) OPERATOR(pg_catalog.=) ANY (reshaped))
             ORDER BY 1, 3
    LOOP
        problems := problems || format('%s uses %s of %s, which a restore of a dump would create only after it',
                                       r.dependent, r.what, r.relname);
    END LOOP;

    -- id is the primary key and takes its values from <table>_id_seq.
    FOR r IN SELECT c.relname, c.oid, a.attname IS NOT NULL AS has_id,
                    CASE WHEN a.attname IS NOT NULL THEN pg_get_serial_sequence(c.oid::regclass::text, 'id') END AS id_seq
             FROM pg_class c
             LEFT JOIN pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
                                     AND a.attname OPERATOR(pg_catalog.=) 'id' AND NOT a.attisdropped
             WHERE c.oid OPERATOR(pg_catalog.=) ANY (adopted) AND c.relkind OPERATOR(pg_catalog.=) 'r'
             ORDER BY c.relname
    LOOP
        -- A missing id is reported with the columns.
        IF r.has_id AND NOT EXISTS (SELECT FROM pg_constraint co
                       JOIN pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) co.conrelid
                                          AND a.attnum OPERATOR(pg_catalog.=) ALL (co.conkey)
                       WHERE co.conrelid OPERATOR(pg_catalog.=) r.oid AND co.contype OPERATOR(pg_catalog.=) 'p'
                         AND a.attname OPERATOR(pg_catalog.=) 'id') THEN
            problems := problems || format('%s.id is not the primary key of %s', r.relname, r.relname);
        END IF;
        IF r.has_id AND r.id_seq IS NULL THEN
            problems := problems || format('%s.id takes its values from no sequence (SERIAL or identity)', r.relname);
        ELSIF r.has_id AND r.id_seq::regclass IS DISTINCT FROM to_regclass(format('%s.%I', nsp, r.relname || '_id_seq')) THEN
            problems := problems || format('the sequence of %s.id is %s; a restore makes %s_id_seq, and would lose its position',
                                           r.relname, r.id_seq, r.relname);
        END IF;
        -- A column of its own that draws from a sequence of the table's
        -- (SERIAL or identity): the restore would make a new sequence, at 1.
        FOR att IN SELECT a.attname FROM pg_attribute a
                   WHERE a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.>) 0
                     AND NOT a.attisdropped AND a.attname OPERATOR(pg_catalog.<>) 'id'
                     AND pg_get_serial_sequence(r.oid::regclass::text, a.attname) IS NOT NULL
                   ORDER BY a.attnum
        LOOP
            problems := problems || format('column %s.%s draws from a sequence of its own (SERIAL or identity), whose position a restore would lose',
                                           r.relname, att.attname);
        END LOOP;
        -- pg_dump keeps no constraint or trigger of an extension's table: a
        -- foreign key to a table that is not the extension's could not be
        -- restored, and a trigger would be lost.
        FOR att IN SELECT co.conname, co.confrelid::regclass AS target FROM pg_constraint co
                   WHERE co.conrelid OPERATOR(pg_catalog.=) r.oid AND co.contype OPERATOR(pg_catalog.=) 'f'
                     AND NOT (co.confrelid OPERATOR(pg_catalog.=) ANY (adopted))
                   ORDER BY co.conname
        LOOP
            problems := problems || format('foreign key %s of %s references %s, which is not one of the extension''s tables',
                                           att.conname, r.relname, att.target);
        END LOOP;
        -- A restore adds the constraints before it loads the rows.
        FOR att IN SELECT co.conname FROM pg_constraint co
                   WHERE co.conrelid OPERATOR(pg_catalog.=) r.oid AND NOT co.convalidated
                   ORDER BY co.conname
        LOOP
            problems := problems || format('constraint %s of %s is NOT VALID; a restore would check the old rows against it (validate or drop it)',
                                           att.conname, r.relname);
        END LOOP;
        -- Another table's column of this table's row type would keep a
        -- restore from reshaping it.
        FOR att IN SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS what FROM pg_depend d
                   JOIN pg_type ty ON ty.typrelid OPERATOR(pg_catalog.=) r.oid
                   WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_type'::regclass
                     AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[ty.oid, ty.typarray])
                     AND d.deptype OPERATOR(pg_catalog.=) 'n'
                     AND d.classid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_class'::regclass, 'pg_type'::regclass]::oid[])
                   ORDER BY 1
        LOOP
            problems := problems || format('%s uses the row type of %s, which a restore must reshape', att.what, r.relname);
        END LOOP;
        FOR att IN SELECT tg.tgname FROM pg_trigger tg
                   WHERE tg.tgrelid OPERATOR(pg_catalog.=) r.oid AND NOT tg.tgisinternal
                   ORDER BY tg.tgname
        LOOP
            problems := problems || format('table %s has a trigger of its own, %s', r.relname, att.tgname);
        END LOOP;
        FOR att IN SELECT rw.rulename FROM pg_rewrite rw WHERE rw.ev_class OPERATOR(pg_catalog.=) r.oid
                   ORDER BY rw.rulename
        LOOP
            problems := problems || format('table %s has a rule of its own, %s', r.relname, att.rulename);
        END LOOP;
    END LOOP;

    -- The enum labels the extension writes and tests for, in its order (a
    -- restore adds the other labels around them, but cannot reorder them).
    FOR need IN SELECT * FROM (VALUES
        ('batch_status_enum', '{INITIATED,ACTIVE,COMPLETED,FAILED,CANCELLED}'),
        ('job_status_enum', '{INITIATED,SUBMITTED,QUEUED,PENDING,RUNNING,FINISHED,FAILED,CANCELLED}'))
        AS n(typname, labels)
        WHERE to_regtype(format('%s.%I', nsp, n.typname)) IS NOT NULL
    LOOP
        SELECT array_agg(l ORDER BY o) FILTER (WHERE e.enumlabel IS NULL) AS missing,
               array_agg(l ORDER BY e.enumsortorder) FILTER (WHERE e.enumlabel IS NOT NULL) AS present_order,
               array_agg(l ORDER BY o) FILTER (WHERE e.enumlabel IS NOT NULL) AS wanted_order
          INTO att
          FROM unnest(need.labels::text[]) WITH ORDINALITY AS u(l, o)
          LEFT JOIN pg_enum e ON e.enumtypid OPERATOR(pg_catalog.=) to_regtype(format('%s.%I', nsp, need.typname))
                             AND e.enumlabel OPERATOR(pg_catalog.=) u.l;
        IF att.missing IS NOT NULL THEN
            problems := problems || format('type %s lacks the label%s %s', need.typname,
                                           CASE WHEN cardinality(att.missing) > 1 THEN 's' ELSE '' END,
                                           array_to_string(att.missing, ', '));
        ELSIF att.present_order OPERATOR(pg_catalog.<>) att.wanted_order THEN
            problems := problems || format('type %s orders its labels %s; a restore would order them %s',
                                           need.typname, array_to_string(att.present_order, ', '),
                                           array_to_string(att.wanted_order, ', '));
        END IF;
        -- Labels of its own reach a restored database with the extension's
        -- tables' rows, after everything pg_dump makes before the data: no
        -- other table may hold them, and no view, default, constraint,
        -- index, domain or SQL-standard function may be written with them.
        IF EXISTS (SELECT FROM pg_enum e
                   WHERE e.enumtypid OPERATOR(pg_catalog.=) to_regtype(format('%s.%I', nsp, need.typname))
                     AND NOT (e.enumlabel OPERATOR(pg_catalog.=) ANY (need.labels::text[]))) THEN
            FOR r IN SELECT DISTINCT
                            CASE WHEN d.classid OPERATOR(pg_catalog.=) 'pg_rewrite'::regclass
                                 THEN (SELECT CASE v.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                                                             ELSE 'a rule on ' END OPERATOR(pg_catalog.||) v.oid::regclass::text
                                         FROM pg_rewrite rw JOIN pg_class v ON v.oid OPERATOR(pg_catalog.=) rw.ev_class
                                        WHERE rw.oid OPERATOR(pg_catalog.=) d.objid)
                                 ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END AS what
                     FROM pg_depend d
                     JOIN pg_type t ON t.oid OPERATOR(pg_catalog.=) to_regtype(format('%s.%I', nsp, need.typname))
                     LEFT JOIN pg_class c ON d.classid OPERATOR(pg_catalog.=) 'pg_class'::regclass
                                         AND c.oid OPERATOR(pg_catalog.=) d.objid
                     LEFT JOIN pg_index x ON x.indexrelid OPERATOR(pg_catalog.=) c.oid
                     LEFT JOIN pg_attrdef ad ON d.classid OPERATOR(pg_catalog.=) 'pg_attrdef'::regclass
                                            AND ad.oid OPERATOR(pg_catalog.=) d.objid
                     LEFT JOIN pg_constraint co ON d.classid OPERATOR(pg_catalog.=) 'pg_constraint'::regclass
                                               AND co.oid OPERATOR(pg_catalog.=) d.objid
                     LEFT JOIN pg_proc p ON d.classid OPERATOR(pg_catalog.=) 'pg_proc'::regclass
                                        AND p.oid OPERATOR(pg_catalog.=) d.objid
                     WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_type'::regclass
                       AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[t.oid, t.typarray])
                       AND d.deptype OPERATOR(pg_catalog.=) 'n'
                       AND CASE d.classid
                           WHEN 'pg_class'::regclass THEN
                                NOT (COALESCE(x.indrelid, c.oid) OPERATOR(pg_catalog.=) ANY (adopted))
                                AND c.relkind OPERATOR(pg_catalog.<>) 'v'
                           WHEN 'pg_attrdef'::regclass THEN NOT (ad.adrelid OPERATOR(pg_catalog.=) ANY (adopted))
                           WHEN 'pg_constraint'::regclass THEN NOT (co.conrelid OPERATOR(pg_catalog.=) ANY (adopted))
                           WHEN 'pg_proc'::regclass THEN p.prosqlbody IS NOT NULL
                           ELSE true END
                     ORDER BY 1
            LOOP
                problems := problems || format('%s uses %s, whose labels of its own a restore of a dump adds only with the extension''s data',
                                               r.what, need.typname);
            END LOOP;
        END IF;
    END LOOP;

    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('cannot adopt the existing IRP tables in schema %s: %s%s', nsp, problems[1],
                             CASE WHEN cardinality(problems) > 1
                                  THEN format(' (and %s more problems)', cardinality(problems) - 1) ELSE '' END),
            DETAIL = array_to_string(problems, E'\n'),
            HINT = 'Nothing was changed. Correct the tables as listed (README, "Upgrading and migrating"), then run CREATE EXTENSION again.',
            SCHEMA = nsp::text;
    END IF;

    -- Existing duplicates: the guard could not hold over them.
    EXECUTE format($q$
        SELECT array_agg(g.line ORDER BY g.configuration_id, g.batch_type),
               string_agg(g.newer, ', ' ORDER BY g.configuration_id, g.batch_type)
        FROM (SELECT b.configuration_id, b.batch_type,
                     format('configuration_id %%s, batch_type %%L: %%s', b.configuration_id, b.batch_type,
                            string_agg(format('batch %%s (%%s, created %%s)', b.id, b.status,
                                              COALESCE(pg_catalog.to_char(b.created_ts, 'YYYY-MM-DD HH24:MI:SS'), 'unknown')),
                                       ', ' ORDER BY b.created_ts, b.id)) AS line,
                     array_to_string((array_agg(b.id ORDER BY b.created_ts, b.id))[2:], ', ') AS newer
              FROM %s.irp_batch b
              WHERE b.status::text OPERATOR(pg_catalog.=) ANY ('{INITIATED,ACTIVE}'::text[])
              GROUP BY b.configuration_id, b.batch_type
              HAVING count(*) OPERATOR(pg_catalog.>) 1) g$q$, nsp)
    INTO groups, extra_ids;
    IF groups IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'unique_violation',
            MESSAGE = format('cannot adopt table %s.irp_batch: %s (configuration_id, batch_type) key%s more than one INITIATED/ACTIVE batch',
                             nsp, cardinality(groups), CASE WHEN cardinality(groups) > 1 THEN 's have' ELSE ' has' END),
            DETAIL = array_to_string(groups, E'\n'),
            HINT = format('Nothing was changed. Keep the oldest batch of each key and cancel the others, then run CREATE EXTENSION again: '
                          'UPDATE %s.irp_batch SET status = ''CANCELLED'', updated_ts = now(), completed_ts = now() WHERE id IN (%s);',
                          nsp, extra_ids),
            SCHEMA = nsp::text, TABLE = 'irp_batch', CONSTRAINT = 'idx_batch_unique_active';
    END IF;
END
$adopt_check$;

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


-- Make the types and tables, or adopt them.
DO $adopt$
DECLARE
    nsp constant regnamespace := '@extschema@'::regnamespace;
    adopting constant boolean := to_regclass(format('%s.irp_batch', nsp)) IS NOT NULL;
    jobs_adopted constant boolean := to_regclass(format('%s.irp_job', nsp)) IS NOT NULL;
    seq regclass;
    c record;
    ids integer[];
    refused text[] := '{}';
    refused_rows integer := 0;
BEGIN
    IF to_regtype(format('%s.batch_status_enum', nsp)) IS NULL THEN
        CREATE TYPE @extschema@.batch_status_enum AS ENUM
            ('INITIATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED');
    ELSE
        ALTER EXTENSION irp_batch ADD TYPE @extschema@.batch_status_enum;
    END IF;
    IF to_regtype(format('%s.job_status_enum', nsp)) IS NULL THEN
        CREATE TYPE @extschema@.job_status_enum AS ENUM
            ('INITIATED', 'SUBMITTED', 'QUEUED', 'PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED');
    ELSE
        ALTER EXTENSION irp_batch ADD TYPE @extschema@.job_status_enum;
    END IF;

    IF NOT adopting THEN
        CREATE TABLE @extschema@.irp_batch (
            id               integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            step_id          integer NOT NULL,
            configuration_id integer NOT NULL,
            batch_type       varchar(255) NOT NULL,
            status           @extschema@.batch_status_enum NOT NULL DEFAULT 'INITIATED',
            duplicate_of     integer,
            cancel_reason    text,
            created_by       text NOT NULL DEFAULT CURRENT_USER,
            created_ts       timestamptz NOT NULL DEFAULT pg_catalog.now(),
            updated_ts       timestamptz NOT NULL DEFAULT pg_catalog.now(),
            completed_ts     timestamptz
        );
    ELSE
        ALTER EXTENSION irp_batch ADD TABLE @extschema@.irp_batch;
        -- Rows that existed before keep NULL: nobody knows who made them.
        ALTER TABLE @extschema@.irp_batch
            ADD COLUMN IF NOT EXISTS duplicate_of integer,
            ADD COLUMN IF NOT EXISTS cancel_reason text,
            ADD COLUMN IF NOT EXISTS created_by text;
        ALTER TABLE @extschema@.irp_batch ALTER COLUMN created_by SET DEFAULT CURRENT_USER;
    END IF;
    IF NOT jobs_adopted THEN
        CREATE TABLE @extschema@.irp_job (
            id                     integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            batch_id               integer NOT NULL,
            status                 @extschema@.job_status_enum NOT NULL DEFAULT 'INITIATED',
            job_configuration_data jsonb NOT NULL DEFAULT '{}',
            created_ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
            updated_ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
            completed_ts           timestamptz
        );
    ELSE
        ALTER EXTENSION irp_batch ADD TABLE @extschema@.irp_job;
    END IF;

    -- A SERIAL's sequence joins the extension (an identity's already has).
    FOREACH seq IN ARRAY ARRAY[
        pg_catalog.pg_get_serial_sequence(format('%s.irp_batch', nsp), 'id')::regclass,
        pg_catalog.pg_get_serial_sequence(format('%s.irp_job', nsp), 'id')::regclass]
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
                         AND d.objid OPERATOR(pg_catalog.=) seq
                         AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::regclass
                         AND d.deptype OPERATOR(pg_catalog.=) 'e') THEN
            EXECUTE format('ALTER EXTENSION irp_batch ADD SEQUENCE %s', seq);
        END IF;
    END LOOP;

    -- The constraints. On adopted tables they are checked against the rows
    -- first (a scan, no rewrite): a row they refuse is reported with every
    -- other, and nothing changes. (NOT VALID would not do: a restore loads
    -- the rows after the constraints exist, and would refuse those rows.)
    FOR pass IN 1..2 LOOP
        FOR c IN SELECT * FROM (VALUES
            ('irp_batch', 'irp_batch_id_check', 'CHECK (id OPERATOR(pg_catalog.>) 0)', 'id must be positive'),
            ('irp_batch', 'irp_batch_step_id_check', 'CHECK (step_id OPERATOR(pg_catalog.>) 0)', 'step_id must be positive'),
            ('irp_batch', 'irp_batch_configuration_id_check', 'CHECK (configuration_id OPERATOR(pg_catalog.>) 0)',
             'configuration_id must be positive'),
            ('irp_batch', 'irp_batch_batch_type_check',
             $c$CHECK (batch_type OPERATOR(pg_catalog.<>) ''
                       AND batch_type OPERATOR(pg_catalog.!~) '[\x01-\x1f\x7f]'
                       AND batch_type OPERATOR(pg_catalog.!~) '^ | $')$c$,
             'batch_type must not be empty, hold control characters, or begin or end with a space'),
            ('irp_batch', 'irp_batch_duplicate_of_fkey', format('FOREIGN KEY (duplicate_of) REFERENCES %s.irp_batch (id)', nsp),
             'duplicate_of must name an existing batch'),
            ('irp_batch', 'irp_batch_duplicate_of_check', 'CHECK (duplicate_of OPERATOR(pg_catalog.<>) id)',
             'a batch cannot duplicate itself'),
            ('irp_job', 'irp_job_batch_id_fkey', format('FOREIGN KEY (batch_id) REFERENCES %s.irp_batch (id)', nsp),
             'batch_id must name an existing batch'))
            AS n(relname, conname, definition, rule)
        LOOP
            CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_constraint co
                                  WHERE co.conrelid OPERATOR(pg_catalog.=) to_regclass(format('%s.%I', nsp, c.relname))
                                    AND co.conname OPERATOR(pg_catalog.=) c.conname);
            -- An adopted irp_job may already have its foreign key, by another name.
            CONTINUE WHEN c.conname OPERATOR(pg_catalog.=) 'irp_job_batch_id_fkey' AND EXISTS (
                SELECT FROM pg_catalog.pg_constraint co
                WHERE co.conrelid OPERATOR(pg_catalog.=) to_regclass(format('%s.irp_job', nsp))
                  AND co.contype OPERATOR(pg_catalog.=) 'f'
                  AND co.confrelid OPERATOR(pg_catalog.=) to_regclass(format('%s.irp_batch', nsp)));
            IF pass OPERATOR(pg_catalog.=) 2 THEN
                EXECUTE format('ALTER TABLE %s.%I ADD CONSTRAINT %I %s', nsp, c.relname, c.conname, c.definition);
                CONTINUE;
            END IF;
            CONTINUE WHEN NOT ((c.relname OPERATOR(pg_catalog.=) 'irp_batch' AND adopting)
                               OR (c.relname OPERATOR(pg_catalog.=) 'irp_job' AND jobs_adopted));
            IF c.definition LIKE 'CHECK %' THEN
                EXECUTE format('SELECT array_agg(id ORDER BY id) FROM %s.%I WHERE NOT %s',
                               nsp, c.relname, substr(c.definition, 7)) INTO ids;
            ELSIF c.conname OPERATOR(pg_catalog.=) 'irp_job_batch_id_fkey' THEN
                EXECUTE format('SELECT array_agg(j.id ORDER BY j.id) FROM %1$s.irp_job j WHERE NOT EXISTS '
                               '(SELECT FROM %1$s.irp_batch b WHERE b.id OPERATOR(pg_catalog.=) j.batch_id)', nsp) INTO ids;
            ELSE   -- irp_batch_duplicate_of_fkey (the column may be older than the extension)
                EXECUTE format('SELECT array_agg(b.id ORDER BY b.id) FROM %1$s.irp_batch b WHERE NOT EXISTS '
                               '(SELECT FROM %1$s.irp_batch t WHERE t.id OPERATOR(pg_catalog.=) b.duplicate_of)'
                               ' AND b.duplicate_of IS NOT NULL', nsp) INTO ids;
            END IF;
            IF ids IS NOT NULL THEN
                refused := refused || format('%s (%s): %s id %s', c.conname, c.rule, c.relname,
                                             (SELECT string_agg(i::text, ', ') FROM unnest(ids) AS i));
                refused_rows := refused_rows + cardinality(ids);
            END IF;
        END LOOP;
        IF pass OPERATOR(pg_catalog.=) 1 AND cardinality(refused) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'check_violation',
                MESSAGE = format('cannot adopt the existing IRP tables in schema %s: %s row%s the extension would refuse',
                                 nsp, refused_rows, CASE WHEN refused_rows > 1 THEN 's hold values' ELSE ' holds a value' END),
                DETAIL = array_to_string(refused, E'\n'),
                HINT = 'Nothing was changed. Correct or delete the rows listed by id, then run CREATE EXTENSION again.',
                SCHEMA = nsp::text;
        END IF;
    END LOOP;

    IF adopting THEN
        -- The extension's indexes are made below; one of the same name (the
        -- proposal's migration made idx_batch_unique_active without the
        -- exception for intentional duplicates) gives way.
        FOR c IN SELECT i.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
                 WHERE x.indrelid OPERATOR(pg_catalog.=) ANY (ARRAY[
                           to_regclass(format('%s.irp_batch', nsp)), to_regclass(format('%s.irp_job', nsp))]::oid[])
                   AND i.relname OPERATOR(pg_catalog.=) ANY
                       ('{idx_batch_unique_active,idx_batch_active,idx_batch_duplicate_of,idx_job_batch_id}'::name[])
        LOOP
            EXECUTE format('DROP INDEX %s.%I', nsp, c.relname);
        END LOOP;
        -- The tables' grants so far were made by their users, not by this
        -- script: pg_dump must dump them (it leaves out a member's initial
        -- privileges, which ALTER EXTENSION ADD has just recorded).
        DELETE FROM pg_init_privs p
         WHERE (p.classoid OPERATOR(pg_catalog.=) 'pg_class'::regclass
                AND p.objoid OPERATOR(pg_catalog.=) ANY (ARRAY[
                    to_regclass(format('%s.irp_batch', nsp)), to_regclass(format('%s.irp_job', nsp)),
                    to_regclass(format('%s.irp_batch_id_seq', nsp)), to_regclass(format('%s.irp_job_id_seq', nsp))]::oid[]))
            OR (p.classoid OPERATOR(pg_catalog.=) 'pg_type'::regclass
                AND p.objoid OPERATOR(pg_catalog.=) ANY (ARRAY[
                    to_regtype(format('%s.batch_status_enum', nsp)), to_regtype(format('%s.job_status_enum', nsp))]::oid[]));
        PERFORM @extschema@.irp_batch_record_shape();
    END IF;
END
$adopt$;

COMMENT ON TYPE @extschema@.batch_status_enum IS
    'Lifecycle of an IRP batch: INITIATED and ACTIVE are active (guarded against duplicates); COMPLETED, FAILED and CANCELLED are finished';
COMMENT ON TYPE @extschema@.job_status_enum IS
    'Lifecycle of an IRP job; SUBMITTED, QUEUED, PENDING and RUNNING jobs are known to Moody''s';

COMMENT ON TABLE @extschema@.irp_batch IS
    'IRP batches: one per (configuration, batch type) while INITIATED or ACTIVE, unless marked as an intentional duplicate';
COMMENT ON COLUMN @extschema@.irp_batch.step_id IS 'Workflow step that created the batch';
COMMENT ON COLUMN @extschema@.irp_batch.configuration_id IS 'Configuration the batch belongs to; with batch_type, the key the duplicate guard protects';
COMMENT ON COLUMN @extschema@.irp_batch.batch_type IS 'Kind of batch, e.g. EDM_CREATION; with configuration_id, the key the duplicate guard protects';
COMMENT ON COLUMN @extschema@.irp_batch.status IS 'INITIATED and ACTIVE batches are active; at most one active batch per key has duplicate_of NULL';
COMMENT ON COLUMN @extschema@.irp_batch.duplicate_of IS 'Set on an intentional duplicate: the batch of the same key it duplicates. Cleared when the row is reactivated or moved to another key';
COMMENT ON COLUMN @extschema@.irp_batch.cancel_reason IS 'Reason given to irp_cancel_batch()';
COMMENT ON COLUMN @extschema@.irp_batch.created_by IS 'Role that created the batch';
COMMENT ON COLUMN @extschema@.irp_batch.updated_ts IS 'Last change, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)';
COMMENT ON COLUMN @extschema@.irp_batch.completed_ts IS 'When the batch finished, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)';

COMMENT ON TABLE @extschema@.irp_job IS 'IRP jobs: the units of work a batch submits to Moody''s';
COMMENT ON COLUMN @extschema@.irp_job.job_configuration_data IS 'The job''s parameters: one element of the jobs array given to irp_create_batch()';
COMMENT ON COLUMN @extschema@.irp_job.completed_ts IS 'When the job finished, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)';

CREATE TABLE @extschema@.irp_batch_event (
    id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    batch_id integer NOT NULL,
    event    text NOT NULL,
    reason   text,
    actor    text NOT NULL,
    details  jsonb,
    event_ts timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.irp_batch_event IS
    'Audit trail: one row for every batch created, cancelled, changed in status, key or duplicate_of, or deleted, whichever path made the change';
COMMENT ON COLUMN @extschema@.irp_batch_event.batch_id IS 'The batch the event is about (no foreign key: the history outlives the batch)';
COMMENT ON COLUMN @extschema@.irp_batch_event.event IS 'CREATED, DUPLICATE_CREATED, CANCELLED, STATUS_CHANGED, KEY_CHANGED, DUPLICATE_OF_CHANGED or DELETED';
COMMENT ON COLUMN @extschema@.irp_batch_event.reason IS 'For CANCELLED: the reason given to irp_cancel_batch()';
COMMENT ON COLUMN @extschema@.irp_batch_event.actor IS 'Role that made the change (current_user of the statement)';
COMMENT ON COLUMN @extschema@.irp_batch_event.details IS 'Event-specific facts, e.g. old and new status, or the jobs a cancellation affected';

--
-- Indexes
--

-- The proposal's safety net: at most one active, non-duplicate batch per key.
CREATE UNIQUE INDEX idx_batch_unique_active
    ON @extschema@.irp_batch (configuration_id, batch_type)
    WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL;
COMMENT ON INDEX @extschema@.idx_batch_unique_active IS
    'At most one INITIATED/ACTIVE batch per (configuration_id, batch_type) that is not an intentional duplicate';

-- Every active batch of a key, oldest first: the guard's probe and irp_get_active_batches_for_config().
CREATE INDEX idx_batch_active
    ON @extschema@.irp_batch (configuration_id, batch_type, created_ts)
    WHERE status IN ('INITIATED', 'ACTIVE');
COMMENT ON INDEX @extschema@.idx_batch_active IS
    'All INITIATED/ACTIVE batches by key and age, intentional duplicates included';

CREATE INDEX idx_batch_duplicate_of
    ON @extschema@.irp_batch (duplicate_of)
    WHERE duplicate_of IS NOT NULL;
COMMENT ON INDEX @extschema@.idx_batch_duplicate_of IS 'Foreign key lookups from intentional duplicates';

CREATE INDEX idx_job_batch_id ON @extschema@.irp_job (batch_id);
COMMENT ON INDEX @extschema@.idx_job_batch_id IS 'Jobs of a batch: job counts, cancellation, foreign key lookups';

CREATE INDEX idx_batch_event_batch_id ON @extschema@.irp_batch_event (batch_id, id);
COMMENT ON INDEX @extschema@.idx_batch_event_batch_id IS 'History of one batch in order';

--
-- Triggers
--

CREATE FUNCTION @extschema@.irp_batch_guard() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_guard() IS
    'BEFORE INSERT/UPDATE row trigger on irp_batch: refuses a second active batch per key with a descriptive error (SQLSTATE 23505)';

CREATE TRIGGER irp_batch_guard
    BEFORE INSERT OR UPDATE ON @extschema@.irp_batch
    FOR EACH ROW EXECUTE FUNCTION @extschema@.irp_batch_guard();

CREATE FUNCTION @extschema@.irp_batch_audit() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_audit';
COMMENT ON FUNCTION @extschema@.irp_batch_audit() IS
    'Statement trigger on irp_batch (AFTER INSERT/UPDATE/DELETE, BEFORE TRUNCATE): one irp_batch_event row per batch created, changed in status, key or duplicate_of, or deleted';

-- Trigger functions are only for the triggers below.
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_guard() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_audit() FROM PUBLIC;

CREATE TRIGGER irp_batch_audit_insert
    AFTER INSERT ON @extschema@.irp_batch
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_batch_audit();
CREATE TRIGGER irp_batch_audit_update
    AFTER UPDATE ON @extschema@.irp_batch
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_batch_audit();
CREATE TRIGGER irp_batch_audit_delete
    AFTER DELETE ON @extschema@.irp_batch
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_batch_audit();
CREATE TRIGGER irp_batch_audit_truncate
    BEFORE TRUNCATE ON @extschema@.irp_batch
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_batch_audit();

--
-- SQL API (C++; not STRICT: a NULL argument is an error, SQLSTATE 22004)
--

CREATE FUNCTION @extschema@.irp_create_batch(
    batch_type       text,
    configuration_id integer,
    step_id          integer,
    allow_duplicate  boolean DEFAULT false,
    jobs             jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'irp_create_batch';
COMMENT ON FUNCTION @extschema@.irp_create_batch(text, integer, integer, boolean, jsonb) IS
    'Creates a batch and one job per element of jobs (a JSON array of objects), atomically; refuses a duplicate of an active batch unless allow_duplicate';

CREATE FUNCTION @extschema@.irp_cancel_batch(
    batch_id integer,
    reason   text DEFAULT 'Cancelled by user')
RETURNS boolean
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'irp_cancel_batch';
COMMENT ON FUNCTION @extschema@.irp_cancel_batch(integer, text) IS
    'Cancels an INITIATED/ACTIVE batch and its unfinished jobs; false if the batch had already finished';

CREATE FUNCTION @extschema@.irp_get_active_batches_for_config(
    configuration_id integer,
    batch_type       text DEFAULT NULL)
RETURNS TABLE (id integer, batch_type text, status @extschema@.batch_status_enum,
               created_ts timestamptz, job_count bigint, duplicate_of integer)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 2
AS 'MODULE_PATHNAME', 'irp_get_active_batches_for_config';
COMMENT ON FUNCTION @extschema@.irp_get_active_batches_for_config(integer, text) IS
    'INITIATED/ACTIVE batches of a configuration, optionally of one batch type, newest first';

--
-- pg_dump keeps the rows of the extension's tables
--

SELECT pg_catalog.pg_extension_config_dump('@extschema@.irp_batch', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irp_job', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.irp_batch_event', '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('@extschema@.irp_batch', 'id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('@extschema@.irp_job', 'id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('@extschema@.irp_batch_event', 'id')::pg_catalog.regclass, '');

--
-- An unforgeable audit trail. From 1.1 the audit triggers write
-- irp_batch_event with its owner's privileges, recording the acting role as
-- actor, so application roles need no privilege on it beyond SELECT; a
-- statement trigger refuses every write by any role but the owner.
--

CREATE FUNCTION @extschema@.irp_batch_event_guard() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_event_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_event_guard() IS
    'BEFORE statement trigger on irp_batch_event: refuses INSERT, UPDATE, DELETE and TRUNCATE by any role but the table''s owner (SQLSTATE 42501)';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_event_guard() FROM PUBLIC;

CREATE TRIGGER irp_batch_event_guard
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.irp_batch_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.irp_batch_event_guard();
COMMENT ON TRIGGER irp_batch_event_guard ON @extschema@.irp_batch_event IS
    'Only the audit triggers on irp_batch (running as this table''s owner) and the owner write the audit trail';


--
-- The client side of the proposal: the notebook's pre-flight, and the
-- idempotent re-run.
--

CREATE FUNCTION @extschema@.irp_batch_preflight(
    configuration_id integer,
    batch_types      text[])
RETURNS TABLE (batch_type text, batch_id integer, status @extschema@.batch_status_enum,
               created_ts timestamptz, created_by text, job_count bigint, duplicate_of integer)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 4
AS 'MODULE_PATHNAME', 'irp_batch_preflight';
COMMENT ON FUNCTION @extschema@.irp_batch_preflight(integer, text[]) IS
    'For each batch type in the order given: its INITIATED/ACTIVE batches of the configuration, oldest first, or one row with a NULL batch_id';

CREATE FUNCTION @extschema@.irp_ensure_batch(
    batch_type       text,
    configuration_id integer,
    step_id          integer,
    jobs             jsonb DEFAULT NULL)
RETURNS TABLE (batch_id integer, created boolean)
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1
AS 'MODULE_PATHNAME', 'irp_ensure_batch';
COMMENT ON FUNCTION @extschema@.irp_ensure_batch(text, integer, integer, jsonb) IS
    'The idempotent re-run: the active batch the duplicate error would name (created false, no jobs added), or a new batch with its jobs (created true); concurrent calls for one key return the same batch';

--
-- No silent drop: DROP EXTENSION irp_batch (or a DROP SCHEMA or DROP OWNED
-- that would drop it) is refused while its tables hold rows, unless
-- irp_batch.confirm_drop is on.
--

CREATE FUNCTION @extschema@.irp_batch_drop_guard() RETURNS event_trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_drop_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_drop_guard() IS
    'ddl_command_start event trigger: refuses to drop the extension while irp_batch, irp_job or irp_batch_event hold rows, unless irp_batch.confirm_drop is on (SQLSTATE 2BP01)';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_drop_guard() FROM PUBLIC;

CREATE EVENT TRIGGER irp_batch_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@.irp_batch_drop_guard();
COMMENT ON EVENT TRIGGER irp_batch_drop_guard IS
    'Keeps DROP EXTENSION irp_batch from deleting batches, jobs and audit events unless irp_batch.confirm_drop is on';


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

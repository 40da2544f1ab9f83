-- irp_batch--2.0.sql: made by make from the pieces in extension/; edit those
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION irp_batch" or "ALTER EXTENSION irp_batch UPDATE" to load this file. \quit

-- Nothing below resolves through the extension's schema, where anybody who
-- may create objects there could have put functions or operators.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

--
-- The trigger functions (C++). The extension owns them; the triggers that
-- run them belong to the tables (irp_batch_setup() attaches them), so that
-- pg_dump writes them after the tables' rows.
--

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_guard() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_guard() IS
    'BEFORE INSERT/UPDATE row trigger on irp_batch: refuses a second active batch per key with a descriptive error (SQLSTATE 23505)';

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_audit() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_audit';
COMMENT ON FUNCTION @extschema@.irp_batch_audit() IS
    'Statement trigger on irp_batch (AFTER INSERT/UPDATE/DELETE, BEFORE TRUNCATE): one irp_batch_event row per batch created, changed in status, key or duplicate_of, or deleted';

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_event_guard() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_event_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_event_guard() IS
    'BEFORE statement trigger on irp_batch_event: refuses INSERT, UPDATE, DELETE and TRUNCATE by any role but the table''s owner (SQLSTATE 42501)';

-- Trigger functions run only as triggers, and only on the extension's
-- tables (else SQLSTATE 39P01). EXECUTE on them is PUBLIC's, explicitly (1.x
-- revoked it): CREATE TRIGGER needs it from whoever attaches them, which in
-- a restore with --use-set-session-authorization is the tables' owner.
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_guard() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_audit() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_event_guard() TO PUBLIC;

--
-- SQL API (C++; not STRICT: a NULL argument is an error, SQLSTATE 22004).
-- No signature names the enums: they belong to the tables, not to the
-- extension, and a restore creates them after the extension. Statuses are
-- returned as text.
--

CREATE OR REPLACE FUNCTION @extschema@.irp_create_batch(
    batch_type       text,
    configuration_id integer,
    step_id          integer,
    allow_duplicate  boolean DEFAULT false,
    jobs             jsonb DEFAULT NULL,
    request_id       uuid DEFAULT NULL)
RETURNS integer
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'irp_create_batch';
COMMENT ON FUNCTION @extschema@.irp_create_batch(text, integer, integer, boolean, jsonb, uuid) IS
    'Creates a batch and one job per element of jobs (a JSON array of objects), atomically; refuses a duplicate of an active batch unless allow_duplicate; a retry with the same request_id returns the batch the request created';

CREATE OR REPLACE FUNCTION @extschema@.irp_cancel_batch(
    batch_id integer,
    reason   text DEFAULT 'Cancelled by user')
RETURNS boolean
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'irp_cancel_batch';
COMMENT ON FUNCTION @extschema@.irp_cancel_batch(integer, text) IS
    'Cancels an INITIATED/ACTIVE batch and its unfinished jobs; false if the batch had already finished';

CREATE OR REPLACE FUNCTION @extschema@.irp_get_active_batches_for_config(
    configuration_id integer,
    batch_type       text DEFAULT NULL)
RETURNS TABLE (id integer, batch_type text, status text,
               created_ts timestamptz, job_count bigint, duplicate_of integer)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 2
AS 'MODULE_PATHNAME', 'irp_get_active_batches_for_config';
COMMENT ON FUNCTION @extschema@.irp_get_active_batches_for_config(integer, text) IS
    'INITIATED/ACTIVE batches of a configuration, optionally of one batch type, newest first';

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_preflight(
    configuration_id integer,
    batch_types      text[])
RETURNS TABLE (batch_type text, batch_id integer, status text,
               created_ts timestamptz, created_by text, job_count bigint, duplicate_of integer)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 4
AS 'MODULE_PATHNAME', 'irp_batch_preflight';
COMMENT ON FUNCTION @extschema@.irp_batch_preflight(integer, text[]) IS
    'For each batch type in the order given: its INITIATED/ACTIVE batches of the configuration, oldest first, or one row with a NULL batch_id';

CREATE OR REPLACE FUNCTION @extschema@.irp_ensure_batch(
    batch_type       text,
    configuration_id integer,
    step_id          integer,
    jobs             jsonb DEFAULT NULL,
    request_id       uuid DEFAULT NULL)
RETURNS TABLE (batch_id integer, created boolean)
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1
AS 'MODULE_PATHNAME', 'irp_ensure_batch';
COMMENT ON FUNCTION @extschema@.irp_ensure_batch(text, integer, integer, jsonb, uuid) IS
    'The idempotent re-run: the active batch the duplicate error would name (created false, no jobs added), or a new batch with its jobs (created true); concurrent calls for one key return the same batch; a retry with the same request_id returns what the request did';

--
-- DROP EXTENSION irp_batch never deletes a row: the tables are not the
-- extension's. Without CASCADE PostgreSQL refuses it, naming the triggers
-- that run the extension's functions; with CASCADE it removes them, and this
-- event trigger warns that the tables are no longer guarded or audited.
--

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_drop_warning() RETURNS event_trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_drop_warning';
COMMENT ON FUNCTION @extschema@.irp_batch_drop_warning() IS
    'ddl_command_start event trigger: warns that DROP EXTENSION irp_batch CASCADE removes the duplicate guard and the audit from the tables, which keep their rows';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_drop_warning() FROM PUBLIC;

CREATE EVENT TRIGGER irp_batch_drop_warning ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION @extschema@.irp_batch_drop_warning();
COMMENT ON EVENT TRIGGER irp_batch_drop_warning IS
    'Warns that DROP EXTENSION irp_batch CASCADE leaves irp_batch, irp_job and irp_batch_event (with their rows) unguarded and unaudited';

--
-- irp_batch_setup(): the tables, and the guard and audit on them.
--
-- The tables, their sequences and the two enums are ordinary objects of the
-- extension's schema, not members of the extension: pg_dump writes their
-- definitions (with every change a DBA made) and loads their rows before it
-- creates the triggers, indexes and foreign keys, and DROP EXTENSION never
-- deletes a row. This function creates what is missing, or attaches to the
-- tables that exist (the IRP helpers' own, or those a DROP EXTENSION ...
-- CASCADE left): it checks them first and changes nothing if they cannot
-- take the guard, then adds only nullable columns (no table rewrite), the
-- constraints, the indexes, the triggers and the audit table. Calling it
-- again changes nothing.
--

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_setup() RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $setup$
DECLARE
    ext oid;
    nsp oid;
    s text;            -- the schema's name, quoted
    problems text[] := '{}';
    done text[] := '{}';
    r record;
    att record;
    rel oid;
    ids integer[];
    refused text[] := '{}';
    refused_rows integer := 0;
    groups text[];
    extra_ids text;
    pending jsonb;     -- the rules whose constraints are to be added
    -- The columns the extension uses: the types it accepts, and for a column
    -- it may add to an existing table, its definition (none: the table must
    -- have it).
    shape constant jsonb := $json$[
        {"relname": "irp_batch", "attname": "id", "types": ["integer"]},
        {"relname": "irp_batch", "attname": "step_id", "types": ["integer"], "added": "integer",
         "comment": "Workflow step that created the batch"},
        {"relname": "irp_batch", "attname": "configuration_id", "types": ["integer"],
         "comment": "Configuration the batch belongs to; with batch_type, the key the duplicate guard protects"},
        {"relname": "irp_batch", "attname": "batch_type", "types": ["character varying", "text"],
         "comment": "Kind of batch, e.g. EDM_CREATION; with configuration_id, the key the duplicate guard protects"},
        {"relname": "irp_batch", "attname": "status", "types": ["batch_status_enum"],
         "comment": "INITIATED and ACTIVE batches are active; at most one active batch per key has duplicate_of NULL"},
        {"relname": "irp_batch", "attname": "duplicate_of", "types": ["integer"], "added": "integer",
         "comment": "Set on an intentional duplicate: the batch of the same key it duplicates. Cleared when the row is reactivated or moved to another key"},
        {"relname": "irp_batch", "attname": "cancel_reason", "types": ["text"], "added": "text",
         "comment": "Reason given to irp_cancel_batch()"},
        {"relname": "irp_batch", "attname": "created_by", "types": ["text"], "added": "text", "default_expr": "CURRENT_USER",
         "comment": "Role that created the batch"},
        {"relname": "irp_batch", "attname": "created_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz", "default_expr": "pg_catalog.now()"},
        {"relname": "irp_batch", "attname": "updated_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz", "default_expr": "pg_catalog.now()",
         "comment": "Last change, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)"},
        {"relname": "irp_batch", "attname": "completed_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz",
         "comment": "When the batch finished, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)"},
        {"relname": "irp_batch", "attname": "request_id", "types": ["uuid"], "added": "uuid",
         "comment": "The request_id given to irp_create_batch() or irp_ensure_batch(): a retry of that request returns this batch"},
        {"relname": "irp_job", "attname": "id", "types": ["integer"]},
        {"relname": "irp_job", "attname": "batch_id", "types": ["integer"]},
        {"relname": "irp_job", "attname": "status", "types": ["job_status_enum"]},
        {"relname": "irp_job", "attname": "job_configuration_data", "types": ["jsonb"], "added": "jsonb", "default_expr": "'{}'::jsonb",
         "comment": "The job's parameters: one element of the jobs array given to irp_create_batch()"},
        {"relname": "irp_job", "attname": "created_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz", "default_expr": "pg_catalog.now()"},
        {"relname": "irp_job", "attname": "updated_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz", "default_expr": "pg_catalog.now()"},
        {"relname": "irp_job", "attname": "completed_ts", "types": ["timestamp with time zone", "timestamp without time zone"],
         "added": "timestamptz",
         "comment": "When the job finished, as set by the writer (irp_cancel_batch sets it; no trigger maintains it)"},
        {"relname": "irp_batch_event", "attname": "id", "types": ["bigint"]},
        {"relname": "irp_batch_event", "attname": "batch_id", "types": ["integer"],
         "comment": "The batch the event is about (no foreign key: the history outlives the batch)"},
        {"relname": "irp_batch_event", "attname": "event", "types": ["text"],
         "comment": "CREATED, DUPLICATE_CREATED, CANCELLED, STATUS_CHANGED, KEY_CHANGED, DUPLICATE_OF_CHANGED or DELETED"},
        {"relname": "irp_batch_event", "attname": "reason", "types": ["text"],
         "comment": "For CANCELLED: the reason given to irp_cancel_batch()"},
        {"relname": "irp_batch_event", "attname": "actor", "types": ["text"],
         "comment": "Role that made the change (current_user of the statement)"},
        {"relname": "irp_batch_event", "attname": "details", "types": ["jsonb"],
         "comment": "Event-specific facts, e.g. old and new status, or the jobs a cancellation affected"},
        {"relname": "irp_batch_event", "attname": "event_ts", "types": ["timestamp with time zone"]}
    ]$json$;
    -- The rules the extension's constraints (or, without a definition, its
    -- guard) enforce, and the rows that break them.
    rules constant jsonb := $json$[
        {"relname": "irp_batch", "conname": "irp_batch_id_check", "column": "id",
         "definition": "CHECK (id > 0)", "rule": "id must be positive", "bad_rows": "NOT (id > 0)"},
        {"relname": "irp_batch", "conname": "irp_batch_step_id_check", "column": "step_id",
         "definition": "CHECK (step_id > 0)", "rule": "step_id must be positive", "bad_rows": "NOT (step_id > 0)"},
        {"relname": "irp_batch", "conname": "irp_batch_configuration_id_check", "column": "configuration_id",
         "definition": "CHECK (configuration_id > 0)", "rule": "configuration_id must be positive",
         "bad_rows": "NOT (configuration_id > 0)"},
        {"relname": "irp_batch", "conname": "irp_batch_batch_type_check", "column": "batch_type",
         "definition": "CHECK (batch_type <> '' AND batch_type !~ '[\\x01-\\x1f\\x7f]' AND batch_type !~ '^ | $')",
         "rule": "batch_type must not be empty, hold control characters, or begin or end with a space",
         "bad_rows": "NOT (batch_type <> '' AND batch_type !~ '[\\x01-\\x1f\\x7f]' AND batch_type !~ '^ | $')"},
        {"relname": "irp_batch", "conname": "irp_batch_duplicate_of_fkey", "column": "duplicate_of",
         "definition": "FOREIGN KEY (duplicate_of) REFERENCES %1$s.irp_batch (id)", "rule": "duplicate_of must name an existing batch",
         "bad_rows": "x.duplicate_of IS NOT NULL AND NOT EXISTS (SELECT FROM %1$s.irp_batch t WHERE t.id = x.duplicate_of)"},
        {"relname": "irp_batch", "conname": "irp_batch_guard", "column": "duplicate_of",
         "rule": "duplicate_of must name a batch of the same configuration_id and batch_type; the guard checks it",
         "bad_rows": "x.duplicate_of IS NOT NULL AND EXISTS (SELECT FROM %1$s.irp_batch t WHERE t.id = x.duplicate_of AND (t.configuration_id, t.batch_type) IS DISTINCT FROM (x.configuration_id, x.batch_type))"},
        {"relname": "irp_batch", "conname": "irp_batch_duplicate_of_check", "column": "duplicate_of",
         "definition": "CHECK (duplicate_of <> id)", "rule": "a batch cannot duplicate itself", "bad_rows": "NOT (duplicate_of <> id)"},
        {"relname": "irp_job", "conname": "irp_job_batch_id_fkey", "column": "batch_id",
         "definition": "FOREIGN KEY (batch_id) REFERENCES %1$s.irp_batch (id)", "rule": "batch_id must name an existing batch",
         "bad_rows": "NOT EXISTS (SELECT FROM %1$s.irp_batch t WHERE t.id = x.batch_id)"}
    ]$json$;
BEGIN
    SELECT e.oid, e.extnamespace, quote_ident(n.nspname) INTO ext, nsp, s
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'irp_batch';

    -- One setup at a time, and no writer while the rows are checked and the
    -- guard attached: what was checked is what the guard then holds over.
    PERFORM pg_advisory_xact_lock(1230131266, nsp::integer);   -- 0x49525042, "IRPB"; the schema
    FOR r IN SELECT c.oid FROM pg_class c
              WHERE c.relnamespace = nsp AND c.relname IN ('irp_batch', 'irp_job', 'irp_batch_event') AND c.relkind = 'r'
              ORDER BY c.relname
    LOOP
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', r.oid::regclass);
    END LOOP;

    -- 1. Can the existing objects take the guard? Every problem is listed
    -- at once; nothing has been changed yet.
    FOR r IN
        SELECT format('%s is not a plain table (partitioned, inherited or not a table)', c.relname) AS what
          FROM pg_class c
         WHERE c.relnamespace = nsp AND c.relname IN ('irp_batch', 'irp_job', 'irp_batch_event')
           AND (c.relkind <> 'r' OR c.relispartition
                OR EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid))
        UNION ALL
        SELECT format('relation %s already exists and is not the extension''s index on %s', c.relname, i.tab)
          FROM (VALUES ('idx_batch_unique_active', 'irp_batch'), ('idx_batch_active', 'irp_batch'),
                       ('idx_batch_duplicate_of', 'irp_batch'), ('idx_batch_request_id', 'irp_batch'),
                       ('idx_job_batch_id', 'irp_job'),
                       ('idx_batch_event_batch_id', 'irp_batch_event')) AS i(idx, tab)
          JOIN pg_class c ON c.relnamespace = nsp AND c.relname = i.idx
          LEFT JOIN pg_index x ON x.indexrelid = c.oid
         WHERE x.indrelid IS DISTINCT FROM to_regclass(format('%s.%I', s, i.tab))
            OR EXISTS (SELECT FROM pg_constraint co WHERE co.conindid = c.oid)
        UNION ALL
        SELECT format('type %s already exists and is not an enum', t.typname)
          FROM pg_type t
         WHERE t.typnamespace = nsp AND t.typname IN ('batch_status_enum', 'job_status_enum') AND t.typtype <> 'e'
        ORDER BY 1
    LOOP
        problems := problems || r.what;
    END LOOP;

    -- The columns: present with a type the extension can use, or addable.
    FOR r IN SELECT sh.*, a.atttypid, t.typname, t.typnamespace, format_type(a.atttypid, NULL) AS typ,
                    a.attnum IS NOT NULL AS present, co.collisdeterministic
               FROM jsonb_to_recordset(shape) AS sh(relname name, attname name, types text[], added text, default_expr text, comment text)
               JOIN pg_class c ON c.relnamespace = nsp AND c.relname = sh.relname AND c.relkind = 'r'
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = sh.attname AND NOT a.attisdropped
               LEFT JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
              ORDER BY sh.relname, sh.attname
    LOOP
        IF NOT r.present THEN
            IF r.added IS NULL THEN
                problems := problems || format('table %s has no column %s', r.relname, r.attname);
            END IF;
        ELSIF r.types[1] LIKE '%enum' THEN
            IF r.typnamespace <> nsp OR r.typname <> r.types[1] THEN
                problems := problems || format('column %s.%s has type %s; the extension needs %s.%s',
                                               r.relname, r.attname, r.typ, s, r.types[1]);
            END IF;
        ELSIF NOT (r.typ = ANY (r.types)) THEN
            problems := problems || format('column %s.%s has type %s; the extension needs %s',
                                           r.relname, r.attname, r.typ, array_to_string(r.types, ' or '));
        ELSIF r.attname = 'batch_type' AND NOT r.collisdeterministic THEN
            problems := problems || 'column irp_batch.batch_type has a nondeterministic collation; the extension compares batch types exactly'::text;
        END IF;
    END LOOP;

    -- id is the primary key and takes its values from a sequence.
    FOR r IN SELECT c.relname, c.oid,
                    pg_get_serial_sequence(c.oid::regclass::text, 'id') AS id_seq,
                    EXISTS (SELECT FROM pg_constraint co JOIN pg_attribute a ON a.attrelid = co.conrelid
                             WHERE co.conrelid = c.oid AND co.contype = 'p' AND co.conkey = ARRAY[a.attnum]
                               AND a.attname = 'id') AS id_is_pk
               FROM pg_class c
              WHERE c.relnamespace = nsp AND c.relname IN ('irp_batch', 'irp_job', 'irp_batch_event')
                AND c.relkind = 'r'
                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped)
              ORDER BY c.relname
    LOOP
        IF NOT r.id_is_pk THEN
            problems := problems || format('%s.id is not the primary key of %s', r.relname, r.relname);
        END IF;
        IF r.id_seq IS NULL THEN
            problems := problems || format('%s.id takes its values from no sequence (SERIAL or identity)', r.relname);
        END IF;
    END LOOP;

    -- The labels the extension writes and tests for.
    FOR r IN SELECT n.typname, array_agg(l ORDER BY o) AS missing
               FROM (VALUES ('batch_status_enum', '{INITIATED,ACTIVE,COMPLETED,FAILED,CANCELLED}'::text[]),
                            ('job_status_enum', '{INITIATED,SUBMITTED,QUEUED,PENDING,RUNNING,FINISHED,FAILED,CANCELLED}'::text[]))
                    AS n(typname, labels)
               JOIN pg_type t ON t.typnamespace = nsp AND t.typname = n.typname AND t.typtype = 'e'
               CROSS JOIN LATERAL unnest(n.labels) WITH ORDINALITY AS u(l, o)
              WHERE NOT EXISTS (SELECT FROM pg_enum e WHERE e.enumtypid = t.oid AND e.enumlabel = u.l)
              GROUP BY n.typname ORDER BY n.typname
    LOOP
        problems := problems || format('type %s lacks the label%s %s', r.typname,
                                       CASE WHEN cardinality(r.missing) > 1 THEN 's' ELSE '' END,
                                       array_to_string(r.missing, ', '));
    END LOOP;

    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_table_definition',
            MESSAGE = format('cannot attach irp_batch to the existing tables in schema %s: %s%s', s, problems[1],
                             CASE WHEN cardinality(problems) > 1
                                  THEN format(' (and %s more problems)', cardinality(problems) - 1) ELSE '' END),
            DETAIL = array_to_string(problems, E'\n'),
            HINT = 'Nothing was changed. Correct the tables as listed (README, "Adopting an existing IRP database"), then try again.',
            SCHEMA = s;
    END IF;

    -- 2. Existing duplicates: the guard could not hold over them. (Rows
    -- with duplicate_of are intentional duplicates, as the unique index says.)
    IF to_regclass(format('%s.irp_batch', s)) IS NOT NULL THEN
        EXECUTE format($q$
            SELECT array_agg(g.line ORDER BY g.configuration_id, g.batch_type),
                   string_agg(g.newer, ', ' ORDER BY g.configuration_id, g.batch_type)
            FROM (SELECT b.configuration_id, b.batch_type,
                         format('configuration_id %%s, batch_type %%L: %%s', b.configuration_id, b.batch_type,
                                string_agg(format('batch %%s (%%s, created %%s)', b.id, b.status,
                                                  COALESCE(to_char(b.created_ts, 'YYYY-MM-DD HH24:MI:SS'), 'unknown')),
                                           ', ' ORDER BY b.created_ts, b.id)) AS line,
                         array_to_string((array_agg(b.id ORDER BY b.created_ts, b.id))[2:], ', ') AS newer
                  FROM %s.irp_batch b
                  WHERE b.status::text IN ('INITIATED', 'ACTIVE') %s
                  GROUP BY b.configuration_id, b.batch_type
                  HAVING count(*) > 1) g$q$,
            s, CASE WHEN EXISTS (SELECT FROM pg_attribute a
                                 WHERE a.attrelid = to_regclass(format('%s.irp_batch', s))
                                   AND a.attname = 'duplicate_of' AND NOT a.attisdropped)
                    THEN 'AND b.duplicate_of IS NULL' ELSE '' END)
        INTO groups, extra_ids;
        IF groups IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'unique_violation',
                MESSAGE = format('cannot adopt table %s.irp_batch: %s (configuration_id, batch_type) key%s more than one INITIATED/ACTIVE batch',
                                 s, cardinality(groups), CASE WHEN cardinality(groups) > 1 THEN 's have' ELSE ' has' END),
                DETAIL = array_to_string(groups, E'\n'),
                HINT = format('Nothing was changed. Keep the oldest batch of each key and cancel the others, then try again: '
                              'UPDATE %s.irp_batch SET status = ''CANCELLED'', updated_ts = now(), completed_ts = now() WHERE id IN (%s);',
                              s, extra_ids),
                SCHEMA = s, TABLE = 'irp_batch', CONSTRAINT = 'idx_batch_unique_active';
        END IF;
    END IF;

    -- 3. The rules the extension's constraints will enforce, checked against
    -- the existing rows (a constraint already there is left as it is).
    -- A constraint already there stays, and so does irp_job's own foreign
    -- key to irp_batch under another name: the rest are the ones to add.
    SELECT coalesce(jsonb_agg(u.rule), '[]') INTO pending
      FROM jsonb_array_elements(rules) AS u(rule)
     WHERE NOT EXISTS (SELECT FROM pg_constraint co
                        WHERE co.conrelid = to_regclass(format('%s.%I', s, u.rule->>'relname'))
                          AND (co.conname = u.rule->>'conname'
                               OR (u.rule->>'conname' = 'irp_job_batch_id_fkey' AND co.contype = 'f'
                                   AND co.confrelid = to_regclass(format('%s.irp_batch', s)))));
    FOR r IN SELECT u.* FROM jsonb_to_recordset(pending)
                          AS u(relname name, conname name, "column" name, rule text, bad_rows text)
              WHERE EXISTS (SELECT FROM pg_attribute a
                             WHERE a.attrelid = to_regclass(format('%s.%I', s, u.relname))
                               AND a.attname = u."column" AND NOT a.attisdropped)
              ORDER BY u.relname, u.conname
    LOOP
        EXECUTE format('SELECT array_agg(x.id ORDER BY x.id) FROM %s.%I x WHERE ', s, r.relname) || format(r.bad_rows, s)
           INTO ids;
        IF ids IS NOT NULL THEN
            refused := refused || format('%s (%s): %s id %s', r.conname, r.rule, r.relname, array_to_string(ids, ', '));
            refused_rows := refused_rows + cardinality(ids);
        END IF;
    END LOOP;
    IF cardinality(refused) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('cannot attach irp_batch to the existing tables in schema %s: %s row%s the extension would refuse',
                             s, refused_rows, CASE WHEN refused_rows > 1 THEN 's hold values' ELSE ' holds a value' END),
            DETAIL = array_to_string(refused, E'\n'),
            HINT = 'Nothing was changed. Correct or delete the rows listed by id, then try again.',
            SCHEMA = s;
    END IF;

    -- 4. Create what is missing.
    IF to_regtype(format('%s.batch_status_enum', s)) IS NULL THEN
        EXECUTE format($d$CREATE TYPE %s.batch_status_enum AS ENUM
                          ('INITIATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED')$d$, s);
        done := done || 'created type batch_status_enum'::text;
    END IF;
    IF to_regtype(format('%s.job_status_enum', s)) IS NULL THEN
        EXECUTE format($d$CREATE TYPE %s.job_status_enum AS ENUM
                          ('INITIATED', 'SUBMITTED', 'QUEUED', 'PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED')$d$, s);
        done := done || 'created type job_status_enum'::text;
    END IF;
    IF to_regclass(format('%s.irp_batch', s)) IS NULL THEN
        EXECUTE format($d$CREATE TABLE %1$s.irp_batch (
            id               integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            step_id          integer NOT NULL,
            configuration_id integer NOT NULL,
            batch_type       varchar(255) NOT NULL,
            status           %1$s.batch_status_enum NOT NULL DEFAULT 'INITIATED',
            duplicate_of     integer,
            cancel_reason    text,
            created_by       text NOT NULL DEFAULT CURRENT_USER,
            created_ts       timestamptz NOT NULL DEFAULT pg_catalog.now(),
            updated_ts       timestamptz NOT NULL DEFAULT pg_catalog.now(),
            completed_ts     timestamptz,
            request_id       uuid)$d$, s);
        done := done || 'created table irp_batch'::text;
    END IF;
    IF to_regclass(format('%s.irp_job', s)) IS NULL THEN
        EXECUTE format($d$CREATE TABLE %1$s.irp_job (
            id                     integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            batch_id               integer NOT NULL,
            status                 %1$s.job_status_enum NOT NULL DEFAULT 'INITIATED',
            job_configuration_data jsonb NOT NULL DEFAULT '{}',
            created_ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
            updated_ts             timestamptz NOT NULL DEFAULT pg_catalog.now(),
            completed_ts           timestamptz)$d$, s);
        done := done || 'created table irp_job'::text;
    END IF;
    IF to_regclass(format('%s.irp_batch_event', s)) IS NULL THEN
        EXECUTE format($d$CREATE TABLE %s.irp_batch_event (
            id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            batch_id integer NOT NULL,
            event    text NOT NULL,
            reason   text,
            actor    text NOT NULL,
            details  jsonb,
            event_ts timestamptz NOT NULL DEFAULT pg_catalog.now())$d$, s);
        done := done || 'created table irp_batch_event'::text;
    END IF;

    -- Columns an existing table lacks: nullable, so no rewrite; rows that
    -- existed before keep NULL (nobody knows who made them, or when).
    FOR r IN SELECT sh.* FROM jsonb_array_elements(shape) WITH ORDINALITY AS e(item, n),
                    jsonb_to_record(e.item) AS sh(relname name, attname name, added text, default_expr text)
              WHERE sh.added IS NOT NULL
                AND NOT EXISTS (SELECT FROM pg_attribute a
                                 WHERE a.attrelid = to_regclass(format('%s.%I', s, sh.relname))
                                   AND a.attname = sh.attname AND NOT a.attisdropped)
              ORDER BY e.n
    LOOP
        EXECUTE format('ALTER TABLE %s.%I ADD COLUMN %I %s', s, r.relname, r.attname, r.added);
        IF r.default_expr IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %s.%I ALTER COLUMN %I SET DEFAULT %s', s, r.relname, r.attname, r.default_expr);
        END IF;
        done := done || format('added column %s.%s', r.relname, r.attname);
    END LOOP;
    -- Comments on the extension's tables, types and columns that have none.
    FOR r IN SELECT o.* FROM (VALUES
        ('TABLE', 'irp_batch', to_regclass(format('%s.irp_batch', s))::oid, 'pg_class',
         'IRP batches: one per (configuration, batch type) while INITIATED or ACTIVE, unless marked as an intentional duplicate'),
        ('TABLE', 'irp_job', to_regclass(format('%s.irp_job', s))::oid, 'pg_class',
         'IRP jobs: the units of work a batch submits to Moody''s'),
        ('TABLE', 'irp_batch_event', to_regclass(format('%s.irp_batch_event', s))::oid, 'pg_class',
         'Audit trail: one row for every batch created, cancelled, changed in status, key or duplicate_of, or deleted, whichever path made the change'),
        ('TYPE', 'batch_status_enum', to_regtype(format('%s.batch_status_enum', s))::oid, 'pg_type',
         'Lifecycle of an IRP batch: INITIATED and ACTIVE are active (guarded against duplicates); COMPLETED, FAILED and CANCELLED are finished'),
        ('TYPE', 'job_status_enum', to_regtype(format('%s.job_status_enum', s))::oid, 'pg_type',
         'Lifecycle of an IRP job; SUBMITTED, QUEUED, PENDING and RUNNING jobs are known to Moody''s'))
        AS o(kind, name, oid, catalog, comment)
        WHERE obj_description(o.oid, o.catalog) IS NULL
    LOOP
        EXECUTE format('COMMENT ON %s %s.%I IS %L', r.kind, s, r.name, r.comment);
    END LOOP;
    -- Comments on the extension's columns that have none.
    FOR r IN SELECT sh.*, a.attnum, c.oid AS relid FROM jsonb_to_recordset(shape) AS sh(relname name, attname name, types text[], added text, default_expr text, comment text)
               JOIN pg_class c ON c.relnamespace = nsp AND c.relname = sh.relname
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = sh.attname AND NOT a.attisdropped
              WHERE sh.comment IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL
    LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I.%I IS %L', s, r.relname, r.attname, r.comment);
    END LOOP;

    FOR r IN SELECT u.* FROM jsonb_to_recordset(pending) AS u(relname name, conname name, definition text)
              WHERE u.definition IS NOT NULL
              ORDER BY u.relname, u.conname
    LOOP
        EXECUTE format('ALTER TABLE %s.%I ADD CONSTRAINT %I ', s, r.relname, r.conname) || format(r.definition, s);
        done := done || format('added constraint %s', r.conname);
    END LOOP;

    -- The indexes. One of the extension's names with another definition
    -- (the proposal's migration made idx_batch_unique_active without the
    -- exception for intentional duplicates) is replaced.
    FOR r IN SELECT i.* FROM (VALUES
        ('idx_batch_unique_active', 'irp_batch',
         'CREATE UNIQUE INDEX idx_batch_unique_active ON %1$s.irp_batch USING btree (configuration_id, batch_type) WHERE ((status = ANY (ARRAY[''INITIATED''::%1$s.batch_status_enum, ''ACTIVE''::%1$s.batch_status_enum])) AND (duplicate_of IS NULL))',
         'At most one INITIATED/ACTIVE batch per (configuration_id, batch_type) that is not an intentional duplicate'),
        ('idx_batch_active', 'irp_batch',
         'CREATE INDEX idx_batch_active ON %1$s.irp_batch USING btree (configuration_id, batch_type, created_ts) WHERE (status = ANY (ARRAY[''INITIATED''::%1$s.batch_status_enum, ''ACTIVE''::%1$s.batch_status_enum]))',
         'All INITIATED/ACTIVE batches by key and age, intentional duplicates included'),
        ('idx_batch_duplicate_of', 'irp_batch',
         'CREATE INDEX idx_batch_duplicate_of ON %1$s.irp_batch USING btree (duplicate_of) WHERE (duplicate_of IS NOT NULL)',
         'Foreign key lookups from intentional duplicates'),
        ('idx_batch_request_id', 'irp_batch',
         'CREATE UNIQUE INDEX idx_batch_request_id ON %1$s.irp_batch USING btree (request_id) WHERE (request_id IS NOT NULL)',
         'At most one batch per request_id: a retried request finds the batch it created'),
        ('idx_job_batch_id', 'irp_job',
         'CREATE INDEX idx_job_batch_id ON %1$s.irp_job USING btree (batch_id)',
         'Jobs of a batch: job counts, cancellation, foreign key lookups'),
        ('idx_batch_event_batch_id', 'irp_batch_event',
         'CREATE INDEX idx_batch_event_batch_id ON %1$s.irp_batch_event USING btree (batch_id, id)',
         'History of one batch in order')) AS i(name, relname, definition, comment)
    LOOP
        rel := to_regclass(format('%s.%I', s, r.name));
        CONTINUE WHEN rel IS NOT NULL AND pg_get_indexdef(rel) = format(r.definition, s);
        IF rel IS NOT NULL THEN
            EXECUTE format('DROP INDEX %s.%I', s, r.name);
            done := done || format('replaced index %s', r.name);
        ELSE
            done := done || format('created index %s', r.name);
        END IF;
        EXECUTE format(r.definition, s);
        EXECUTE format('COMMENT ON INDEX %s.%I IS %L', s, r.name, r.comment);
    END LOOP;

    -- The triggers.
    FOR r IN SELECT t.* FROM (VALUES
        ('irp_batch_guard', 'irp_batch',
         'BEFORE INSERT OR UPDATE ON %1$s.irp_batch FOR EACH ROW EXECUTE FUNCTION %1$s.irp_batch_guard()', NULL),
        ('irp_batch_audit_insert', 'irp_batch',
         'AFTER INSERT ON %1$s.irp_batch REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %1$s.irp_batch_audit()', NULL),
        ('irp_batch_audit_update', 'irp_batch',
         'AFTER UPDATE ON %1$s.irp_batch REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %1$s.irp_batch_audit()', NULL),
        ('irp_batch_audit_delete', 'irp_batch',
         'AFTER DELETE ON %1$s.irp_batch REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %1$s.irp_batch_audit()', NULL),
        ('irp_batch_audit_truncate', 'irp_batch',
         'BEFORE TRUNCATE ON %1$s.irp_batch FOR EACH STATEMENT EXECUTE FUNCTION %1$s.irp_batch_audit()', NULL),
        ('irp_batch_event_guard', 'irp_batch_event',
         'BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON %1$s.irp_batch_event FOR EACH STATEMENT EXECUTE FUNCTION %1$s.irp_batch_event_guard()',
         'Only the audit triggers on irp_batch (running as this table''s owner) and the owner write the audit trail'))
        AS t(name, relname, definition, comment)
    LOOP
        -- One of the extension's names with another definition (another
        -- function, timing, event or WHEN) is replaced.
        SELECT tg.oid INTO rel FROM pg_trigger tg
         WHERE tg.tgrelid = to_regclass(format('%s.%I', s, r.relname)) AND tg.tgname = r.name;
        CONTINUE WHEN FOUND AND pg_get_triggerdef(rel) = format('CREATE TRIGGER %I ', r.name) || format(r.definition, s);
        IF FOUND THEN
            EXECUTE format('DROP TRIGGER %I ON %s.%I', r.name, s, r.relname);
            done := done || format('replaced trigger %s', r.name);
        ELSE
            done := done || format('created trigger %s', r.name);
        END IF;
        EXECUTE format('CREATE TRIGGER %I ', r.name) || format(r.definition, s);
        IF r.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON TRIGGER %I ON %s.%I IS %L', r.name, s, r.relname, r.comment);
        END IF;
    END LOOP;

    -- 5. Whatever this made inside CREATE EXTENSION or ALTER EXTENSION
    -- UPDATE became a member of the extension: the tables, their sequences
    -- and the enums are the database's, not the extension's.
    FOR r IN SELECT CASE WHEN d.classid = 'pg_type'::regclass THEN 'TYPE'
                         WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
                    CASE WHEN d.classid = 'pg_type'::regclass THEN d.objid::regtype::text
                         ELSE d.objid::regclass::text END AS name
               FROM pg_depend d
               LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
               LEFT JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
              WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
                AND (c.relkind IN ('r', 'S') OR t.typtype = 'e')
              ORDER BY 1 DESC, 2
    LOOP
        EXECUTE format('ALTER EXTENSION irp_batch DROP %s %s', r.kind, r.name);
    END LOOP;

    RETURN CASE WHEN cardinality(done) = 0
                THEN format('irp_batch is set up in schema %s: nothing to do', s)
                ELSE format('irp_batch in schema %s: %s', s, array_to_string(done, ', ')) END;
END
$setup$;
COMMENT ON FUNCTION @extschema@.irp_batch_setup() IS
    'Creates the tables irp_batch, irp_job and irp_batch_event with their types, indexes, guard and audit triggers, or attaches to the existing ones (checked first; nothing changes on a problem); idempotent; CREATE EXTENSION calls it unless it runs in a restore of a dump';
REVOKE EXECUTE ON FUNCTION @extschema@.irp_batch_setup() FROM PUBLIC;

--
-- The tables. A restore of a pg_dump brings them, with their rows, right
-- after this script: pg_dump's preamble sets row_security = off for its
-- session, and then CREATE EXTENSION makes only the code. Anywhere else it
-- makes the tables or attaches to those that exist. SELECT irp_batch_setup()
-- does it on demand.
--

DO $install$
BEGIN
    IF pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off'
       AND EXISTS (SELECT FROM pg_catalog.pg_settings s
                   WHERE s.name OPERATOR(pg_catalog.=) 'row_security'
                     AND s.source OPERATOR(pg_catalog.=) 'session') THEN
        RETURN;
    END IF;
    PERFORM @extschema@.irp_batch_setup();
END
$install$;

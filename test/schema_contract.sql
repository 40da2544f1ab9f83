-- The schema contract of irp_batch 2.0: types, tables, columns, constraints,
-- the proposal's partial unique index, the triggers and the SQL API.
\ir pgtap_begin.psql
CREATE SCHEMA irp;
CREATE EXTENSION irp_batch SCHEMA irp;
SET search_path = irp, public;

SELECT plan(92);

-- Types
SELECT enum_has_labels('irp', 'batch_status_enum',
  ARRAY['INITIATED', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED'], 'batch_status_enum labels');
SELECT enum_has_labels('irp', 'job_status_enum',
  ARRAY['INITIATED', 'SUBMITTED', 'QUEUED', 'PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED'],
  'job_status_enum labels');

-- irp_batch
SELECT tables_are('irp', ARRAY['irp_batch', 'irp_job', 'irp_batch_event'], 'the tables');
SELECT columns_are('irp', 'irp_batch', ARRAY['id', 'step_id', 'configuration_id', 'batch_type', 'status',
  'duplicate_of', 'cancel_reason', 'created_by', 'created_ts', 'updated_ts', 'completed_ts', 'request_id'], 'irp_batch columns');
SELECT col_type_is('irp', 'irp_batch', 'id', 'integer', 'irp_batch.id');
SELECT col_is_pk('irp', 'irp_batch', 'id', 'irp_batch.id is the primary key');
SELECT is((SELECT attidentity FROM pg_attribute WHERE attrelid = 'irp.irp_batch'::regclass AND attname = 'id'),
          'd', 'irp_batch.id is generated');
SELECT col_type_is('irp', 'irp_batch', 'step_id', 'integer', 'irp_batch.step_id');
SELECT col_not_null('irp', 'irp_batch', 'step_id', 'irp_batch.step_id NOT NULL');
SELECT col_type_is('irp', 'irp_batch', 'configuration_id', 'integer', 'irp_batch.configuration_id');
SELECT col_not_null('irp', 'irp_batch', 'configuration_id', 'irp_batch.configuration_id NOT NULL');
SELECT col_type_is('irp', 'irp_batch', 'batch_type', 'character varying(255)', 'irp_batch.batch_type');
SELECT col_not_null('irp', 'irp_batch', 'batch_type', 'irp_batch.batch_type NOT NULL');
SELECT col_type_is('irp', 'irp_batch', 'status', 'irp', 'batch_status_enum', 'irp_batch.status');
SELECT col_not_null('irp', 'irp_batch', 'status', 'irp_batch.status NOT NULL');
SELECT col_default_is('irp', 'irp_batch', 'status', 'INITIATED', 'irp_batch.status defaults to INITIATED');
SELECT col_type_is('irp', 'irp_batch', 'duplicate_of', 'integer', 'irp_batch.duplicate_of');
SELECT col_is_null('irp', 'irp_batch', 'duplicate_of', 'irp_batch.duplicate_of nullable');
SELECT fk_ok('irp', 'irp_batch', 'duplicate_of', 'irp', 'irp_batch', 'id', 'irp_batch.duplicate_of references irp_batch');
SELECT col_type_is('irp', 'irp_batch', 'cancel_reason', 'text', 'irp_batch.cancel_reason');
SELECT col_type_is('irp', 'irp_batch', 'created_by', 'text', 'irp_batch.created_by');
SELECT col_not_null('irp', 'irp_batch', 'created_by', 'irp_batch.created_by NOT NULL');
SELECT col_default_is('irp', 'irp_batch', 'created_by', 'CURRENT_USER', 'irp_batch.created_by defaults to current_user');
SELECT col_type_is('irp', 'irp_batch', 'created_ts', 'timestamp with time zone', 'irp_batch.created_ts');
SELECT col_default_is('irp', 'irp_batch', 'created_ts', 'now()', 'irp_batch.created_ts defaults to now()');
SELECT col_type_is('irp', 'irp_batch', 'updated_ts', 'timestamp with time zone', 'irp_batch.updated_ts');
SELECT col_default_is('irp', 'irp_batch', 'updated_ts', 'now()', 'irp_batch.updated_ts defaults to now()');
SELECT col_type_is('irp', 'irp_batch', 'completed_ts', 'timestamp with time zone', 'irp_batch.completed_ts');

SELECT col_type_is('irp', 'irp_batch', 'request_id', 'uuid', 'irp_batch.request_id');
SELECT is(pg_get_indexdef('irp.idx_batch_request_id'::regclass),
  'CREATE UNIQUE INDEX idx_batch_request_id ON irp.irp_batch USING btree (request_id) WHERE (request_id IS NOT NULL)',
  'a request_id names at most one batch');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'irp'::regnamespace
            AND proname IN ('irp_create_batch', 'irp_ensure_batch')), 2::bigint,
  'one irp_create_batch and one irp_ensure_batch: request_id replaced the signatures, no overload');

-- irp_job
SELECT columns_are('irp', 'irp_job', ARRAY['id', 'batch_id', 'status', 'job_configuration_data',
  'created_ts', 'updated_ts', 'completed_ts'], 'irp_job columns');
SELECT col_is_pk('irp', 'irp_job', 'id', 'irp_job.id is the primary key');
SELECT col_type_is('irp', 'irp_job', 'id', 'integer', 'irp_job.id');
SELECT col_type_is('irp', 'irp_job', 'batch_id', 'integer', 'irp_job.batch_id');
SELECT col_not_null('irp', 'irp_job', 'batch_id', 'irp_job.batch_id NOT NULL');
SELECT fk_ok('irp', 'irp_job', 'batch_id', 'irp', 'irp_batch', 'id', 'irp_job.batch_id references irp_batch');
SELECT col_type_is('irp', 'irp_job', 'status', 'irp', 'job_status_enum', 'irp_job.status');
SELECT col_default_is('irp', 'irp_job', 'status', 'INITIATED', 'irp_job.status defaults to INITIATED');
SELECT col_type_is('irp', 'irp_job', 'job_configuration_data', 'jsonb', 'irp_job.job_configuration_data');
SELECT col_not_null('irp', 'irp_job', 'job_configuration_data', 'irp_job.job_configuration_data NOT NULL');
SELECT col_default_is('irp', 'irp_job', 'job_configuration_data', '{}', 'irp_job.job_configuration_data defaults to {}');
SELECT col_type_is('irp', 'irp_job', 'completed_ts', 'timestamp with time zone', 'irp_job.completed_ts');

-- irp_batch_event
SELECT columns_are('irp', 'irp_batch_event', ARRAY['id', 'batch_id', 'event', 'reason', 'actor', 'details', 'event_ts'],
  'irp_batch_event columns');
SELECT col_is_pk('irp', 'irp_batch_event', 'id', 'irp_batch_event.id is the primary key');
SELECT col_type_is('irp', 'irp_batch_event', 'id', 'bigint', 'irp_batch_event.id');
SELECT col_type_is('irp', 'irp_batch_event', 'batch_id', 'integer', 'irp_batch_event.batch_id');
SELECT col_not_null('irp', 'irp_batch_event', 'event', 'irp_batch_event.event NOT NULL');
SELECT col_not_null('irp', 'irp_batch_event', 'actor', 'irp_batch_event.actor NOT NULL');
SELECT col_type_is('irp', 'irp_batch_event', 'details', 'jsonb', 'irp_batch_event.details');
SELECT col_type_is('irp', 'irp_batch_event', 'event_ts', 'timestamp with time zone', 'irp_batch_event.event_ts');
SELECT col_not_null('irp', 'irp_batch_event', 'event_ts', 'irp_batch_event.event_ts NOT NULL');

-- The proposal's partial unique index, and the index behind the guard's probe
SELECT has_index('irp', 'irp_batch', 'idx_batch_unique_active', ARRAY['configuration_id', 'batch_type'],
  'idx_batch_unique_active on (configuration_id, batch_type)');
SELECT index_is_unique('irp', 'irp_batch', 'idx_batch_unique_active', 'idx_batch_unique_active is unique');
SELECT is((SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'irp.idx_batch_unique_active'::regclass),
  '((status = ANY (ARRAY[''INITIATED''::batch_status_enum, ''ACTIVE''::batch_status_enum])) AND (duplicate_of IS NULL))',
  'idx_batch_unique_active covers INITIATED/ACTIVE batches that are not intentional duplicates');
SELECT has_index('irp', 'irp_batch', 'idx_batch_active', ARRAY['configuration_id', 'batch_type', 'created_ts'],
  'idx_batch_active on (configuration_id, batch_type, created_ts)');
SELECT has_index('irp', 'irp_job', 'idx_job_batch_id', ARRAY['batch_id'], 'idx_job_batch_id on irp_job (batch_id)');

-- The triggers
SELECT trigger_is('irp', 'irp_batch', 'irp_batch_guard', 'irp', 'irp_batch_guard', 'the guard trigger calls irp_batch_guard()');
SELECT is((SELECT tgtype::int & (1 | 2 | 4 | 16) FROM pg_trigger
            WHERE tgrelid = 'irp.irp_batch'::regclass AND tgname = 'irp_batch_guard'),
          1 | 2 | 4 | 16, 'the guard fires BEFORE INSERT OR UPDATE FOR EACH ROW');
SELECT function_lang_is('irp', 'irp_batch_guard', ARRAY[]::name[], 'c', 'the guard is C++ (LANGUAGE C)');
SELECT triggers_are('irp', 'irp_batch', ARRAY['irp_batch_guard', 'irp_batch_audit_insert', 'irp_batch_audit_update',
  'irp_batch_audit_delete', 'irp_batch_audit_truncate'], 'irp_batch has the guard and the audit triggers');
SELECT triggers_are('irp', 'irp_batch_event', ARRAY['irp_batch_event_guard'], 'irp_batch_event has its write guard');
SELECT triggers_are('irp', 'irp_job', ARRAY['irp_job_progress_insert', 'irp_job_progress_update', 'irp_job_progress_delete'],
  'irp_job has the job-progress triggers');
SELECT is((SELECT array_agg(t.tgname || ' ' || (t.tgtype::int & (1 | 2 | 4 | 8 | 16 | 32)) || ' '
                            || coalesce(t.tgoldtable, '-') || ' ' || coalesce(t.tgnewtable, '-') ORDER BY t.tgname)
             FROM pg_trigger t WHERE t.tgrelid = 'irp.irp_job'::regclass AND t.tgfoid = 'irp.irp_job_progress'::regproc),
  ARRAY['irp_job_progress_delete 8 old_rows -', 'irp_job_progress_insert 4 - new_rows',
        'irp_job_progress_update 16 old_rows new_rows'],
  'the job-progress triggers: AFTER INSERT, UPDATE, DELETE FOR EACH STATEMENT, with transition tables');
SELECT ok(has_function_privilege('public', 'irp.irp_job_progress()', 'EXECUTE'),
  'irp_job_progress() may be attached by any table owner, like the other trigger functions');
SELECT is((SELECT tgtype::int & (1 | 2 | 4 | 8 | 16 | 32) FROM pg_trigger
            WHERE tgrelid = 'irp.irp_batch_event'::regclass AND tgname = 'irp_batch_event_guard'),
          2 | 4 | 8 | 16 | 32, 'the event guard fires BEFORE INSERT, UPDATE, DELETE and TRUNCATE FOR EACH STATEMENT');
SELECT ok(has_function_privilege('public', 'irp.irp_batch_event_guard()', 'EXECUTE')
          AND has_function_privilege('public', 'irp.irp_batch_guard()', 'EXECUTE')
          AND has_function_privilege('public', 'irp.irp_batch_audit()', 'EXECUTE'),
  'the trigger functions may be attached by any table owner (a restore that runs as the owner); they fire only on the extension''s tables');

-- The SQL API
SELECT is(pg_get_function_identity_arguments('irp.irp_create_batch'::regproc),
  'batch_type text, configuration_id integer, step_id integer, allow_duplicate boolean, jobs jsonb, request_id uuid',
  'irp_create_batch arguments');
SELECT is(pg_get_function_arguments('irp.irp_create_batch'::regproc),
  'batch_type text, configuration_id integer, step_id integer, allow_duplicate boolean DEFAULT false, jobs jsonb DEFAULT NULL::jsonb, request_id uuid DEFAULT NULL::uuid',
  'irp_create_batch defaults');
SELECT function_returns('irp', 'irp_create_batch', ARRAY['text', 'integer', 'integer', 'boolean', 'jsonb', 'uuid'], 'integer',
  'irp_create_batch returns integer');
SELECT is(pg_get_function_arguments('irp.irp_cancel_batch'::regproc),
  'batch_id integer, reason text DEFAULT ''Cancelled by user''::text', 'irp_cancel_batch arguments and default');
SELECT function_returns('irp', 'irp_cancel_batch', ARRAY['integer', 'text'], 'boolean', 'irp_cancel_batch returns boolean');
SELECT is(pg_get_function_arguments('irp.irp_get_active_batches_for_config'::regproc),
  'configuration_id integer, batch_type text DEFAULT NULL::text', 'irp_get_active_batches_for_config arguments');
SELECT is(pg_get_function_result('irp.irp_get_active_batches_for_config'::regproc),
  'TABLE(id integer, batch_type text, status text, created_ts timestamp with time zone, job_count bigint, duplicate_of integer)',
  'irp_get_active_batches_for_config result');
SELECT is(pg_get_function_arguments('irp.irp_batch_preflight'::regproc),
  'configuration_id integer, batch_types text[]', 'irp_batch_preflight arguments');
SELECT is(pg_get_function_result('irp.irp_batch_preflight'::regproc),
  'TABLE(batch_type text, batch_id integer, status text, created_ts timestamp with time zone, created_by text, job_count bigint, duplicate_of integer, last_change timestamp with time zone, stale boolean, message text)',
  'irp_batch_preflight result');
SELECT is(pg_get_function_arguments('irp.irp_batch_progress'::regproc),
  'batch_id integer[]', 'irp_batch_progress arguments');
SELECT is(pg_get_function_result('irp.irp_batch_progress'::regproc),
  'TABLE(batch_id integer, status text, total_jobs bigint, counts jsonb, finished_fraction double precision, last_change timestamp with time zone, stale boolean)',
  'irp_batch_progress result');
SELECT is(pg_get_function_arguments('irp.irp_stale_batches'::regproc),
  'older_than interval DEFAULT ''1 day''::interval', 'irp_stale_batches arguments');
SELECT is(pg_get_function_result('irp.irp_stale_batches'::regproc),
  'TABLE(batch_id integer, configuration_id integer, batch_type text, status text, last_change timestamp with time zone, idle interval, total_jobs bigint)',
  'irp_stale_batches result');
SELECT is(pg_get_function_arguments('irp.irp_ensure_batch'::regproc),
  'batch_type text, configuration_id integer, step_id integer, jobs jsonb DEFAULT NULL::jsonb, request_id uuid DEFAULT NULL::uuid', 'irp_ensure_batch arguments');
SELECT is(pg_get_function_result('irp.irp_ensure_batch'::regproc),
  'TABLE(batch_id integer, created boolean)', 'irp_ensure_batch result');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'irp'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
              AND NOT p.proisstrict),
  ARRAY['irp_batch_audit', 'irp_batch_drop_warning', 'irp_batch_event_guard', 'irp_batch_guard', 'irp_batch_preflight',
        'irp_batch_progress', 'irp_cancel_batch',
        'irp_create_batch', 'irp_ensure_batch', 'irp_get_active_batches_for_config', 'irp_job_progress',
        'irp_stale_batches'],
  'the SQL API and the triggers are C++ (LANGUAGE C) and not STRICT');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'irp'::regnamespace AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
              AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)),
  ARRAY['irp_batch_setup'],
  'irp_batch_setup (PL/pgSQL) pins search_path');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'irp'::regnamespace AND p.prosecdef), 0::bigint,
  'no function is SECURITY DEFINER');

-- Extension membership and pg_dump: the extension owns the code; the
-- tables, their sequences and the enums are the database's, and no column,
-- default, constraint or index of theirs depends on the extension.
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'irp_batch'), false, 'the extension is not relocatable');
SELECT set_eq($$SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
                 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'irp_batch')$$,
  ARRAY['event trigger irp_batch_drop_warning', 'function irp_batch_audit()', 'function irp_batch_drop_warning()',
        'function irp_batch_event_guard()', 'function irp_batch_guard()',
        'function irp_batch_preflight(integer,text[])', 'function irp_batch_setup()',
        'function irp_cancel_batch(integer,text)', 'function irp_create_batch(text,integer,integer,boolean,jsonb,uuid)',
        'function irp_ensure_batch(text,integer,integer,jsonb,uuid)',
        'function irp_get_active_batches_for_config(integer,text)',
        'function irp_batch_progress(integer[])', 'function irp_stale_batches(interval)', 'function irp_job_progress()'],
  'the members of the extension are its functions and its event trigger');
SELECT is((SELECT extconfig FROM pg_extension WHERE extname = 'irp_batch'), NULL, 'no table is registered with pg_extension_config_dump');
SELECT set_eq($$SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
                 JOIN pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid AND m.deptype = 'e'
                 JOIN pg_extension e ON e.oid = m.refobjid AND e.extname = 'irp_batch'
                WHERE d.deptype = 'n' AND d.classid <> 'pg_event_trigger'::regclass$$,
  ARRAY['trigger irp_batch_guard on table irp_batch', 'trigger irp_batch_audit_insert on table irp_batch',
        'trigger irp_batch_audit_update on table irp_batch', 'trigger irp_batch_audit_delete on table irp_batch',
        'trigger irp_batch_audit_truncate on table irp_batch', 'trigger irp_batch_event_guard on table irp_batch_event',
        'trigger irp_job_progress_insert on table irp_job', 'trigger irp_job_progress_update on table irp_job',
        'trigger irp_job_progress_delete on table irp_job'],
  'of the tables, only the triggers depend on the extension');
SELECT is((SELECT count(*) FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass
            WHERE p.pronamespace = 'irp'::regnamespace), 13::bigint, 'every function has a comment');
SELECT is((SELECT evtevent || ' ' || array_to_string(evttags, ',') || ' ' || evtfoid::regproc::text
             FROM pg_event_trigger WHERE evtname = 'irp_batch_drop_warning'),
  'ddl_command_start DROP EXTENSION irp_batch_drop_warning',
  'the drop warning is an event trigger on DROP EXTENSION');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'irp_batch'), '2.1', 'CREATE EXTENSION installs 2.1');

SELECT * FROM finish();
ROLLBACK;

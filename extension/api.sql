
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
               created_ts timestamptz, created_by text, job_count bigint, duplicate_of integer,
               last_change timestamptz, stale boolean, message text)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 4
AS 'MODULE_PATHNAME', 'irp_batch_preflight';
COMMENT ON FUNCTION @extschema@.irp_batch_preflight(integer, text[]) IS
    'For each batch type in the order given: its INITIATED/ACTIVE batches of the configuration, oldest first, each with its last change, whether it is stale (irp_batch.stale_after) and a message saying what to do; or one row with a NULL batch_id';

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_progress(
    batch_id integer[])
RETURNS TABLE (batch_id integer, status text, total_jobs bigint, counts jsonb,
               finished_fraction double precision, last_change timestamptz, stale boolean)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 4
AS 'MODULE_PATHNAME', 'irp_batch_progress';
COMMENT ON FUNCTION @extschema@.irp_batch_progress(integer[]) IS
    'For each given batch that exists, in the order given: its status, job count, job counts by status, the fraction of its jobs finished, its last change (batch, jobs or audit events) and whether it is stale (active and unchanged for irp_batch.stale_after)';

CREATE OR REPLACE FUNCTION @extschema@.irp_stale_batches(
    older_than interval DEFAULT '1 day')
RETURNS TABLE (batch_id integer, configuration_id integer, batch_type text, status text,
               last_change timestamptz, idle interval, total_jobs bigint)
LANGUAGE C STABLE PARALLEL UNSAFE ROWS 4
AS 'MODULE_PATHNAME', 'irp_stale_batches';
COMMENT ON FUNCTION @extschema@.irp_stale_batches(interval) IS
    'INITIATED/ACTIVE batches with no change to the batch, its jobs or its audit events for older_than (or no recorded time at all), oldest activity first';

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

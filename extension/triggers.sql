
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
    'Statement trigger on irp_batch (AFTER INSERT/UPDATE/DELETE, BEFORE TRUNCATE): one irp_batch_event row per batch created, changed in status, key or duplicate_of, or deleted, each also sent with NOTIFY on channel irp_batch_events unless irp_batch.notify is off';

CREATE OR REPLACE FUNCTION @extschema@.irp_batch_event_guard() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_batch_event_guard';
COMMENT ON FUNCTION @extschema@.irp_batch_event_guard() IS
    'BEFORE statement trigger on irp_batch_event: refuses INSERT, UPDATE, DELETE and TRUNCATE by any role but the table''s owner (SQLSTATE 42501)';

CREATE OR REPLACE FUNCTION @extschema@.irp_job_progress() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'irp_job_progress';
COMMENT ON FUNCTION @extschema@.irp_job_progress() IS
    'Statement trigger on irp_job (AFTER INSERT/UPDATE/DELETE): one NOTIFY on channel irp_job_progress per batch whose jobs the statement inserted, deleted, or changed in status or batch_id, with its job counts by status; none while irp_batch.notify is off';

-- Trigger functions run only as triggers, and only on the extension's
-- tables (else SQLSTATE 39P01). EXECUTE on them is PUBLIC's, explicitly (1.x
-- revoked it): CREATE TRIGGER needs it from whoever attaches them, which in
-- a restore with --use-set-session-authorization is the tables' owner.
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_guard() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_audit() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.irp_batch_event_guard() TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.irp_job_progress() TO PUBLIC;

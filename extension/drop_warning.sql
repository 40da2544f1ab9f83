
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

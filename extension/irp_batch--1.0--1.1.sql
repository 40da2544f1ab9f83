/* irp_batch--1.0--1.1.sql: update script from irp_batch 1.0 to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION irp_batch UPDATE TO '1.1'" to load this file. \quit

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

-- 1.0 asked for INSERT on irp_batch_event to be granted to application
-- roles. Take back every privilege but SELECT granted to anyone but the
-- owner, on the table and on its columns (TRIGGER too: the audit now writes
-- as the owner), with CASCADE for grants passed on; SELECT is granted again.
DO $$
DECLARE
    grantee pg_catalog.text;
    had_select pg_catalog.bool;
BEGIN
    FOR grantee, had_select IN
        SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(r.rolname) END,
               pg_catalog.bool_or(a.privilege_type OPERATOR(pg_catalog.=) 'SELECT')
        FROM pg_catalog.pg_class c
        CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
        LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
        WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.irp_batch_event'::pg_catalog.regclass
          AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
        GROUP BY 1
        HAVING pg_catalog.bool_or(a.privilege_type OPERATOR(pg_catalog.<>) 'SELECT')
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE @extschema@.irp_batch_event FROM %s CASCADE', grantee);
        IF had_select THEN
            EXECUTE pg_catalog.format('GRANT SELECT ON TABLE @extschema@.irp_batch_event TO %s', grantee);
        END IF;
    END LOOP;
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                             ELSE pg_catalog.quote_ident(r.rolname) END
        FROM pg_catalog.pg_attribute att
        CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
        LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
        WHERE att.attrelid OPERATOR(pg_catalog.=) '@extschema@.irp_batch_event'::pg_catalog.regclass
          AND a.privilege_type OPERATOR(pg_catalog.<>) 'SELECT'
    LOOP
        EXECUTE pg_catalog.format(
            'REVOKE INSERT, UPDATE, REFERENCES (id, batch_id, event, reason, actor, details, event_ts)'
            ' ON TABLE @extschema@.irp_batch_event FROM %s CASCADE', grantee);
    END LOOP;
END
$$;

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

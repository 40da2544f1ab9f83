
--
-- From 1.2: the machinery that rebuilt adopted tables' shapes in a
-- restore, and the drop guard, go. The tables, their sequences and the
-- enums leave the extension at the end (irp_batch_setup()), with their
-- rows, grants and every change a DBA made; ALTER EXTENSION DROP also
-- forgets their initial privileges and their pg_dump registration.
--

-- Leaving the extension first also takes them off its pg_dump list.
ALTER EXTENSION irp_batch DROP TABLE @extschema@.irp_adopted_shape;
ALTER EXTENSION irp_batch DROP TABLE @extschema@.irp_adopted_enum_label;
DROP TABLE @extschema@.irp_adopted_shape, @extschema@.irp_adopted_enum_label;
DROP FUNCTION @extschema@.irp_adopted_shape_restore(), @extschema@.irp_adopted_enum_label_restore(),
              @extschema@.irp_batch_record_shape(), @extschema@.irp_batch_shape();
DROP EVENT TRIGGER irp_batch_drop_guard;
DROP FUNCTION @extschema@.irp_batch_drop_guard();

-- Two now return status as text, and two take a trailing request_id. A new
-- result type or argument list needs DROP and CREATE FUNCTION (an overload
-- would make calls without request_id ambiguous), which forgets the
-- functions' grants (see the end). A view of yours over them stops the DROP:
-- README, "Upgrading".
CREATE TEMP TABLE irp_batch_function_acl ON COMMIT DROP AS
    SELECT p.proname, p.proacl FROM pg_catalog.pg_proc p
     WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
       AND p.proname OPERATOR(pg_catalog.=) ANY ('{irp_get_active_batches_for_config,irp_batch_preflight,irp_create_batch,irp_ensure_batch}'::pg_catalog.name[]);
DROP FUNCTION @extschema@.irp_get_active_batches_for_config(integer, text);
DROP FUNCTION @extschema@.irp_batch_preflight(integer, text[]);
DROP FUNCTION @extschema@.irp_create_batch(text, integer, integer, boolean, jsonb);
DROP FUNCTION @extschema@.irp_ensure_batch(text, integer, integer, jsonb);

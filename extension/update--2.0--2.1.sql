
--
-- From 2.0: irp_batch_preflight returns three more columns (last_change,
-- stale, message). A new result type needs DROP and CREATE FUNCTION, which
-- forgets the function's grants (see the end). A view of yours over it stops
-- the DROP: README, "Upgrading". (The temporary table has a name of its own:
-- an update from 1.x runs 1.2--2.0, which makes one too, in this transaction.)
--

CREATE TEMP TABLE irp_batch_preflight_acl ON COMMIT DROP AS
    SELECT p.proname, p.proacl FROM pg_catalog.pg_proc p
     WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
       AND p.proname OPERATOR(pg_catalog.=) 'irp_batch_preflight';
DROP FUNCTION @extschema@.irp_batch_preflight(integer, text[]);

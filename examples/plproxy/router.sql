-- examples/plproxy/router.sql: the irp_batch API in a router database that
-- sends each call to one of N shard databases with PL/Proxy (Debian's
-- postgresql-15-plproxy). See docs/scaling.md.
--
--   psql -d irp_router -v schema=irp -f examples/plproxy/router.sql
--
-- schema: the schema the shards installed irp_batch in (default irp). The
-- router's functions have the same schema, names and signatures, because
-- PL/Proxy calls the function of its own qualified name on the shard.
--
-- The shards: a SQL/MED server named irp_shards, made by the DBA, one option
-- p0, p1, ... per shard in shard order (shard.sql's numbers), a power of two
-- of them unless the option modular_mapping is '1', and a user mapping:
--
--   CREATE SERVER irp_shards FOREIGN DATA WRAPPER plproxy
--       OPTIONS (p0 'host=db0 dbname=irp', p1 'host=db1 dbname=irp');
--   CREATE USER MAPPING FOR PUBLIC SERVER irp_shards;  -- or per role, with user and password
--   GRANT USAGE ON FOREIGN SERVER irp_shards TO irp_app;
--   SELECT * FROM irp_router.check_cluster();
--
-- Routing: by configuration_id for the calls that name one (every batch of
-- a key is on one shard, so the guard keeps its promise there); by the batch
-- id for irp_cancel_batch ((id - 1) % shards is the shard, see shard.sql).
--
-- Each routed call commits on its shard when it returns: rolling back the
-- router's transaction does not undo it (docs/scaling.md).
--
-- The API functions take their arguments one per line, commas first, so
-- that adding an argument is one added line (as the trailing request_id of
-- irp_create_batch and irp_ensure_batch was); PL/Proxy passes every
-- argument on. Their COMMENTs name them without arguments, and the
-- script drops the router's previous API functions before it creates them
-- (the router holds no data), so a changed signature replaces the old one
-- instead of adding an overload. Grants on them are to be made again after a
-- run. They are VOLATILE, the listings too: PL/Proxy accepts nothing else.

\set ON_ERROR_STOP on
\if :{?schema}
\else
\set schema irp
\endif

BEGIN;

CREATE EXTENSION IF NOT EXISTS plproxy;
CREATE SCHEMA IF NOT EXISTS irp_router;
COMMENT ON SCHEMA irp_router IS 'The irp_batch PL/Proxy router''s routing functions (examples/plproxy)';
CREATE SCHEMA IF NOT EXISTS :"schema";

--
-- Routing
--

-- Must stay the same expression as the shards' irp_shard.configuration_partition():
-- PostgreSQL's int4 hash with the sign bit cleared, so PL/Proxy's bitmask
-- mapping and its modular_mapping pick the same shard. A NULL configuration
-- goes to partition 0, whose irp_batch refuses it with SQLSTATE 22004.
CREATE OR REPLACE FUNCTION irp_router.configuration_partition(configuration_id integer)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce(pg_catalog.hashint4(configuration_id) OPERATOR(pg_catalog.&) 2147483647, 0);
COMMENT ON FUNCTION irp_router.configuration_partition(integer) IS
    'PL/Proxy hash value of a configuration: hashint4 with the sign bit cleared (the shards check the same expression)';

-- Shard s numbers its batches s + 1, s + 1 + shards, ... (shard.sql), so
-- id - 1 is a hash value that maps to s, with or without modular_mapping.
-- A NULL id goes to partition 0, which refuses it with SQLSTATE 22004.
CREATE OR REPLACE FUNCTION irp_router.batch_partition(batch_id integer)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN coalesce(batch_id OPERATOR(pg_catalog.-) 1, 0);
COMMENT ON FUNCTION irp_router.batch_partition(integer) IS
    'PL/Proxy hash value of a batch id: id - 1, since shard s of n numbers its batches s + 1, s + 1 + n, ...';

--
-- The API, as on the shards (extension/api.sql)
--

-- The previous definitions, whatever their argument lists.
SET LOCAL irp_router.api_schema = :'schema';
DO $drop$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
          JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
         WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_setting('irp_router.api_schema')
           AND l.lanname OPERATOR(pg_catalog.=) 'plproxy'
           AND p.proname OPERATOR(pg_catalog.=) ANY ('{irp_create_batch,irp_ensure_batch,irp_cancel_batch,irp_get_active_batches_for_config,irp_batch_preflight}'::pg_catalog.name[])
    LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', f);
    END LOOP;
END
$drop$;

CREATE FUNCTION :"schema".irp_create_batch(
      batch_type       text
    , configuration_id integer
    , step_id          integer
    , allow_duplicate  boolean DEFAULT false
    , jobs             jsonb DEFAULT NULL
    , request_id       uuid DEFAULT NULL
)
RETURNS integer
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON irp_router.configuration_partition(configuration_id);
$plproxy$;
COMMENT ON FUNCTION :"schema".irp_create_batch IS
    'Router: irp_create_batch on the shard of configuration_id (committed there when it returns)';

CREATE FUNCTION :"schema".irp_ensure_batch(
      batch_type       text
    , configuration_id integer
    , step_id          integer
    , jobs             jsonb DEFAULT NULL
    , request_id       uuid DEFAULT NULL
)
RETURNS TABLE (batch_id integer, created boolean)
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON irp_router.configuration_partition(configuration_id);
$plproxy$;
COMMENT ON FUNCTION :"schema".irp_ensure_batch IS
    'Router: irp_ensure_batch on the shard of configuration_id (committed there when it returns)';

CREATE FUNCTION :"schema".irp_cancel_batch(
      batch_id integer
    , reason   text DEFAULT 'Cancelled by user'
)
RETURNS boolean
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON irp_router.batch_partition(batch_id);
$plproxy$;
COMMENT ON FUNCTION :"schema".irp_cancel_batch IS
    'Router: irp_cancel_batch on the shard the batch id names (committed there when it returns)';

CREATE FUNCTION :"schema".irp_get_active_batches_for_config(
      configuration_id integer
    , batch_type       text DEFAULT NULL
)
RETURNS TABLE (id integer, batch_type text, status text,
               created_ts timestamptz, job_count bigint, duplicate_of integer)
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON irp_router.configuration_partition(configuration_id);
$plproxy$;
COMMENT ON FUNCTION :"schema".irp_get_active_batches_for_config IS
    'Router: irp_get_active_batches_for_config on the shard of configuration_id';

CREATE FUNCTION :"schema".irp_batch_preflight(
      configuration_id integer
    , batch_types      text[]
)
RETURNS TABLE (batch_type text, batch_id integer, status text,
               created_ts timestamptz, created_by text, job_count bigint, duplicate_of integer,
               last_change timestamptz, stale boolean, message text)
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON irp_router.configuration_partition(configuration_id);
$plproxy$;
COMMENT ON FUNCTION :"schema".irp_batch_preflight IS
    'Router: irp_batch_preflight on the shard of configuration_id';

--
-- Checking the cluster definition against the shards
--

-- What partition p says it is (irp_shard.identity() on that shard).
CREATE OR REPLACE FUNCTION irp_router.shard_identity(partition integer, OUT shard integer, OUT shards integer)
LANGUAGE plproxy VOLATILE
SET search_path = pg_catalog, pg_temp
AS $plproxy$
    CLUSTER 'irp_shards';
    RUN ON partition;
    SELECT i.shard, i.shards FROM irp_shard.identity() i;
$plproxy$;
COMMENT ON FUNCTION irp_router.shard_identity(integer) IS
    'The shard number and shard count that partition p of cluster irp_shards reports (irp_shard.identity() there)';

CREATE OR REPLACE FUNCTION irp_router.check_cluster()
RETURNS TABLE (partition integer, connstr text, shard integer, shards integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    opts text[];
    parts text[];
    n integer;
BEGIN
    SELECT s.srvoptions INTO opts FROM pg_foreign_server s WHERE s.srvname = 'irp_shards';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'there is no server irp_shards'
              USING ERRCODE = 'undefined_object',
                    HINT = 'CREATE SERVER irp_shards FOREIGN DATA WRAPPER plproxy OPTIONS (p0 ''...'', p1 ''...'')';
    END IF;
    SELECT array_agg(substr(o, strpos(o, '=') + 1) ORDER BY substring(o FROM '^p([0-9]+)=')::integer)
      INTO parts FROM unnest(opts) o WHERE o ~ '^p[0-9]+=';
    n := coalesce(cardinality(parts), 0);
    IF n = 0 THEN
        RAISE EXCEPTION 'server irp_shards names no partitions (options p0, p1, ...)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        partition := i;
        connstr := parts[i + 1];
        SELECT s.shard, s.shards INTO shard, shards FROM irp_router.shard_identity(i) s;
        IF shard IS DISTINCT FROM i OR shards IS DISTINCT FROM n THEN
            RAISE EXCEPTION 'partition % of server irp_shards (%) is shard % of %, not shard % of %',
                            i, connstr, shard, shards, i, n
                  USING ERRCODE = 'invalid_parameter_value',
                        HINT = 'list the shards in the order of their numbers, or run shard.sql again';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION irp_router.check_cluster() IS
    'One row per partition of server irp_shards; raises unless partition p is the database that shard.sql made shard p of as many shards as there are partitions';

COMMIT;

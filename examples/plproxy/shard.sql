-- examples/plproxy/shard.sql: makes a database with the irp_batch extension
-- shard number :shard of :shards behind the PL/Proxy router (router.sql).
--
--   psql -d irp_shard_1 -v shard=1 -v shards=2 -f examples/plproxy/shard.sql
--
-- Run it as the tables' owner, after CREATE EXTENSION irp_batch, in a shard
-- that holds no batches yet (or only batches that already follow the rules
-- below). Running it again with the same numbers changes nothing.
--
-- A shard's identity lives in its tables, where pg_dump keeps it:
--   * the id sequence of irp_batch: START WITH shard + 1, INCREMENT BY shards,
--     so (id - 1) % shards = shard for every batch the shard creates, and the
--     router sends irp_cancel_batch(id) to the shard without a lookup;
--   * irp_batch_shard_id_check: refuses a batch id of another shard (a
--     sequence reset by hand, or a row written with an id of its own);
--   * irp_batch_shard_configuration_check: refuses a batch whose
--     configuration belongs to another shard (a misrouted call, or a write
--     made on the wrong shard), so every batch of a key is on one shard and
--     the guard, which is shard-local, sees all of them.
-- irp_shard.identity() reads the numbers back; the router's
-- irp_router.check_cluster() compares them with its cluster definition.

\set ON_ERROR_STOP on

BEGIN;

CREATE SCHEMA IF NOT EXISTS irp_shard;
COMMENT ON SCHEMA irp_shard IS 'This database as a shard of the irp_batch PL/Proxy router (examples/plproxy)';

-- The partition of a configuration: PostgreSQL's int4 hash with the sign bit
-- cleared, so that PL/Proxy's bitmask mapping (hash & (shards - 1)) and its
-- modular_mapping (hash % shards) give the same partition. The router's
-- irp_router.configuration_partition() is the same expression.
CREATE OR REPLACE FUNCTION irp_shard.configuration_partition(configuration_id integer, shards integer)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN (pg_catalog.hashint4(configuration_id) OPERATOR(pg_catalog.&) 2147483647)
       OPERATOR(pg_catalog.%) shards;
COMMENT ON FUNCTION irp_shard.configuration_partition(integer, integer) IS
    'The shard (0 to shards - 1) that holds a configuration''s batches; the router routes by the same expression';

-- The extension's irp_batch table and its id sequence.
CREATE OR REPLACE FUNCTION irp_shard.batch_sequence(OUT batch_table regclass, OUT id_sequence regclass)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    SELECT format('%I.irp_batch', n.nspname)::regclass INTO batch_table
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'irp_batch';
    IF batch_table IS NULL THEN
        RAISE EXCEPTION 'the irp_batch extension is not installed in database %', current_database()
              USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION irp_batch first';
    END IF;
    id_sequence := pg_get_serial_sequence(batch_table::text, 'id')::regclass;
    IF id_sequence IS NULL THEN
        RAISE EXCEPTION '%.id draws from no sequence', batch_table USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$fn$;
COMMENT ON FUNCTION irp_shard.batch_sequence() IS
    'The extension''s irp_batch table and the sequence its id column draws from';

-- The shard's number and the number of shards, from the id sequence.
CREATE OR REPLACE FUNCTION irp_shard.identity(OUT shard integer, OUT shards integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    seq regclass := (irp_shard.batch_sequence()).id_sequence;
BEGIN
    SELECT s.seqstart - 1, s.seqincrement INTO shard, shards
      FROM pg_sequence s WHERE s.seqrelid = seq;
    IF shards < 1 OR shard < 0 OR shard >= shards THEN
        RAISE EXCEPTION 'sequence % (START % INCREMENT %) does not name a shard', seq, shard + 1, shards
              USING ERRCODE = 'object_not_in_prerequisite_state',
                    HINT = 'run examples/plproxy/shard.sql with -v shard=N -v shards=M';
    END IF;
END
$fn$;
COMMENT ON FUNCTION irp_shard.identity() IS
    'This shard''s number (0-based) and the number of shards, read from irp_batch''s id sequence (START WITH shard + 1, INCREMENT BY shards)';

CREATE OR REPLACE FUNCTION irp_shard.setup(shard integer, shards integer) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tab regclass;
    seq regclass;
    misplaced bigint;
    next_id bigint;
BEGIN
    IF shards IS NULL OR shard IS NULL OR shards < 1 OR shard < 0 OR shard >= shards THEN
        RAISE EXCEPTION 'shard must be between 0 and shards - 1 (got shard %, shards %)', shard, shards
              USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT b.batch_table, b.id_sequence INTO tab, seq FROM irp_shard.batch_sequence() b;
    -- No read of the table may miss a row written meanwhile.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tab);

    EXECUTE format('SELECT count(*) FROM %s b
                     WHERE (b.id - 1) %% $2 <> $1
                        OR irp_shard.configuration_partition(b.configuration_id, $2) <> $1', tab)
       INTO misplaced USING shard, shards;
    IF misplaced > 0 THEN
        RAISE EXCEPTION '% holds % batch(es) that belong to another shard of %', tab, misplaced, shards
              USING ERRCODE = 'check_violation',
                    DETAIL = format('shard %s of %s holds the batches with (id - 1) %% %s = %s whose configuration_id maps to it',
                                    shard, shards, shards, shard);
    END IF;

    -- The first id of this shard above every id in the table and every value
    -- the sequence has handed out: no id is ever used twice.
    EXECUTE format('SELECT greatest(max(b.id), (SELECT s.last_value FROM pg_sequences s
                                                  WHERE format(''%%I.%%I'', s.schemaname, s.sequencename)::regclass = $1))
                      FROM %s b', tab)
       INTO next_id USING seq;
    next_id := coalesce(next_id, 0) + 1;
    next_id := next_id + ((shard + 1 - next_id) % shards + shards) % shards;
    EXECUTE format('ALTER SEQUENCE %s INCREMENT BY %s START WITH %s RESTART WITH %s',
                   seq, shards, shard + 1, next_id);

    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS irp_batch_shard_id_check,
                                   DROP CONSTRAINT IF EXISTS irp_batch_shard_configuration_check', tab);
    EXECUTE format('ALTER TABLE %s
                      ADD CONSTRAINT irp_batch_shard_id_check CHECK ((id - 1) %% %s = %s),
                      ADD CONSTRAINT irp_batch_shard_configuration_check
                          CHECK (irp_shard.configuration_partition(configuration_id, %s) = %s)',
                   tab, shards, shard, shards, shard);
    EXECUTE format('COMMENT ON CONSTRAINT irp_batch_shard_id_check ON %s IS %L', tab,
                   format('Shard %s of %s: batch ids are %s, %s, ... (the router finds a batch''s shard from its id)',
                          shard, shards, shard + 1, shard + 1 + shards));
    EXECUTE format('COMMENT ON CONSTRAINT irp_batch_shard_configuration_check ON %s IS %L', tab,
                   format('Shard %s of %s: only the configurations irp_shard.configuration_partition() maps here',
                          shard, shards));
    RETURN format('%s is shard %s of %s; its next batch id is %s', current_database(), shard, shards, next_id);
END
$fn$;
COMMENT ON FUNCTION irp_shard.setup(integer, integer) IS
    'Makes this database shard number shard (0-based) of shards: irp_batch''s id sequence and two CHECK constraints; refuses if a batch already belongs to another shard';

SELECT irp_shard.setup(:shard, :shards);

COMMIT;

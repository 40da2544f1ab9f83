-- The outside load's helpers (test/outside_load.py), in a schema of their
-- own next to the extension. load.op(script, k) runs one operation of the
-- mix on hot key k (1..4): the extension's own error refusals are recorded
-- in load.errors by SQLSTATE, because pgbench ends a client at the first
-- error other than a serialization failure or a deadlock; those two are
-- raised again, so that pgbench counts them itself.
CREATE SCHEMA load;
CREATE TABLE load.errors (
    script    text NOT NULL,
    isolation text NOT NULL,
    sqlstate  text NOT NULL,
    message   text NOT NULL,
    detail    text,             -- the error's DETAIL and where it was raised, for
    context   text,             -- an unexpected error's report
    batch     int               -- the batch the operation aimed at, if any
);
-- The hot keys: configurations 1 and 2, two batch types each.
CREATE FUNCTION load.configuration(k int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 + (k - 1) / 2 $$;
CREATE FUNCTION load.batch_type(k int) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN k % 2 = 0 THEN 'ANALYSIS' ELSE 'EDM_CREATION' END $$;

-- The batch most clients aim at: the key's active original (else its oldest
-- active batch), or, half of the time, any batch of the key (any_batch) or
-- any of its active batches.
CREATE FUNCTION load.target(k int, any_batch boolean DEFAULT false) RETURNS int LANGUAGE sql AS $$
    SELECT id FROM irp_batch
     WHERE configuration_id = load.configuration(k) AND batch_type = load.batch_type(k)
       AND (any_batch OR status IN ('INITIATED', 'ACTIVE'))
     ORDER BY CASE WHEN random() < 0.5 THEN 0 ELSE random() END, duplicate_of IS NOT NULL, id
     LIMIT 1
$$;

CREATE FUNCTION load.op(script text, k int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    cfg int := load.configuration(k);
    typ text := load.batch_type(k);
    victim int;
BEGIN
    CASE script
    WHEN 'create' THEN
        PERFORM irp_create_batch(typ, cfg, 1, jobs => '[{"n": 1}, {"n": 2}]');
    WHEN 'duplicate' THEN
        PERFORM irp_create_batch(typ, cfg, 2, allow_duplicate => true);
    WHEN 'ensure' THEN
        PERFORM irp_ensure_batch(typ, cfg, 3, '[{"n": 1}]');
    WHEN 'cancel' THEN
        -- An active duplicate of the key first, else its original: keeps the
        -- keys lean, so that upserts and creates race for the key instead of
        -- meeting its committed duplicates.
        SELECT id INTO victim FROM irp_batch WHERE configuration_id = cfg AND batch_type = typ
            AND status IN ('INITIATED', 'ACTIVE') ORDER BY duplicate_of IS NULL, random() LIMIT 1;
        IF FOUND THEN
            PERFORM irp_cancel_batch(victim, 'load');
        END IF;
    WHEN 'status' THEN
        -- INITIATED <-> ACTIVE (stays active), or a cancelled batch reactivated.
        victim := load.target(k, true);
        IF victim IS NOT NULL THEN
            UPDATE irp_batch SET status = CASE status WHEN 'INITIATED' THEN 'ACTIVE'
                WHEN 'ACTIVE' THEN 'INITIATED' WHEN 'CANCELLED' THEN 'INITIATED' ELSE status END::batch_status_enum,
                updated_ts = clock_timestamp() WHERE id = victim;
        END IF;
    WHEN 'move' THEN
        -- A batch of key k moves to the other configuration (same batch type).
        victim := load.target(k, true);
        IF victim IS NOT NULL THEN
            UPDATE irp_batch SET configuration_id = 3 - cfg WHERE id = victim;
        END IF;
    WHEN 'upsert' THEN
        -- INSERT ... ON CONFLICT (id) DO UPDATE of an existing batch, with its own key.
        victim := load.target(k);
        IF victim IS NOT NULL THEN
            INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, status)
                VALUES (victim, 4, cfg, typ, 'ACTIVE')
                ON CONFLICT (id) DO UPDATE SET status = 'ACTIVE', updated_ts = clock_timestamp();
        END IF;
    END CASE;
EXCEPTION
    WHEN serialization_failure OR deadlock_detected THEN
        RAISE;
    WHEN OTHERS THEN
        DECLARE
            err_detail text;
            err_context text;
        BEGIN
            GET STACKED DIAGNOSTICS err_detail = PG_EXCEPTION_DETAIL, err_context = PG_EXCEPTION_CONTEXT;
            INSERT INTO load.errors VALUES (script, current_setting('transaction_isolation'), SQLSTATE, SQLERRM,
                                            err_detail, err_context, victim);
        END;
END $$;

--
-- How the audit writes its rows. Without SQL (the executor's row helpers):
-- the event table's defaults, NOT NULL and CHECK constraints, unique
-- indexes and generated columns still hold. With its INSERT statement
-- (SPI) when something would act on an INSERT that the row helpers skip:
-- another trigger or a rule; and for rows that do not
-- come in id order, so that events are always written in batch id order.
--
CREATE EXTENSION irp_batch;
\set SHOW_CONTEXT never
\set VERBOSITY terse
SELECT setting::int >= 150000 AS pg15 FROM pg_settings WHERE name = 'server_version_num';

-- An adopted event table may carry more: a column with a default, a
-- generated column, a CHECK and a unique index of the DBA's.
ALTER TABLE irp_batch_event ADD COLUMN source text NOT NULL DEFAULT 'irp';
ALTER TABLE irp_batch_event ADD COLUMN event_lower text GENERATED ALWAYS AS (lower(event)) STORED;
ALTER TABLE irp_batch_event ADD CONSTRAINT no_secret_batch CHECK (batch_id <> 666);
CREATE UNIQUE INDEX one_creation_per_batch ON irp_batch_event (batch_id) WHERE event = 'CREATED';

SELECT irp_create_batch('EDM_CREATION', 1, 1);
INSERT INTO irp_batch (step_id, configuration_id, batch_type) SELECT 1, g, 'BULK' FROM generate_series(2, 4) g;
SELECT batch_id, event, source, event_lower, details->>'configuration_id' AS config FROM irp_batch_event ORDER BY id;

-- The CHECK refuses the event, and with it the batch.
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (666, 1, 5, 'EDM_CREATION');
SELECT count(*) AS batches_666 FROM irp_batch WHERE id = 666;
-- The unique index refuses a second CREATED event of batch 2 (deleted, then made again with its id).
DELETE FROM irp_batch WHERE id = 2;
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (2, 1, 2, 'BULK');
-- NOT NULL: the default dropped, the column is left NULL and refused.
ALTER TABLE irp_batch_event ALTER COLUMN source DROP DEFAULT;
SELECT irp_create_batch('EDM_CREATION', 6, 1);
ALTER TABLE irp_batch_event ALTER COLUMN source SET DEFAULT 'irp';

-- Rows that come in another order than their ids: events in id order all the same.
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (30, 1, 30, 'X'), (20, 1, 20, 'X'), (10, 1, 10, 'X');
UPDATE irp_batch SET status = 'ACTIVE' WHERE id IN (10, 20, 30);
SELECT batch_id, event FROM irp_batch_event WHERE batch_id IN (10, 20, 30) ORDER BY id;

-- Another trigger on irp_batch_event: the audit writes with SQL, so it fires.
CREATE TABLE seen (batch_id integer, event text);
CREATE FUNCTION note_event() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO seen VALUES (NEW.batch_id, NEW.event); RETURN NEW; END$$;
CREATE TRIGGER note_event AFTER INSERT ON irp_batch_event FOR EACH ROW EXECUTE FUNCTION note_event();
SELECT irp_create_batch('EDM_CREATION', 7, 1);
SELECT irp_cancel_batch(currval(pg_get_serial_sequence('irp_batch', 'id'))::int, 'seen');
SELECT * FROM seen ORDER BY batch_id, event;
DROP TRIGGER note_event ON irp_batch_event;

-- A rule on irp_batch_event: likewise.
CREATE RULE count_events AS ON INSERT TO irp_batch_event DO ALSO INSERT INTO seen VALUES (NEW.batch_id, 'rule');
SELECT irp_create_batch('EDM_CREATION', 8, 1);
SELECT * FROM seen WHERE event = 'rule';
DROP RULE count_events ON irp_batch_event;

-- Row security does not hold the audit, even forced: it writes as the table's
-- owner with the flags of PostgreSQL's foreign-key checks (ri_triggers.c).
ALTER TABLE irp_batch_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE irp_batch_event FORCE ROW LEVEL SECURITY;
CREATE POLICY read_all ON irp_batch_event FOR SELECT USING (true);
CREATE POLICY low_batches ON irp_batch_event FOR INSERT WITH CHECK (batch_id < 100);
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (99, 1, 99, 'X');
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (100, 1, 100, 'X');
ALTER TABLE irp_batch_event NO FORCE ROW LEVEL SECURITY;
INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (101, 1, 101, 'X');
ALTER TABLE irp_batch_event DISABLE ROW LEVEL SECURITY;
SELECT batch_id, event FROM irp_batch_event WHERE batch_id >= 99 ORDER BY id;

-- A status label renamed after the backend cached it: the new label is recorded.
ALTER TYPE batch_status_enum ADD VALUE 'ON_HOLD';
UPDATE irp_batch SET status = 'ON_HOLD' WHERE id = 99;
ALTER TYPE batch_status_enum RENAME VALUE 'ON_HOLD' TO 'PAUSED';
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 99;
SELECT event, details FROM irp_batch_event WHERE batch_id = 99 ORDER BY id;

-- One creation event per batch (batch 2's is its first life's: it was deleted).
SELECT b.id, count(e.id) AS creations FROM irp_batch b
  LEFT JOIN irp_batch_event e ON e.batch_id = b.id AND e.event IN ('CREATED', 'DUPLICATE_CREATED')
 GROUP BY b.id HAVING count(e.id) <> 1;

SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch, seen;
DROP TYPE batch_status_enum, job_status_enum;
DROP FUNCTION note_event();
RESET client_min_messages;

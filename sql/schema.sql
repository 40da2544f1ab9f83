--
-- The extension in a schema of its own, used from a search_path without it;
-- the schema renamed under a running session.
--
CREATE SCHEMA irp;
CREATE EXTENSION irp_batch SCHEMA irp;
SET search_path = public;
\set VERBOSITY terse

SELECT irp.irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}]');
SELECT irp.irp_create_batch('EDM_CREATION', 42, 3);
SELECT id, batch_type, job_count FROM irp.irp_get_active_batches_for_config(42);
INSERT INTO irp.irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'EDM_CREATION');
SELECT irp.irp_cancel_batch(1, 'Renaming');

-- Rename the schema: the same session keeps working with the new name ...
ALTER SCHEMA irp RENAME TO irp_renamed;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3) AS second;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3);
-- ... and never uses a new schema that takes the old name.
CREATE SCHEMA irp;
CREATE TABLE irp.irp_batch (x int);
SELECT irp_renamed.irp_create_batch('PORTFOLIO_CREATION', 42, 3) AS third;
SELECT event, count(*) FROM irp_renamed.irp_batch_event GROUP BY event ORDER BY event;
DROP SCHEMA irp CASCADE;

-- Dropped and created again in the same session: the cached statements
-- follow, first over the tables the drop left, then over new ones.
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
RESET client_min_messages;
CREATE EXTENSION irp_batch SCHEMA irp_renamed;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3);
SELECT irp_renamed.irp_create_batch('ANALYSIS', 42, 3) AS attached;
SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_renamed.irp_batch_event, irp_renamed.irp_job, irp_renamed.irp_batch;
RESET client_min_messages;
CREATE EXTENSION irp_batch SCHEMA irp_renamed;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3) AS fresh;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3);
SELECT irp_renamed.irp_cancel_batch(1);

-- A table without a column as the guard reads it (duplicate_of of another
-- type): the functions that look up the key's active batch say so (55000),
-- and the guard will not fire on it (39P01). Rolled back.
BEGIN;
ALTER TABLE irp_renamed.irp_batch ALTER duplicate_of TYPE bigint;
SAVEPOINT altered;
SELECT * FROM irp_renamed.irp_ensure_batch('EDM_CREATION', 42, 3);
ROLLBACK TO altered;
SELECT irp_renamed.irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true);
ROLLBACK TO altered;
SELECT irp_renamed.irp_create_batch('OTHER', 42, 3);
ROLLBACK;

SET client_min_messages = error;
DROP SCHEMA irp_renamed CASCADE;
RESET client_min_messages;

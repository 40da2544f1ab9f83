--
-- No silent drop: dropping the extension would drop its tables and every
-- batch, job and audit event in them, so DROP EXTENSION (and a DROP SCHEMA
-- ... CASCADE or DROP OWNED that would drop it) is refused while they hold
-- rows, unless irp_batch.confirm_drop is on.
--
CREATE ROLE regress_irp_schema_owner;
CREATE SCHEMA irp AUTHORIZATION regress_irp_schema_owner;
CREATE EXTENSION irp_batch SCHEMA irp;

-- Empty tables: nothing to lose, the drop goes ahead.
DROP EXTENSION irp_batch;
CREATE EXTENSION irp_batch SCHEMA irp;

SELECT irp.irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"a": 1}, {"a": 2}]') AS batch;

-- Every way of dropping it is refused, and nothing is dropped.
DROP EXTENSION irp_batch;
DROP EXTENSION IF EXISTS irp_batch CASCADE;
DROP SCHEMA irp CASCADE;
DROP SCHEMA public, irp CASCADE;
DROP OWNED BY CURRENT_USER;
-- The schema's owner would drop the schema, and the extension with it.
DROP OWNED BY regress_irp_schema_owner CASCADE;
-- A role that may not read the tables is not told how much they hold.
SET ROLE regress_irp_schema_owner;
DROP SCHEMA irp CASCADE;
RESET ROLE;
SELECT extname, extversion FROM pg_extension WHERE extname = 'irp_batch';
SELECT count(*) AS batches FROM irp.irp_batch;

-- Other drops are not its business.
CREATE SCHEMA unrelated;
DROP SCHEMA unrelated CASCADE;
CREATE EXTENSION IF NOT EXISTS irp_batch;

-- Only batches gone but history kept: still refused, the audit trail would go.
DELETE FROM irp.irp_job;
DELETE FROM irp.irp_batch;
DROP EXTENSION irp_batch;

-- Confirmed for one transaction: dropped.
BEGIN;
SET LOCAL irp_batch.confirm_drop = on;
DROP EXTENSION irp_batch;
COMMIT;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'irp_batch';
SHOW irp_batch.confirm_drop;
DROP SCHEMA irp;
DROP ROLE regress_irp_schema_owner;


--
-- The tables. A restore of a pg_dump brings them, with their rows, right
-- after this script: pg_dump's preamble sets row_security = off for its
-- session, and then CREATE EXTENSION makes only the code. Anywhere else it
-- makes the tables or attaches to those that exist. SELECT irp_batch_setup()
-- does it on demand.
--

DO $install$
BEGIN
    IF pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off'
       AND EXISTS (SELECT FROM pg_catalog.pg_settings s
                   WHERE s.name OPERATOR(pg_catalog.=) 'row_security'
                     AND s.source OPERATOR(pg_catalog.=) 'session') THEN
        RETURN;
    END IF;
    PERFORM @extschema@.irp_batch_setup();
END
$install$;


--
-- irp_batch_preflight, created again above, has the default privileges
-- (EXECUTE to PUBLIC; it is SECURITY INVOKER, so table privileges still
-- decide what a caller reads). Grants made here would be recorded as the
-- extension's initial privileges, which pg_dump leaves out, so they would
-- vanish in the next restore: the update names the statements that restore
-- the old grants, for the DBA to run after it.
--

DO $grants$
DECLARE
    statements text;
BEGIN
    WITH acl AS (
        SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS fn, a.proacl
          FROM pg_temp.irp_batch_preflight_acl a
          JOIN pg_catalog.pg_proc p ON p.proname OPERATOR(pg_catalog.=) a.proname
         WHERE p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace)
    SELECT pg_catalog.string_agg(g.statement, ' ' ORDER BY g.fn, g.n) INTO statements
      FROM (SELECT f.fn, 0 AS n, pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC;', f.fn) AS statement
              FROM acl f
             WHERE f.proacl IS NOT NULL
               AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(f.proacl) x
                                WHERE x.grantee OPERATOR(pg_catalog.=) 0
                                  AND x.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE')
            UNION ALL
            SELECT f.fn, 1, pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s;', f.fn,
                                              CASE WHEN x.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END,
                                              CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
              FROM acl f, pg_catalog.aclexplode(f.proacl) x
             WHERE x.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
               AND x.grantee OPERATOR(pg_catalog.<>) x.grantor
               AND (x.grantee OPERATOR(pg_catalog.<>) 0 OR x.is_grantable)) g;
    IF statements IS NOT NULL THEN
        RAISE WARNING USING
            MESSAGE = 'the privileges of irp_batch_preflight are back to the default',
            DETAIL = 'The update created it again (with the columns last_change, stale and message), with EXECUTE for PUBLIC.',
            HINT = 'To restore the grants it had, run after the update: ' OPERATOR(pg_catalog.||) statements;
    END IF;
END
$grants$;

-- The tables get the job-progress triggers (irp_batch_setup() adds what is
-- missing and changes nothing else). A database whose tables are not set up
-- (CREATE EXTENSION in a restore that never brought them) keeps waiting for
-- SELECT irp_batch_setup().
DO $setup$
BEGIN
    IF pg_catalog.to_regclass('@extschema@.irp_batch') IS NOT NULL THEN
        PERFORM @extschema@.irp_batch_setup();
    END IF;
END
$setup$;


-- The grants of the functions created again above, as they were.
DO $regrant$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT pg_catalog.format('%s.%I(%s)', '@extschema@', a.proname,
                                      pg_catalog.pg_get_function_identity_arguments(p.oid)) AS fn,
                    a.proacl
               FROM pg_temp.irp_batch_function_acl a
               JOIN pg_catalog.pg_proc p ON p.proname OPERATOR(pg_catalog.=) a.proname
                AND p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
              WHERE a.proacl IS NOT NULL
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.fn);
        EXECUTE (SELECT pg_catalog.coalesce(pg_catalog.string_agg(
                     pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', f.fn,
                                       CASE WHEN x.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                            ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END,
                                       CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), '; '), 'SELECT')
                   FROM pg_catalog.aclexplode(f.proacl) x
                  WHERE x.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
                    AND x.grantee OPERATOR(pg_catalog.<>) x.grantor);
    END LOOP;
END
$regrant$;

-- The tables: checked, attached, and no longer members of the extension.
SELECT @extschema@.irp_batch_setup();

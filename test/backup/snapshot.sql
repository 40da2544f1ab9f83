-- Everything a restore or pg_upgrade must bring back, one fact a line, in a
-- stable order, so that two databases compare with diff. Each line begins
-- with its kind, which test/backup.sh uses to report what differs:
--   row      every row of every table of the schema, as jsonb (by column
--            name: column order may differ), ordered by id
--   seqpos   every sequence's last_value and is_called
--   rel col con idx trg view seqdef comment   the definitions
--   acl      every privilege on the schema, its relations, types and functions
--   enum     each enum's labels in their order
--   ext member evt func                       the extension and its members
-- Run with psql -X -q -v schema=NAME (public by default).
\if :{?schema}
\else
\set schema public
\endif
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET extra_float_digits = 0;

SELECT format('SELECT %L || to_jsonb(t)::text FROM %I.%I t ORDER BY to_jsonb(t) -> ''id'', to_jsonb(t)::text',
              'row ' || c.relname || ' ', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relkind IN ('r', 'p')
 ORDER BY c.relname \gexec

SELECT format('SELECT %L || last_value || '' '' || is_called FROM %I.%I', 'seqpos ' || c.relname || ' ', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :'schema' AND c.relkind = 'S'
 ORDER BY c.relname \gexec

WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = :'schema'),
rels AS (SELECT c.* FROM pg_class c, s WHERE c.relnamespace = s.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')),
tabs AS (SELECT * FROM rels WHERE relkind IN ('r', 'p', 'v', 'm', 'f')),
ext AS (SELECT * FROM pg_extension WHERE extname = 'irp_batch'),
members AS (SELECT d.classid, d.objid FROM pg_depend d, ext
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
acls AS (
    SELECT 'relation ' || relname AS obj, coalesce(relacl, acldefault(CASE relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", relowner)) AS acl FROM rels
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname, a.attacl FROM tabs c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
    UNION ALL
    SELECT 'type ' || t.typname, coalesce(t.typacl, acldefault('T'::"char", t.typowner)) FROM pg_type t, s
     WHERE t.typnamespace = s.oid AND t.typtype IN ('e', 'd', 'c') AND (t.typtype <> 'c' OR t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c'))
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f'::"char", p.proowner)) FROM pg_proc p, s WHERE p.pronamespace = s.oid
    UNION ALL
    SELECT 'schema ' || n.nspname, coalesce(n.nspacl, acldefault('n'::"char", n.nspowner)) FROM pg_namespace n, s WHERE n.oid = s.oid
),
facts AS (
    SELECT format('rel %s kind=%s owner=%s persistence=%s rowsecurity=%s', relname, relkind, pg_get_userbyid(relowner),
                  relpersistence, relrowsecurity) AS line FROM rels
    UNION ALL
    SELECT format('col %s.%s %s collation=%s notnull=%s default=%s identity=%s generated=%s', c.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), coalesce(co.collname, '-'), a.attnotnull,
                  coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-'), nullif(a.attidentity, ''), nullif(a.attgenerated, ''))
      FROM tabs c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
    UNION ALL
    SELECT format('con %s.%s %s validated=%s deferrable=%s', c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated, k.condeferrable)
      FROM tabs c JOIN pg_constraint k ON k.conrelid = c.oid
    UNION ALL
    SELECT format('con type %s.%s %s', t.typname, k.conname, pg_get_constraintdef(k.oid))
      FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid, s WHERE t.typnamespace = s.oid
    UNION ALL
    SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = :'schema'
    UNION ALL
    SELECT format('trg %s %s enabled=%s', c.relname, pg_get_triggerdef(g.oid), g.tgenabled)
      FROM tabs c JOIN pg_trigger g ON g.tgrelid = c.oid AND NOT g.tgisinternal
    UNION ALL
    SELECT format('view %s %s', c.relname, regexp_replace(pg_get_viewdef(c.oid), '\s+', ' ', 'g')) FROM tabs c WHERE relkind IN ('v', 'm')
    UNION ALL
    SELECT format('seqdef %s %s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s', c.relname,
                  format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle,
                  coalesce((SELECT t.relname || '.' || a.attname || ' (' || d.deptype::text || ')'
                              FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                               AND d.deptype IN ('a', 'i')), '-'))
      FROM rels c JOIN pg_sequence q ON q.seqrelid = c.oid
    UNION ALL
    SELECT format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_description d
     WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
        OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT t.oid FROM pg_type t, s WHERE t.typnamespace = s.oid))
        OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT p.oid FROM pg_proc p, s WHERE p.pronamespace = s.oid))
        OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN (SELECT g.oid FROM pg_trigger g JOIN tabs c ON c.oid = g.tgrelid))
        OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN (SELECT k.oid FROM pg_constraint k JOIN tabs c ON c.oid = k.conrelid))
    UNION ALL
    SELECT format('acl %s %s>%s:%s%s', a.obj, pg_get_userbyid(x.grantor),
                  CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
                  x.privilege_type, CASE WHEN x.is_grantable THEN '*' ELSE '' END)
      FROM acls a, aclexplode(a.acl) x
    UNION ALL
    SELECT format('enum %s %s', t.typname, (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
      FROM pg_type t, s WHERE t.typnamespace = s.oid AND t.typtype = 'e'
    UNION ALL
    SELECT format('ext %s version=%s schema=%s', extname, extversion, extnamespace::regnamespace) FROM ext
    UNION ALL
    SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
    UNION ALL
    SELECT format('evt %s on %s %s enabled=%s tags=%s', evtname, evtevent, evtfoid::regproc, evtenabled, evttags) FROM pg_event_trigger
    UNION ALL
    SELECT format('func %s returns %s member=%s', p.oid::regprocedure, pg_get_function_result(p.oid),
                  EXISTS (SELECT FROM members m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid))
      FROM pg_proc p, s WHERE p.pronamespace = s.oid
)
SELECT line FROM facts ORDER BY line COLLATE "C";

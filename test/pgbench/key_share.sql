\set k random(1, 4)
BEGIN;
SELECT id FROM irp_batch WHERE id = load.target(:k) FOR KEY SHARE;
SELECT pg_sleep(0.002);
COMMIT;

\set k random(1, 4)
\set change random(1, 3)
BEGIN;
SELECT coalesce(max(id), 0) AS locked FROM (SELECT id FROM irp_batch WHERE id = load.target(:k) FOR NO KEY UPDATE) l \gset
SELECT pg_sleep(0.002);
\if :change = 1
UPDATE irp_batch SET status = 'CANCELLED', cancel_reason = 'load' WHERE id = :locked;
\elif :change = 2
UPDATE irp_batch SET updated_ts = clock_timestamp() WHERE id = :locked;
\endif
COMMIT;

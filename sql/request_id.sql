--
-- Exactly-once creation across retries: a request_id that a client sends
-- with every attempt of one request. A retry after the first attempt
-- committed returns its batch (no error, no second batch, no second set of
-- jobs); after it rolled back, the retry creates. The same request_id with
-- other arguments is an error. The request_id is stored with the batch and
-- appears in the audit. (race_request covers a retry while the first
-- attempt is still in flight.)
--
CREATE EXTENSION irp_batch;
\set VERBOSITY default

-- The first attempt creates; its retry returns the same batch, whose key
-- already has an active batch: no duplicate error, nothing written.
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001') AS first;
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001') AS retry;
SELECT count(*) AS batches, (SELECT count(*) FROM irp_job) AS jobs, (SELECT count(*) FROM irp_batch_event) AS events
  FROM irp_batch;
-- Without a request_id the same call is a duplicate, as always.
\set VERBOSITY terse
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]');
\set VERBOSITY default

-- The same request_id with other arguments: refused, whatever differs.
SELECT irp_create_batch('EDM_CREATION', 42, 4, jobs => '[{"edm": "A"}, {"edm": "B"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001');
\set VERBOSITY terse
SELECT irp_create_batch('EDM_CREATION', 43, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001');
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001');
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}]',
                        request_id => 'a0000000-0000-0000-0000-000000000001');
SELECT irp_create_batch('EDM_CREATION', 42, 3, request_id => 'a0000000-0000-0000-0000-000000000001');
SELECT * FROM irp_ensure_batch('EDM_CREATION', 42, 3, '[{"edm": "B"}, {"edm": "A"}]', 'a0000000-0000-0000-0000-000000000001');
\set VERBOSITY default

-- A first attempt that rolled back left nothing: the retry creates.
BEGIN;
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, request_id => 'a0000000-0000-0000-0000-000000000002') > 0 AS created;
ROLLBACK;
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, request_id => 'a0000000-0000-0000-0000-000000000002') AS created_on_retry;
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, request_id => 'a0000000-0000-0000-0000-000000000002') AS retried_again;

-- allow_duplicate: the intentional duplicate a request created is its answer.
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true,
                        request_id => 'a0000000-0000-0000-0000-000000000003') AS duplicate;
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true,
                        request_id => 'a0000000-0000-0000-0000-000000000003') AS duplicate_retry;
-- ... which a call without allow_duplicate did not ask for.
\set VERBOSITY terse
SELECT irp_create_batch('EDM_CREATION', 42, 3, request_id => 'a0000000-0000-0000-0000-000000000003');
\set VERBOSITY default

-- irp_ensure_batch: a retry reports what the first attempt did.
SELECT * FROM irp_ensure_batch('ANALYSIS', 42, 5, '[{"a": 1}]', 'a0000000-0000-0000-0000-000000000004');
SELECT * FROM irp_ensure_batch('ANALYSIS', 42, 5, '[{"a": 1}]', 'a0000000-0000-0000-0000-000000000004');
-- A first attempt that found the key's batch created nothing, and neither does its retry.
SELECT * FROM irp_ensure_batch('ANALYSIS', 42, 5, '[{"a": 1}]', 'a0000000-0000-0000-0000-000000000005');
SELECT * FROM irp_ensure_batch('ANALYSIS', 42, 5, '[{"a": 1}]', 'a0000000-0000-0000-0000-000000000005');
-- The create of one request answers the ensure of the same request.
SELECT * FROM irp_ensure_batch('EDM_CREATION', 42, 3, '[{"edm": "A"}, {"edm": "B"}]', 'a0000000-0000-0000-0000-000000000001');

-- Under REPEATABLE READ a retry finds a batch committed after its snapshot.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) AS batches_seen FROM irp_batch;
\! psql -X -q -At -c "SELECT irp_create_batch('RESULTS', 42, 6, request_id => 'a0000000-0000-0000-0000-000000000006')" contrib_regression
SELECT irp_create_batch('RESULTS', 42, 6, request_id => 'a0000000-0000-0000-0000-000000000006') AS found_after_snapshot;
COMMIT;

-- Stored with the batch (unique where set) and in the audit.
SELECT id, batch_type, duplicate_of, request_id FROM irp_batch ORDER BY id;
SELECT batch_id, event, details->>'request_id' AS request_id FROM irp_batch_event ORDER BY id;
\set VERBOSITY terse
INSERT INTO irp_batch (step_id, configuration_id, batch_type, status, request_id)
VALUES (1, 99, 'OTHER', 'COMPLETED', 'a0000000-0000-0000-0000-000000000001');
\set VERBOSITY default

SET client_min_messages = error;
DROP EXTENSION irp_batch CASCADE;
DROP TABLE irp_batch_event, irp_job, irp_batch;
DROP TYPE batch_status_enum, job_status_enum;
RESET client_min_messages;

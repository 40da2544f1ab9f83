-- The proposal's four tests (Phase 6, workspace/tests/test_batch.py), ported
-- to pgTAP. Each test_* function runs in its own transaction, rolled back
-- afterwards, which takes the place of the proposal's archive_cycle() cleanup.
\ir pgtap_begin.psql
CREATE EXTENSION irp_batch;
CREATE SCHEMA proposal_tests;

-- The proposal's fixtures: a new configuration and step of a test cycle.
-- The extension keys batches by these ids only, so fresh ids stand in for them.
CREATE SEQUENCE proposal_tests.fixture_ids;
CREATE FUNCTION proposal_tests.create_test_configuration() RETURNS integer
  LANGUAGE sql AS $$ SELECT nextval('proposal_tests.fixture_ids')::integer $$;
CREATE FUNCTION proposal_tests.create_test_step() RETURNS integer
  LANGUAGE sql AS $$ SELECT nextval('proposal_tests.fixture_ids')::integer $$;

-- Test that duplicate batch creation is prevented by default.
CREATE FUNCTION proposal_tests.test_create_batch_duplicate_prevention() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  config_id integer := proposal_tests.create_test_configuration();
  step_id integer := proposal_tests.create_test_step();
  batch_id_1 integer;
  duplicate text;
BEGIN
  -- Create first batch - should succeed
  batch_id_1 := irp_create_batch('test_default', config_id, step_id);
  RETURN NEXT isnt(batch_id_1, NULL, 'the first batch is created');

  -- Try to create duplicate - should fail
  duplicate := format('SELECT irp_create_batch(%L, %s, %s)', 'test_default', config_id, step_id);
  RETURN NEXT throws_like(duplicate, '%Active batch already exists%',
                          'the duplicate is refused: "Active batch already exists"');
  RETURN NEXT throws_like(duplicate, format('%%Batch ID %s %%', batch_id_1),
                          'the error names the existing batch');
  RETURN NEXT throws_ok(duplicate, '23505',
    format('Active batch already exists for configuration %s and batch_type ''test_default'': Batch ID %s (status: INITIATED)',
           config_id, batch_id_1),
    'the error is a unique_violation with the exact message');
END $$;

-- Test that duplicates can be created with explicit flag.
CREATE FUNCTION proposal_tests.test_create_batch_allow_duplicate() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  config_id integer := proposal_tests.create_test_configuration();
  step_id integer := proposal_tests.create_test_step();
  batch_id_1 integer;
  batch_id_2 integer;
BEGIN
  -- Create first batch
  batch_id_1 := irp_create_batch('test_default', config_id, step_id);

  -- Create duplicate with flag - should succeed
  batch_id_2 := irp_create_batch('test_default', config_id, step_id, allow_duplicate => true);
  RETURN NEXT isnt(batch_id_2, NULL, 'the duplicate is created');
  RETURN NEXT isnt(batch_id_2, batch_id_1, 'the duplicate is a new batch');
  RETURN NEXT is((SELECT b.duplicate_of FROM irp_batch b WHERE b.id = batch_id_2), batch_id_1,
                 'the duplicate records the batch it duplicates');
END $$;

-- Test that new batch can be created after cancelling existing one.
CREATE FUNCTION proposal_tests.test_create_batch_after_cancellation() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  config_id integer := proposal_tests.create_test_configuration();
  step_id integer := proposal_tests.create_test_step();
  batch_id_1 integer;
  batch_id_2 integer;
BEGIN
  -- Create and cancel first batch
  batch_id_1 := irp_create_batch('test_default', config_id, step_id);
  RETURN NEXT ok(irp_cancel_batch(batch_id_1), 'the first batch is cancelled');

  -- Create new batch - should succeed (no active batch exists)
  batch_id_2 := irp_create_batch('test_default', config_id, step_id);
  RETURN NEXT isnt(batch_id_2, NULL, 'a new batch is created after the cancellation');
  RETURN NEXT is((SELECT b.duplicate_of FROM irp_batch b WHERE b.id = batch_id_2), NULL::integer,
                 'the new batch is an ordinary batch');
END $$;

-- Test querying active batches for a configuration.
CREATE FUNCTION proposal_tests.test_get_active_batches_for_config() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  config_id integer := proposal_tests.create_test_configuration();
  step_id integer := proposal_tests.create_test_step();
  new_batch integer;
BEGIN
  -- Initially no batches
  RETURN NEXT is((SELECT count(*) FROM irp_get_active_batches_for_config(config_id)), 0::bigint,
                 'no active batches at first');

  -- Create batch
  new_batch := irp_create_batch('test_default', config_id, step_id);

  -- Should find the batch
  RETURN NEXT is((SELECT count(*) FROM irp_get_active_batches_for_config(config_id)), 1::bigint,
                 'one active batch after creating one');
  RETURN NEXT is((SELECT a.id FROM irp_get_active_batches_for_config(config_id) a LIMIT 1), new_batch,
                 'it is the batch just created');

  -- Filter by batch_type
  RETURN NEXT is((SELECT count(*) FROM irp_get_active_batches_for_config(config_id, batch_type => 'test_default')),
                 1::bigint, 'the batch_type filter finds it');
  RETURN NEXT is((SELECT count(*) FROM irp_get_active_batches_for_config(config_id, batch_type => 'other_type')),
                 0::bigint, 'another batch_type finds nothing');
END $$;

SELECT * FROM runtests('proposal_tests'::name, '^test_');
ROLLBACK;

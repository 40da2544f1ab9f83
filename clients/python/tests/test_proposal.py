"""Proposal 002's four tests (Phase 6), ported.

The proposal's register_cycle/create_test_configuration/create_test_step
become the config_id and step_id fixtures (a configuration id no other test
uses); archive_cycle is not needed, since no two tests share a key.
"""
import pytest

from irp_batch_client import (BatchError, cancel_batch, create_batch,
                              get_active_batches_for_config)


def test_create_batch_duplicate_prevention(config_id, step_id):
    """Test that duplicate batch creation is prevented by default."""
    # Create first batch - should succeed
    batch_id_1 = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id
    )
    assert batch_id_1 is not None

    # Try to create duplicate - should fail
    with pytest.raises(BatchError) as exc_info:
        create_batch(
            batch_type='test_default',
            configuration_id=config_id,
            step_id=step_id
        )
    assert "Active batch already exists" in str(exc_info.value)
    assert str(batch_id_1) in str(exc_info.value)


def test_create_batch_allow_duplicate(config_id, step_id):
    """Test that duplicates can be created with explicit flag."""
    # Create first batch
    batch_id_1 = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id
    )

    # Create duplicate with flag - should succeed
    batch_id_2 = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id,
        allow_duplicate=True
    )
    assert batch_id_2 is not None
    assert batch_id_2 != batch_id_1


def test_create_batch_after_cancellation(config_id, step_id):
    """Test that new batch can be created after cancelling existing one."""
    # Create and cancel first batch
    batch_id_1 = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id
    )
    cancel_batch(batch_id_1)

    # Create new batch - should succeed (no active batch exists)
    batch_id_2 = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id
    )
    assert batch_id_2 is not None


def test_get_active_batches_for_config(config_id, step_id):
    """Test querying active batches for a configuration."""
    # Initially no batches
    batches = get_active_batches_for_config(config_id)
    assert len(batches) == 0

    # Create batch
    batch_id = create_batch(
        batch_type='test_default',
        configuration_id=config_id,
        step_id=step_id
    )

    # Should find the batch
    batches = get_active_batches_for_config(config_id)
    assert len(batches) == 1
    assert batches[0]['id'] == batch_id

    # Filter by batch_type
    batches = get_active_batches_for_config(config_id, batch_type='test_default')
    assert len(batches) == 1

    batches = get_active_batches_for_config(config_id, batch_type='other_type')
    assert len(batches) == 0

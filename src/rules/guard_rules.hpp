/*
 * guard_rules.hpp: the duplicate-batch rules, as plain C++ that never calls
 * PostgreSQL: what the guard (batch_guard.cpp, the BEFORE INSERT OR UPDATE
 * row trigger on irp_batch) must check for a row, and the texts of the
 * errors it raises when a check fails.
 *
 * A batch is active while its status is INITIATED or ACTIVE; COMPLETED,
 * FAILED and CANCELLED batches are finished. A batch's key is
 * (configuration_id, batch_type). An intentional duplicate is a batch whose
 * duplicate_of names the batch it duplicates.
 *
 * Rule 1. A batch without duplicate_of can become active (by INSERT, COPY,
 *         or an UPDATE that activates a finished batch or changes its key)
 *         only while no other active batch exists for its key; otherwise
 *         the duplicate error (23505). An UPDATE that activates a row or
 *         moves it to another key clears its duplicate_of.
 * Rule 2. duplicate_of must name a batch with the same key (23514) that
 *         already exists when the row is written (23503) and is not the row
 *         itself (23514). A batch that has intentional duplicates cannot
 *         change its key (23514): they would be left with another.
 * Rule 3. The duplicate error names the key's active batch without
 *         duplicate_of if there is one, else its oldest active batch.
 * Finished batches never conflict with anything.
 *
 * decide_insert() and decide_update() say which checks a row needs (they
 * refuse outright what needs no lookup); the guard does the lookups and
 * raises the errors built below.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "problem.hpp"

namespace irp {

/* A batch status, as stored in batch_status_enum. */
enum class BatchStatus { Initiated, Active, Completed, Failed, Cancelled, Other };

/* Maps an enum label to a BatchStatus. */
BatchStatus parse_batch_status(std::string_view label) noexcept;

/* INITIATED and ACTIVE batches are active: they take part in the guard. */
bool is_active(BatchStatus s) noexcept;

/* The columns of one irp_batch row that the guard reads. */
struct BatchRow {
    std::int32_t id = 0;
    std::int32_t configuration_id = 0;
    std::string_view batch_type;
    BatchStatus status = BatchStatus::Other;
    std::optional<std::int32_t> duplicate_of;
};

/* What the BEFORE trigger must do with one row. */
struct GuardAction {
    bool clear_duplicate_of = false;                 /* rule 1: reactivated or moved */
    bool check_conflict = false;                     /* rule 1: becomes an active non-duplicate */
    std::optional<std::int32_t> check_duplicate_of;  /* rule 2: must share the row's key */
    bool check_no_duplicates = false;                /* rule 2: a moved batch takes no duplicates along */
};

/* Decides what the guard does for an INSERT; throws Problem if the row is refused (rule 2: itself). */
GuardAction decide_insert(const BatchRow& row);

/* Decides what the guard does for an UPDATE; throws Problem if the update is refused (a new id; rule 2: itself). */
GuardAction decide_update(const BatchRow& old_row, const BatchRow& new_row);

/* The active batch a new batch of the same key would conflict with (rule 3). */
struct ExistingBatch {
    std::int32_t id = 0;
    std::string_view status;
    std::string_view created_at; /* already formatted by the server; empty if unknown (adopted rows) */
    std::string_view created_by; /* empty if unknown (adopted rows) */
    std::int64_t job_count = 0;
};

/*
 * Rule 1's error, the descriptive duplicate error (SQLSTATE 23505):
 *   Active batch already exists for configuration 42 and batch_type 'EDM':
 *   Batch ID 7 (status: INITIATED)
 * The primary message is a wire contract: the Python client parses it
 * (_DUPLICATE_MESSAGE in clients/python/irp_batch_client/__init__.py) to
 * raise DuplicateBatchError with the existing batch's id and status. Change
 * both together; test/unit/guard_rules_test.cpp and
 * clients/python/tests/test_client.py pin it.
 */
Problem duplicate_batch(std::int32_t configuration_id, std::string_view batch_type, const ExistingBatch& existing,
                        Origin where = Origin::here());

/* Rule 2's error: duplicate_of names a batch of another key (SQLSTATE 23514). */
Problem duplicate_of_other_key(const BatchRow& row, std::int32_t target_configuration_id,
                               std::string_view target_batch_type, Origin where = Origin::here());

/* Rule 2's error: duplicate_of names no batch (SQLSTATE 23503). */
Problem duplicate_of_missing(const BatchRow& row, Origin where = Origin::here());

/*
 * duplicate_of names a batch committed after this REPEATABLE READ or
 * SERIALIZABLE transaction's snapshot, which its foreign key check cannot
 * see (SQLSTATE 40001: retrying the transaction succeeds).
 */
Problem duplicate_of_after_snapshot(const BatchRow& row, Origin where = Origin::here());

/* Rule 2's error: the key of a batch that has intentional duplicates changes (SQLSTATE 23514). */
Problem moved_with_duplicates(const BatchRow& row, std::int32_t duplicate_id, Origin where = Origin::here());

}  // namespace irp

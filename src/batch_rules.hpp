/*
 * batch_rules.hpp: the duplicate-batch rules and the texts of every error,
 * as plain C++ that never calls PostgreSQL.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "problem.hpp"

namespace irp {

/* Longest batch_type the table accepts (varchar(255)), in characters. */
constexpr std::size_t max_batch_type_chars = 255;

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

/* Decides what the guard does for an INSERT; throws Problem if the row is refused. */
GuardAction decide_insert(const BatchRow& row);

/* Decides what the guard does for an UPDATE; throws Problem if the update is refused. */
GuardAction decide_update(const BatchRow& old_row, const BatchRow& new_row);

/* The active batch a new batch of the same key would conflict with. */
struct ExistingBatch {
    std::int32_t id = 0;
    std::string_view status;
    std::string_view created_at; /* already formatted by the server; empty if unknown (adopted rows) */
    std::string_view created_by; /* empty if unknown (adopted rows) */
    std::int64_t job_count = 0;
};

/* The descriptive duplicate error (SQLSTATE 23505). */
Problem duplicate_batch(std::int32_t configuration_id, std::string_view batch_type,
                        const ExistingBatch& existing);

/* Rule 2's error: duplicate_of names a batch of another key (SQLSTATE 23514). */
Problem duplicate_of_other_key(const BatchRow& row, std::int32_t target_configuration_id,
                               std::string_view target_batch_type);

/* Rule 2's error: duplicate_of names no batch (SQLSTATE 23503). */
Problem duplicate_of_missing(const BatchRow& row);

/*
 * duplicate_of names a batch committed after this REPEATABLE READ or
 * SERIALIZABLE transaction's snapshot, which its foreign key check cannot
 * see (SQLSTATE 40001: retrying the transaction succeeds).
 */
Problem duplicate_of_after_snapshot(const BatchRow& row);

/* Rule 2's error: the key of a batch that has intentional duplicates changes (SQLSTATE 23514). */
Problem moved_with_duplicates(const BatchRow& row, std::int32_t duplicate_id);

/* A trigger function of the extension used where it does not belong (SQLSTATE 39P01). */
/*
 * A role other than the audit table's owner wrote irp_batch_event directly
 * (SQLSTATE 42501); operation is "INSERT", "UPDATE", "DELETE" or "TRUNCATE".
 */
Problem audit_write_refused(std::string_view role, std::string_view operation);

/*
 * DROP EXTENSION irp_batch while its tables hold rows, unconfirmed (SQLSTATE
 * 2BP01); the counts are told only when show_counts.
 */
Problem drop_refused(std::int64_t batches, std::int64_t jobs, std::int64_t events, bool show_counts);

/*
 * The extension's schema has no table irp_batch (SQLSTATE 55000): CREATE
 * EXTENSION skipped the tables, as in a restore, or they were dropped.
 */
Problem tables_not_set_up(std::string_view schema);

/*
 * A request_id already used by a request that created batch_id with other
 * arguments (SQLSTATE 22023).
 */
Problem request_reused(std::string_view request_id, std::int32_t batch_id, std::int32_t configuration_id,
                       std::string_view batch_type);

Problem trigger_misuse(std::string_view message, std::string_view detail = {}, std::string_view hint = {});

/* Another BEFORE trigger on table skipped a row function wrote (SQLSTATE 09000). */
Problem skipped_by_trigger(std::string_view function, std::string_view what, std::string_view table);

/* Throws Problem (22004) when a required argument is NULL. */
void require_not_null(bool is_null, std::string_view function, std::string_view argument);

/* Throws Problem (22023) unless id is a positive integer. */
void validate_id(std::string_view argument, std::int32_t id);

/* A bad batch_types array (22023). */
[[noreturn]] void invalid_batch_types(Text detail);

/* A NULL element (1-based index) of batch_types (22004). */
[[noreturn]] void null_batch_type_element(std::string_view function, std::size_t index);

/* Throws Problem (22023) unless batch_type is a valid batch type; chars is its length in characters. */
void validate_batch_type(std::string_view batch_type, std::size_t chars);

/* Throws Problem (22023) if the cancellation reason is empty or blank. */
void validate_reason(std::string_view reason);

/* The kinds of JSON value, for the jobs argument's error messages. */
enum class JsonKind { Object, Array, String, Number, Boolean, Null };

/* Throws Problem (22023) because jobs is not an array; kind is what it is. */
[[noreturn]] void jobs_not_an_array(JsonKind kind);

/* Throws Problem (22023) because element index (1-based) of jobs is not an object. */
[[noreturn]] void job_not_an_object(std::size_t index, JsonKind kind);

/* The error irp_cancel_batch raises for an unknown batch (SQLSTATE P0002). */
Problem batch_not_found(std::int32_t batch_id);

/* Builds Text from pieces: concat("a", 1, "b"). */
Text concat_parts(std::initializer_list<std::string_view> parts);

/* Decimal text of a number. */
Text number_text(std::int64_t n);

}  // namespace irp

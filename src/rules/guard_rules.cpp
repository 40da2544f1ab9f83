/*
 * guard_rules.cpp: the duplicate-batch rules and the guard's error texts
 * (guard_rules.hpp states the rules).
 */
#include "guard_rules.hpp"

#include "text.hpp"

namespace irp {

namespace {

/* A Problem about the irp_batch table. */
Problem table_problem(Code code, Text message, Text detail, Text hint, Origin where)
{
    Problem p(code, std::move(message), where);
    p.detail = std::move(detail);
    p.hint = std::move(hint);
    p.table = "irp_batch";
    return p;
}

/* Rule 2: a batch cannot duplicate itself (the table's CHECK, raised before the lookup that would miss it). */
void refuse_self_duplicate(const BatchRow& row, Origin where = Origin::here())
{
    if (row.duplicate_of != row.id)
        return;
    Problem p = table_problem(Code::CheckViolation, Text("a batch cannot be a duplicate of itself"),
                              concat_parts({"Batch ", number_text(row.id), " has duplicate_of = ",
                                            number_text(row.id), "."}),
                              Text(), where);
    p.constraint = "irp_batch_duplicate_of_check";
    throw p;
}

}  // namespace

BatchStatus parse_batch_status(std::string_view label) noexcept
{
    if (label == "INITIATED") return BatchStatus::Initiated;
    if (label == "ACTIVE") return BatchStatus::Active;
    if (label == "COMPLETED") return BatchStatus::Completed;
    if (label == "FAILED") return BatchStatus::Failed;
    if (label == "CANCELLED") return BatchStatus::Cancelled;
    return BatchStatus::Other;
}

bool is_active(BatchStatus s) noexcept
{
    return s == BatchStatus::Initiated || s == BatchStatus::Active;
}

GuardAction decide_insert(const BatchRow& row)
{
    GuardAction action;
    refuse_self_duplicate(row);
    if (row.duplicate_of)
        action.check_duplicate_of = row.duplicate_of; /* rule 2 */
    else if (is_active(row.status))
        action.check_conflict = true; /* rule 1 */
    return action;
}

GuardAction decide_update(const BatchRow& old_row, const BatchRow& new_row)
{
    if (old_row.id != new_row.id)
        throw table_problem(Code::FeatureNotSupported, Text("the id of a batch cannot be changed"),
                            concat_parts({"Batch ", number_text(old_row.id), " would become batch ",
                                          number_text(new_row.id), "."}),
                            Text("Create a new batch with irp_create_batch() instead."), Origin::here());

    GuardAction action;
    const bool key_changed = old_row.configuration_id != new_row.configuration_id ||
                             old_row.batch_type != new_row.batch_type;
    const bool activated = is_active(new_row.status) && !is_active(old_row.status);
    if (activated || key_changed) {
        /* Rule 1: a reactivated or moved batch is no longer anybody's duplicate. */
        action.clear_duplicate_of = new_row.duplicate_of.has_value();
        action.check_conflict = is_active(new_row.status);
        /* Rule 2: its own duplicates would be left with another key. */
        action.check_no_duplicates = key_changed;
    } else if (new_row.duplicate_of != old_row.duplicate_of) {
        refuse_self_duplicate(new_row);
        if (new_row.duplicate_of)
            action.check_duplicate_of = new_row.duplicate_of;
        else if (is_active(new_row.status))
            action.check_conflict = true; /* promoted to the key's non-duplicate batch */
    }
    return action;
}

Problem duplicate_batch(std::int32_t configuration_id, std::string_view batch_type, const ExistingBatch& existing,
                        Origin where)
{
    const Text id = number_text(existing.id);
    Problem p = table_problem(
        Code::UniqueViolation,
        concat_parts({"Active batch already exists for configuration ", number_text(configuration_id),
                      " and batch_type '", batch_type, "': Batch ID ", id, " (status: ", existing.status,
                      ")"}),
        concat_parts({"Batch ", id, " was created",
                      existing.created_at.empty() ? "" : " at ", existing.created_at,
                      existing.created_by.empty() ? "" : " by ", existing.created_by,
                      " and has ", number_text(existing.job_count), existing.job_count == 1 ? " job." : " jobs."}),
        concat_parts({"Use irp_create_batch(..., allow_duplicate => true) to create an intentional duplicate, "
                      "or cancel the existing batch with irp_cancel_batch(", id, ")."}),
        where);
    p.constraint = "idx_batch_unique_active";
    return p;
}

Problem duplicate_of_other_key(const BatchRow& row, std::int32_t target_configuration_id,
                               std::string_view target_batch_type, Origin where)
{
    return table_problem(
        Code::CheckViolation,
        Text("duplicate_of must reference a batch with the same configuration_id and batch_type"),
        concat_parts({"Batch ", number_text(*row.duplicate_of), " has configuration ",
                      number_text(target_configuration_id), " and batch_type '", target_batch_type,
                      "', but this batch has configuration ", number_text(row.configuration_id),
                      " and batch_type '", row.batch_type, "'."}),
        Text("Set duplicate_of only on an intentional duplicate, to the batch of the same key it duplicates."),
        where);
}

Problem duplicate_of_missing(const BatchRow& row, Origin where)
{
    Problem p = table_problem(Code::ForeignKeyViolation, Text("duplicate_of must reference an existing batch"),
                              concat_parts({"Batch ", number_text(*row.duplicate_of), " does not exist."}),
                              Text("Create the batch first; an intentional duplicate names a batch that is already there."),
                              where);
    p.constraint = "irp_batch_duplicate_of_fkey";
    return p;
}

Problem duplicate_of_after_snapshot(const BatchRow& row, Origin where)
{
    return table_problem(
        Code::SerializationFailure,
        concat_parts({"could not serialize access: batch ", number_text(*row.duplicate_of),
                      " was created after this transaction's snapshot"}),
        Text("Under REPEATABLE READ or SERIALIZABLE, duplicate_of can only name a batch the transaction's snapshot "
             "sees."),
        Text("Retry the transaction."), where);
}

Problem moved_with_duplicates(const BatchRow& row, std::int32_t duplicate_id, Origin where)
{
    return table_problem(
        Code::CheckViolation, Text("cannot change the key of a batch that has intentional duplicates"),
        concat_parts({"Batch ", number_text(duplicate_id), " is an intentional duplicate of batch ",
                      number_text(row.id), "; it would be left with another configuration_id or batch_type."}),
        Text("Cancel or move its duplicates first, or clear their duplicate_of."), where);
}

}  // namespace irp

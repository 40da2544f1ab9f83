/*
 * batch_rules.cpp: the duplicate-batch rules and error texts (plain C++).
 */
#include "batch_rules.hpp"

#include <charconv>

namespace irp {

namespace {

/* A Problem about the irp_batch table. */
Problem table_problem(Code code, Text message, Text detail, Text hint)
{
    Problem p;
    p.code = code;
    p.message = std::move(message);
    p.detail = std::move(detail);
    p.hint = std::move(hint);
    p.table = "irp_batch";
    return p;
}

/* An invalid-argument Problem (22023). */
Problem invalid(std::string_view argument, Text detail, Text hint = Text())
{
    Problem p;
    p.code = Code::InvalidParameterValue;
    p.message = concat_parts({"invalid ", argument});
    p.detail = std::move(detail);
    p.hint = std::move(hint);
    return p;
}

/* "a string", "an object", ... */
std::string_view json_kind_name(JsonKind kind) noexcept
{
    switch (kind) {
    case JsonKind::Object: return "an object";
    case JsonKind::Array: return "an array";
    case JsonKind::String: return "a string";
    case JsonKind::Number: return "a number";
    case JsonKind::Boolean: return "a boolean";
    case JsonKind::Null: return "null";
    }
    return "a value";
}

constexpr std::string_view jobs_hint = "Pass one JSON object per job, e.g. '[{\"portfolio\": \"P1\"}]'.";

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

namespace {

/* A batch cannot duplicate itself (the table's CHECK, raised before the lookup that would miss it). */
void refuse_self_duplicate(const BatchRow& row)
{
    if (row.duplicate_of != row.id)
        return;
    Problem p = table_problem(Code::CheckViolation, Text("a batch cannot be a duplicate of itself"),
                              concat_parts({"Batch ", number_text(row.id), " has duplicate_of = ",
                                            number_text(row.id), "."}),
                              Text());
    p.constraint = "irp_batch_duplicate_of_check";
    throw p;
}

}  // namespace

GuardAction decide_insert(const BatchRow& row)
{
    GuardAction action;
    refuse_self_duplicate(row);
    if (row.duplicate_of)
        action.check_duplicate_of = row.duplicate_of;
    else if (is_active(row.status))
        action.check_conflict = true;
    return action;
}

GuardAction decide_update(const BatchRow& old_row, const BatchRow& new_row)
{
    if (old_row.id != new_row.id)
        throw table_problem(Code::FeatureNotSupported, Text("the id of a batch cannot be changed"),
                            concat_parts({"Batch ", number_text(old_row.id), " would become batch ",
                                          number_text(new_row.id), "."}),
                            Text("Create a new batch with irp_create_batch() instead."));

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

Problem duplicate_batch(std::int32_t configuration_id, std::string_view batch_type,
                        const ExistingBatch& existing)
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
                      "or cancel the existing batch with irp_cancel_batch(", id, ")."}));
    p.constraint = "idx_batch_unique_active";
    return p;
}

Problem duplicate_of_other_key(const BatchRow& row, std::int32_t target_configuration_id,
                               std::string_view target_batch_type)
{
    return table_problem(
        Code::CheckViolation,
        Text("duplicate_of must reference a batch with the same configuration_id and batch_type"),
        concat_parts({"Batch ", number_text(*row.duplicate_of), " has configuration ",
                      number_text(target_configuration_id), " and batch_type '", target_batch_type,
                      "', but this batch has configuration ", number_text(row.configuration_id),
                      " and batch_type '", row.batch_type, "'."}),
        Text("Set duplicate_of only on an intentional duplicate, to the batch of the same key it duplicates."));
}

Problem duplicate_of_missing(const BatchRow& row)
{
    Problem p = table_problem(Code::ForeignKeyViolation, Text("duplicate_of must reference an existing batch"),
                              concat_parts({"Batch ", number_text(*row.duplicate_of), " does not exist."}),
                              Text("Create the batch first; an intentional duplicate names a batch that is already there."));
    p.constraint = "irp_batch_duplicate_of_fkey";
    return p;
}

Problem duplicate_of_after_snapshot(const BatchRow& row)
{
    return table_problem(
        Code::SerializationFailure,
        concat_parts({"could not serialize access: batch ", number_text(*row.duplicate_of),
                      " was created after this transaction's snapshot"}),
        Text("Under REPEATABLE READ or SERIALIZABLE, duplicate_of can only name a batch the transaction's snapshot "
             "sees."),
        Text("Retry the transaction."));
}

Problem moved_with_duplicates(const BatchRow& row, std::int32_t duplicate_id)
{
    Problem p = table_problem(
        Code::CheckViolation, Text("cannot change the key of a batch that has intentional duplicates"),
        concat_parts({"Batch ", number_text(duplicate_id), " is an intentional duplicate of batch ",
                      number_text(row.id), "; it would be left with another configuration_id or batch_type."}),
        Text("Cancel or move its duplicates first, or clear their duplicate_of."));
    return p;
}

Problem audit_write_refused(std::string_view role, std::string_view operation)
{
    Problem p;
    p.code = Code::InsufficientPrivilege;
    p.message = Text("only the irp_batch extension writes the audit trail");
    p.detail = concat_parts({"Role \"", role, "\" may not ", operation,
                             " irp_batch_event: events are written by the triggers on irp_batch."});
    p.hint = Text("Change the batches instead; each change is recorded with your role as its actor.");
    p.table = "irp_batch_event";
    return p;
}

Problem drop_refused(std::int64_t batches, std::int64_t jobs, std::int64_t events, bool show_counts)
{
    Problem p;
    p.code = Code::DependentObjectsStillExist;
    p.message = Text("cannot drop extension irp_batch while its tables hold data");
    p.detail = show_counts ? concat_parts({"Dropping it would delete ", number_text(batches), " batches, ",
                                           number_text(jobs), " jobs and ", number_text(events), " audit events."})
                           : Text("Dropping it would delete its batches, jobs and audit events.");
    p.hint = Text("Take a backup with pg_dump first; then SET irp_batch.confirm_drop = on and drop it again.");
    return p;
}

Problem tables_not_set_up(std::string_view schema)
{
    Problem p;
    p.code = Code::ObjectNotInPrerequisiteState;
    p.message = concat_parts({"irp_batch has no tables in schema ", schema});
    p.detail = Text("CREATE EXTENSION makes them unless the session has row_security set to off, as a restore of a "
                    "dump does (the dump brings them); or they were dropped.");
    p.hint = concat_parts({"SELECT ", schema, ".irp_batch_setup(); creates them, or attaches to existing ones."});
    p.schema = Text(schema);
    return p;
}

Problem request_reused(std::string_view request_id, std::int32_t batch_id, std::int32_t configuration_id,
                       std::string_view batch_type)
{
    Problem p;
    p.code = Code::InvalidParameterValue;
    p.message = concat_parts({"request_id ", request_id, " was used by another request"});
    p.detail = concat_parts({"That request created batch ", number_text(batch_id), " for configuration ",
                             number_text(configuration_id), " and batch_type '", batch_type,
                             "'; this call's arguments differ from it."});
    p.hint = Text("A retry repeats its request's arguments exactly; give a new request a new request_id.");
    return p;
}

Problem trigger_misuse(std::string_view message, std::string_view detail, std::string_view hint)
{
    Problem p;
    p.code = Code::TriggerProtocol;
    p.message = Text(message);
    p.detail = Text(detail);
    p.hint = Text(hint);
    return p;
}

Problem skipped_by_trigger(std::string_view function, std::string_view what, std::string_view table)
{
    Problem p;
    p.code = Code::TriggeredAction;
    p.message = concat_parts({function, "() could not ", what});
    p.detail = concat_parts({"Another BEFORE trigger on ", table, " skipped a row that ", function, "() wrote."});
    p.hint = Text("Nothing was changed. Let such triggers pass the extension's own writes.");
    return p;
}

void require_not_null(bool is_null, std::string_view function, std::string_view argument)
{
    if (!is_null)
        return;
    Problem p;
    p.code = Code::NullValueNotAllowed;
    p.message = concat_parts({argument, " must not be null"});
    p.detail = concat_parts({function, "() was called with a NULL ", argument, "."});
    throw p;
}

void validate_id(std::string_view argument, std::int32_t id)
{
    if (id > 0)
        return;
    Problem p = invalid(argument, concat_parts({argument, " must be a positive integer, not ", number_text(id), "."}));
    p.message = concat_parts({"invalid ", argument, ": ", number_text(id)});
    throw p;
}

void invalid_batch_types(Text detail)
{
    throw invalid("batch_types", std::move(detail));
}

void null_batch_type_element(std::string_view function, std::size_t index)
{
    Problem p;
    p.code = Code::NullValueNotAllowed;
    p.message = Text("batch_types must not contain null");
    p.detail = concat_parts({function, "() was called with a NULL as element ",
                             number_text(static_cast<std::int64_t>(index)), " of batch_types."});
    throw p;
}

void validate_batch_type(std::string_view batch_type, std::size_t chars)
{
    if (batch_type.empty())
        throw invalid("batch_type", Text("batch_type must not be empty."));
    if (chars > max_batch_type_chars)
        throw invalid("batch_type", concat_parts({"batch_type has ", number_text(static_cast<std::int64_t>(chars)),
                                                  " characters; at most ", number_text(max_batch_type_chars),
                                                  " are allowed."}));
    for (std::size_t i = 0; i < batch_type.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(batch_type[i]);
        if (c < 0x20 || c == 0x7f)
            throw invalid("batch_type", concat_parts({"batch_type contains a control character (byte ",
                                                      number_text(static_cast<std::int64_t>(i + 1)), ")."}));
    }
    if (batch_type.front() == ' ' || batch_type.back() == ' ')
        throw invalid("batch_type", concat_parts({"batch_type '", batch_type, "' begins or ends with a space."}),
                      Text("Remove the surrounding spaces."));
}

void validate_reason(std::string_view reason)
{
    for (char c : reason)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v')
            return;
    throw invalid("reason", Text("reason must not be empty or blank."),
                  Text("Give the reason for the audit trail, or omit reason to use 'Cancelled by user'."));
}

void jobs_not_an_array(JsonKind kind)
{
    throw invalid("jobs", concat_parts({"jobs must be a JSON array of objects, not ", json_kind_name(kind), "."}),
                  Text(jobs_hint));
}

void job_not_an_object(std::size_t index, JsonKind kind)
{
    throw invalid("jobs", concat_parts({"Element ", number_text(static_cast<std::int64_t>(index)), " of jobs is ",
                                        json_kind_name(kind), ", not an object."}),
                  Text(jobs_hint));
}

Problem batch_not_found(std::int32_t batch_id)
{
    Problem p;
    p.code = Code::NoDataFound;
    p.message = concat_parts({"Batch ", number_text(batch_id), " not found"});
    return p;
}

Text concat_parts(std::initializer_list<std::string_view> parts)
{
    std::size_t n = 0;
    for (std::string_view s : parts)
        n += s.size();
    Text out;
    out.reserve(n);
    for (std::string_view s : parts)
        out.append(s.data(), s.size());
    return out;
}

Text number_text(std::int64_t n)
{
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, n);
    return Text(buf, res.ptr);
}

}  // namespace irp

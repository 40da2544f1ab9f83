/*
 * arg_rules.cpp: the checks of the SQL API's arguments and their error
 * texts (arg_rules.hpp).
 */
#include "arg_rules.hpp"

#include "text.hpp"

namespace irp {

namespace {

/* An invalid-argument Problem (22023): "invalid ARGUMENT". */
Problem invalid(std::string_view argument, Text detail, Text hint, Origin where)
{
    Problem p(Code::InvalidParameterValue, concat_parts({"invalid ", argument}), where);
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
constexpr std::string_view batch_ids_hint = "Pass the ids of existing batches, e.g. ARRAY[7, 8].";

}  // namespace

void require_not_null(bool is_null, std::string_view function, std::string_view argument)
{
    if (!is_null)
        return;
    Problem p(Code::NullValueNotAllowed, concat_parts({argument, " must not be null"}));
    p.detail = concat_parts({function, "() was called with a NULL ", argument, "."});
    throw p;
}

void validate_id(std::string_view argument, std::int32_t id)
{
    if (id > 0)
        return;
    Problem p = invalid(argument, concat_parts({argument, " must be a positive integer, not ", number_text(id), "."}),
                        Text(), Origin::here());
    p.message = concat_parts({"invalid ", argument, ": ", number_text(id)});
    throw p;
}

void validate_batch_type(std::string_view batch_type, std::size_t chars)
{
    if (batch_type.empty())
        throw invalid("batch_type", Text("batch_type must not be empty."), Text(), Origin::here());
    if (chars > max_batch_type_chars)
        throw invalid("batch_type",
                      concat_parts({"batch_type has ", number_text(static_cast<std::int64_t>(chars)),
                                    " characters; at most ", number_text(max_batch_type_chars), " are allowed."}),
                      Text(), Origin::here());
    for (std::size_t i = 0; i < batch_type.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(batch_type[i]);
        if (c < 0x20 || c == 0x7f)
            throw invalid("batch_type",
                          concat_parts({"batch_type contains a control character (byte ",
                                        number_text(static_cast<std::int64_t>(i + 1)), ")."}),
                          Text(), Origin::here());
    }
    if (batch_type.front() == ' ' || batch_type.back() == ' ')
        throw invalid("batch_type", concat_parts({"batch_type '", batch_type, "' begins or ends with a space."}),
                      Text("Remove the surrounding spaces."), Origin::here());
}

void validate_reason(std::string_view reason)
{
    for (char c : reason)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v')
            return;
    throw invalid("reason", Text("reason must not be empty or blank."),
                  Text("Give the reason for the audit trail, or omit reason to use 'Cancelled by user'."),
                  Origin::here());
}

void invalid_batch_types(Text detail, Origin where)
{
    throw invalid("batch_types", std::move(detail), Text(), where);
}

void null_batch_type_element(std::string_view function, std::size_t index, Origin where)
{
    Problem p(Code::NullValueNotAllowed, Text("batch_types must not contain null"), where);
    p.detail = concat_parts({function, "() was called with a NULL as element ",
                             number_text(static_cast<std::int64_t>(index)), " of batch_types."});
    throw p;
}

void jobs_not_an_array(JsonKind kind, Origin where)
{
    throw invalid("jobs", concat_parts({"jobs must be a JSON array of objects, not ", json_kind_name(kind), "."}),
                  Text(jobs_hint), where);
}

void job_not_an_object(std::size_t index, JsonKind kind, Origin where)
{
    throw invalid("jobs",
                  concat_parts({"Element ", number_text(static_cast<std::int64_t>(index)), " of jobs is ",
                                json_kind_name(kind), ", not an object."}),
                  Text(jobs_hint), where);
}

void null_batch_id_element(std::string_view function, std::string_view argument, std::size_t index, Origin where)
{
    Problem p(Code::NullValueNotAllowed, concat_parts({argument, " must not contain null"}), where);
    p.detail = concat_parts({function, "() was called with a NULL as element ",
                             number_text(static_cast<std::int64_t>(index)), " of ", argument, "."});
    p.hint = Text(batch_ids_hint);
    throw p;
}

void invalid_batch_id_element(std::string_view argument, std::size_t index, std::int32_t id, Origin where)
{
    throw invalid(argument,
                  concat_parts({"Element ", number_text(static_cast<std::int64_t>(index)), " of ", argument, " is ",
                                number_text(id), "; batch ids are positive integers."}),
                  Text(batch_ids_hint), where);
}

void batch_ids_not_a_list(std::string_view argument, Origin where)
{
    throw invalid(argument, concat_parts({argument, " must be a one-dimensional array."}), Text(batch_ids_hint),
                  where);
}

void negative_older_than(std::string_view value, Origin where)
{
    Problem p(Code::InvalidParameterValue, concat_parts({"invalid older_than: ", value}), where);
    p.detail = Text("older_than must not be negative.");
    p.hint = Text("Pass how long a batch has had no activity, e.g. interval '1 day'.");
    throw p;
}

}  // namespace irp

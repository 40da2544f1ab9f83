/*
 * status_text.cpp: texts of live batch status (plain C++; see status_text.hpp).
 */
#include "status_text.hpp"

#include <cmath>

#include "batch_rules.hpp"

namespace irp {

namespace {

Text count_of(std::int64_t n, std::string_view unit)
{
    return concat_parts({number_text(n), " ", unit, n == 1 ? "" : "s"});
}

}  // namespace

Text idle_text(double seconds)
{
    const std::int64_t s = std::isfinite(seconds) && seconds > 0 ? static_cast<std::int64_t>(std::floor(seconds)) : 0;
    if (s < 2 * 60)
        return count_of(s, "second");
    if (s < 2 * 3600)
        return count_of(s / 60, "minute");
    if (s < 2 * 86400)
        return count_of(s / 3600, "hour");
    return count_of(s / 86400, "day");
}

Text preflight_message(std::int32_t batch_id, std::string_view status, bool stale,
                       std::optional<double> idle_seconds)
{
    const Text id = number_text(batch_id);
    if (stale) {
        const Text idle = idle_seconds ? idle_text(*idle_seconds) : Text();
        const Text what = idle_seconds ? concat_parts({"no activity for ", idle}) : Text("no recorded activity");
        return concat_parts({"batch ", id, idle_seconds ? " has had " : " has ", what,
                             "; cancel it with SELECT irp_cancel_batch(", id, ", 'stale: ", what, "')"});
    }
    if (!idle_seconds)
        return concat_parts({"batch ", id, " exists (", status, ")"});
    return concat_parts({"batch ", id, " exists (", status, ", last activity ", idle_text(*idle_seconds), " ago)"});
}

void null_batch_id_element(std::string_view function, std::string_view argument, std::size_t index)
{
    Problem p;
    p.code = Code::NullValueNotAllowed;
    p.message = concat_parts({argument, " must not contain null"});
    p.detail = concat_parts({function, "() was called with a NULL as element ",
                             number_text(static_cast<std::int64_t>(index)), " of ", argument, "."});
    p.hint = Text("Pass the ids of existing batches, e.g. ARRAY[7, 8].");
    throw p;
}

void invalid_batch_id_element(std::string_view argument, std::size_t index, std::int32_t id)
{
    Problem p;
    p.code = Code::InvalidParameterValue;
    p.message = concat_parts({"invalid ", argument});
    p.detail = concat_parts({"Element ", number_text(static_cast<std::int64_t>(index)), " of ", argument, " is ",
                             number_text(id), "; batch ids are positive integers."});
    p.hint = Text("Pass the ids of existing batches, e.g. ARRAY[7, 8].");
    throw p;
}

void batch_ids_not_a_list(std::string_view argument)
{
    Problem p;
    p.code = Code::InvalidParameterValue;
    p.message = concat_parts({"invalid ", argument});
    p.detail = concat_parts({argument, " must be a one-dimensional array."});
    p.hint = Text("Pass the ids of existing batches, e.g. ARRAY[7, 8].");
    throw p;
}

void negative_older_than(std::string_view value)
{
    Problem p;
    p.code = Code::InvalidParameterValue;
    p.message = concat_parts({"invalid older_than: ", value});
    p.detail = Text("older_than must not be negative.");
    p.hint = Text("Pass how long a batch has had no activity, e.g. interval '1 day'.");
    throw p;
}

}  // namespace irp

/*
 * status_text.cpp: texts of live batch status (plain C++; see status_text.hpp).
 */
#include "status_text.hpp"

#include <cmath>

#include "text.hpp"

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

}  // namespace irp

/*
 * status_text.hpp: the texts of live batch status (issue 16), as plain C++
 * that never calls PostgreSQL: idle times and irp_batch_preflight()'s message.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../pg_memory.hpp"

namespace irp {

/* "1 second", "45 seconds", "5 minutes", "26 hours", "3 days": rounded down, in the largest unit that gives 2 or more
 * (seconds below 2 minutes). */
Text idle_text(double seconds);

/*
 * irp_batch_preflight()'s message for an active batch:
 *   stale:     batch 7 has had no activity for 26 hours; cancel it with SELECT irp_cancel_batch(7, '...')
 *   not stale: batch 7 exists (INITIATED, last activity 5 minutes ago)
 * idle_seconds is absent when the batch has no recorded time at all.
 */
Text preflight_message(std::int32_t batch_id, std::string_view status, bool stale,
                       std::optional<double> idle_seconds);

}  // namespace irp

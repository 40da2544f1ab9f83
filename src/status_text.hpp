/*
 * status_text.hpp: the texts of live batch status (issue 16), as plain C++
 * that never calls PostgreSQL: idle times, irp_batch_preflight()'s message,
 * and the errors of irp_batch_progress() and irp_stale_batches().
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "problem.hpp"

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

/* A NULL element (1-based index) of an array of batch ids (22004). */
[[noreturn]] void null_batch_id_element(std::string_view function, std::string_view argument, std::size_t index);

/* An element of an array of batch ids that is not a positive integer (22023). */
[[noreturn]] void invalid_batch_id_element(std::string_view argument, std::size_t index, std::int32_t id);

/* A multidimensional array of batch ids (22023). */
[[noreturn]] void batch_ids_not_a_list(std::string_view argument);

/* A negative older_than (22023); value is its text. */
[[noreturn]] void negative_older_than(std::string_view value);

}  // namespace irp

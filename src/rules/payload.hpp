/*
 * payload.hpp: the JSON payloads of the two notification channels, as plain
 * C++ that never calls PostgreSQL (notifications.cpp sends them).
 *
 * Every payload stays under PostgreSQL's NOTIFY limit (8000 bytes) whatever
 * the data:
 *  - each string (event, status, batch_type, actor, a job status label) is
 *    written JSON-escaped; if its escaped text would exceed
 *    max_string_bytes, it is cut at a character boundary and ends with
 *    truncation_marker, the whole at most max_string_bytes;
 *  - the counts of a job-progress payload are written in the order given
 *    (the enum's); once the next one would take the payload past
 *    payload_limit, it and every later one are summed under the key
 *    more_statuses_key instead, so the counts always add up to the total.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../pg_memory.hpp"

namespace irp {

/* The longest payload sent, in bytes: PostgreSQL refuses 8000 or more. */
constexpr std::size_t payload_limit = 7999;

/* The most bytes one string takes in a payload, escaped, marker included. */
constexpr std::size_t max_string_bytes = 1024;

/* The end of a string cut to max_string_bytes. */
constexpr std::string_view truncation_marker = "...(truncated)";

/* The key under which the job statuses that do not fit are counted together. */
constexpr std::string_view more_statuses_key = "(more)";

/*
 * The number of bytes of the character that starts at s, in the server's
 * encoding (PostgreSQL's pg_mblen). Used only for bytes 0x80 and above.
 */
using CharLength = int (*)(const char* s);

/* One irp_batch_events message. An absent value is written as JSON null. */
struct BatchEventMessage {
    std::int64_t event_id = 0;
    std::int32_t batch_id = 0;
    std::string_view event;
    std::optional<std::string_view> status;
    std::optional<std::int32_t> configuration_id;
    std::optional<std::string_view> batch_type;
    std::string_view actor;
};

/*
 * {"event_id": 1, "batch_id": 7, "event": "CREATED", "status": "INITIATED",
 *  "configuration_id": 42, "batch_type": "EDM_CREATION", "actor": "alice"}
 */
Text batch_event_payload(const BatchEventMessage& m, CharLength char_length);

/* The number of a batch's jobs in one status. */
struct StatusCount {
    std::string_view status;
    std::int64_t count = 0;
};

/*
 * {"batch_id": 7, "total": 50, "counts": {"RUNNING": 10, "FINISHED": 40}}:
 * counts in the order given, those of count 0 left out.
 */
Text job_progress_payload(std::int32_t batch_id, std::int64_t total, const StatusCount* counts, std::size_t n,
                          CharLength char_length);

}  // namespace irp

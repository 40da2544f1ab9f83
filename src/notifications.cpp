/*
 * notifications.cpp: queuing the NOTIFY messages (see notifications.hpp).
 */
#include "notifications.hpp"

#include <optional>
#include <string_view>

extern "C" {
#include "postgres.h"
#include "commands/async.h"
#include "mb/pg_wchar.h"
}

#include "pg_guard.hpp"

namespace irp {

bool notify_enabled = true;

namespace {

/* The server encoding's character length; never raises. */
int server_char_length(const char* s) { return pg_mblen(s); }

std::optional<std::string_view> optional_text(const char* s)
{
    if (s == nullptr)
        return std::nullopt;
    return std::string_view(s);
}

void send(const char* channel, const Text& payload)
{
    pg([channel, &payload] { Async_Notify(channel, payload.c_str()); });
}

}  // namespace

void notify_batch_event(std::int64_t event_id, std::int32_t batch_id, const char* event, const char* status,
                        std::int32_t configuration_id, const char* batch_type, const char* actor)
{
    if (!notify_enabled)
        return;
    BatchEventMessage m;
    m.event_id = event_id;
    m.batch_id = batch_id;
    m.event = event != nullptr ? event : "";
    m.status = optional_text(status);
    if (configuration_id > 0)
        m.configuration_id = configuration_id;
    m.batch_type = optional_text(batch_type);
    m.actor = actor != nullptr ? actor : "";
    send(batch_events_channel, batch_event_payload(m, server_char_length));
}

void notify_job_progress(std::int32_t batch_id, std::int64_t total, const StatusCount* counts, std::size_t n)
{
    if (!notify_enabled)
        return;
    send(job_progress_channel, job_progress_payload(batch_id, total, counts, n, server_char_length));
}

}  // namespace irp

/*
 * notifications.hpp: the two NOTIFY channels (docs/notifications.md).
 *
 *   irp_batch_events  one message per audit event (irp_batch_event row)
 *   irp_job_progress  one message per batch per statement on irp_job, with
 *                     the batch's job counts by status
 *
 * Messages are kept with the writing transaction and handed to Async_Notify
 * as it commits (XACT_EVENT_PRE_COMMIT), so PostgreSQL delivers them at
 * commit; they are dropped when the transaction, or the subtransaction that
 * queued them, rolls back, and when it ends with PREPARE TRANSACTION (which
 * PostgreSQL would refuse after a NOTIFY). Nothing is queued while the
 * setting irp_batch.notify is off. The payloads are built by payload.hpp,
 * which keeps them under PostgreSQL's 8000-byte limit.
 * Each function goes through pg() itself.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "rules/payload.hpp"

namespace irp {

/* The setting irp_batch.notify (registered in irp_batch.cpp, defined in notifications.cpp). */
extern bool notify_enabled;

constexpr const char* batch_events_channel = "irp_batch_events";
constexpr const char* job_progress_channel = "irp_job_progress";

/*
 * Queues the irp_batch_events message of one audit event. status and
 * batch_type may be nullptr, and configuration_id 0 (not a valid id), for
 * an adopted row that lacks them: they are sent as JSON null.
 */
void notify_batch_event(std::int64_t event_id, std::int32_t batch_id, const char* event, const char* status,
                        std::int32_t configuration_id, const char* batch_type, const char* actor);

/* Queues the irp_job_progress message of one batch: its total and its counts in enum order. */
void notify_job_progress(std::int32_t batch_id, std::int64_t total, const StatusCount* counts, std::size_t n);

}  // namespace irp

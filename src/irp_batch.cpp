/*
 * irp_batch.cpp: the module's magic block, and a map of the sources.
 *
 *   pg_guard.*        the C++/PostgreSQL boundary: entry_point(), pg(), errors
 *   pg_memory.hpp     C++ containers on palloc
 *   problem.hpp       errors of our own, as data
 *   batch_rules.*     the duplicate rules and every error text (plain C++)
 *   queries.*         the SQL run through SPI, prepared once per backend
 *   sql_args.*        reading and validating SQL arguments
 *   batch_table.*     the check that a trigger fires on the extension's irp_batch
 *   key_claim.*       race-safe probe of a key's active batches: claim lock, dirty snapshot
 *   request_claim.*   a create's request_id: its lock, the batch an earlier attempt made
 *   batch_guard.cpp   BEFORE INSERT/UPDATE trigger: the duplicate guard
 *   batch_audit.*     statement triggers: the audit trail
 *   event_guard.cpp   statement trigger on irp_batch_event: only its owner writes it
 *   drop_warning.cpp  event trigger: DROP EXTENSION ... CASCADE warns that the tables lose the guard
 *   drop_guard.cpp    1.x event trigger: no DROP EXTENSION while the (member) tables hold rows
 *   create_batch.cpp, cancel_batch.cpp, active_batches.cpp, preflight.cpp,
 *   ensure_batch.cpp: the SQL API
 *   new_batch.*       shared by create and ensure: jobs argument, INSERTs
 *   result_set.*      rows of the set-returning functions
 *   payload.*         the NOTIFY payloads, bounded (plain C++)
 *   notifications.*   queuing them: channels irp_batch_events, irp_job_progress
 *   job_progress.cpp  statement triggers on irp_job: one progress message per batch
 *   status_queries.*  the SQL of progress, staleness and job counts
 *   status_text.*     their texts: idle times, preflight messages, errors (plain C++)
 *   batch_progress.cpp  irp_batch_progress, irp_stale_batches
 */
#include <climits>

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;
}

namespace irp {
extern bool confirm_drop;
extern bool notify_enabled; /* notifications.cpp */
extern int stale_after_seconds; /* batch_progress.cpp */
}

extern "C" {

void _PG_init(void);

/* Module load: the extension's settings (irp_batch.confirm_drop serves databases still at 1.1 or 1.2). */
void _PG_init(void)
{
    DefineCustomBoolVariable("irp_batch.confirm_drop",
                             "Allows dropping the irp_batch extension 1.1 or 1.2 while its tables hold rows.",
                             "In versions 1.1 and 1.2 DROP EXTENSION irp_batch deletes every batch, job and audit "
                             "event; without this setting it is refused while any exist. From 2.0 it deletes no row.",
                             &irp::confirm_drop, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    /* issue 16: live batch status (README, "Notifications" and "Progress and stale batches"). */
    DefineCustomBoolVariable("irp_batch.notify",
                             "Sends a NOTIFY on irp_batch_events for every audit event, and on irp_job_progress "
                             "for every batch whose jobs a statement changes.",
                             "Off: neither channel gets a message from this session's changes.",
                             &irp::notify_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("irp_batch.stale_after",
                            "How long an active batch may go without a change to it or its jobs before it is stale.",
                            "Used by irp_batch_progress() and irp_batch_preflight(); a duration such as 1d, 26h "
                            "or 90min (a number alone is seconds).",
                            &irp::stale_after_seconds, 86400, 1, INT_MAX, PGC_USERSET, GUC_UNIT_S, nullptr,
                            nullptr, nullptr);
    MarkGUCPrefixReserved("irp_batch");
}

}

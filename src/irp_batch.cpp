/*
 * irp_batch.cpp: the module's magic block and its settings (GUCs).
 * docs/design.md has the map of the sources.
 */
#include <climits>

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;
}

#include "notifications.hpp"
#include "status_queries.hpp"

namespace irp {
extern bool confirm_drop; /* drop_guard.cpp, for databases still at 1.1 or 1.2 */
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
    /* Live batch status (docs/notifications.md; irp_batch_progress in docs/reference.md). */
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

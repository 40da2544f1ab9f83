/*
 * status_queries.hpp: the SQL of live batch status (issue 16): job counts
 * for the irp_job_progress notifications, irp_batch_progress(),
 * irp_stale_batches() and the stale columns of irp_batch_preflight().
 * Prepared once per backend like queries.hpp's, with every name qualified.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "executor/spi.h"
}

namespace irp {

enum class StatusQuery {
    /* Job counts by status of the batches a statement on irp_job changed:
     * rows (batch_id, status text, count), by batch_id then enum order; a
     * batch without jobs has one row with a NULL status and count 0. */
    JobCountsInsert,   /* transition table new_rows */
    JobCountsUpdate,   /* old_rows and new_rows: jobs whose status or batch_id changed */
    JobCountsDelete,   /* old_rows */
    BatchProgress,     /* irp_batch_progress($1 batch ids, $2 stale after, seconds) */
    StaleBatches,      /* irp_stale_batches($1 older_than interval) */
    PreflightStale,    /* irp_batch_preflight($1 configuration_id, $2 batch types, $3 stale after, seconds):
                        * its 2.0 columns, last_change, stale, and the seconds since last_change */
    Count_
};

/* The setting irp_batch.stale_after, in seconds (registered in irp_batch.cpp, defined in batch_progress.cpp). */
extern int stale_after_seconds;

/* The prepared plan of q for the extension in schema nsp; inside SPI. */
SPIPlanPtr prepared(StatusQuery q, Oid nsp);

}  // namespace irp

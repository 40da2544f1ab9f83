/*
 * queries.hpp: the SQL the extension runs through SPI, prepared once per
 * backend and schema. Every name in it is qualified with the extension's
 * schema or pg_catalog, so the caller's search_path is never consulted.
 * Each function here goes through pg() itself: callers need no guard.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "executor/spi.h"
}

#include <cstdint>

namespace irp {

/* The statements, by purpose. */
enum class Query {
    ActiveConflict,          /* the active batch a key's new batch conflicts with (rule 3 order) */
    BatchKey,                /* configuration_id and batch_type of one batch, locked FOR SHARE */
    BatchExists,             /* whether one batch is visible */
    FirstDuplicate,          /* an intentional duplicate of one batch */
    InsertBatch,             /* irp_create_batch: the batch */
    InsertJobs,              /* irp_create_batch: its jobs, in array order */
    LockBatch,               /* irp_cancel_batch: lock the batch, read its status */
    CancelJobs,              /* irp_cancel_batch: cancel unfinished jobs, summarise them */
    CancelBatch,             /* irp_cancel_batch: the batch row */
    ActiveForConfig,         /* irp_get_active_batches_for_config, every type */
    ActiveForConfigAndType,  /* irp_get_active_batches_for_config, one type */
    Preflight,               /* irp_batch_preflight */
    RowCounts,               /* rows in the three tables (the 1.x drop guard) */
    AuditInsert,             /* audit trigger, per statement */
    AuditUpdate,
    AuditDelete,
    AuditTruncate,
    LockDuplicateTarget,     /* allow_duplicate: the batch chosen as duplicate_of, locked FOR SHARE, with its status */
    RequestBatch,            /* a request_id's batch, and whether the call asks for the same */
    InsertBatchRequest,      /* irp_create_batch, irp_ensure_batch with a request_id: the batch */
    AuditInsertRequest,      /* audit trigger, per statement, on a table with request_id */
    LockTakenId,             /* the guard: the batch an INSERT's taken id names, locked FOR NO KEY UPDATE */
    Count_
};

/*
 * The prepared plan of q for the extension installed in schema nsp.
 * Inside an SPI connection.
 */
SPIPlanPtr prepared(Query q, Oid nsp);

/* Where a statement's plan is kept; statements kept in other files (status_queries.cpp) have their own. */
struct PlanSlot {
    SPIPlanPtr plan = nullptr;
    std::uint64_t generation = 0;
};
/* The plan of sql (with @extschema@) for schema nsp, prepared into slot once per backend and schema name. */
SPIPlanPtr prepared(PlanSlot& slot, const char* sql, int nargs, const Oid* types, Oid nsp);

/*
 * While in scope, SQL runs with the privileges of role (as PostgreSQL's
 * foreign-key triggers run theirs as the table's owner). The previous user
 * comes back at scope exit, and on error with the (sub)transaction's abort.
 */
class RunAs {
public:
    explicit RunAs(Oid role) noexcept;
    ~RunAs();
    RunAs(const RunAs&) = delete;
    RunAs& operator=(const RunAs&) = delete;

private:
    Oid saved_user_;
    int saved_context_;
};

/* The owner of relation relid; call through pg(). */
Oid relation_owner(Oid relid);

/*
 * Connects to SPI. The rule for every caller: spi_finish() on the way out of
 * a call that succeeds, and never before throwing. A call that fails leaves
 * its connection to the abort of its (sub)transaction, which closes it
 * (AtEOXact_SPI, AtEOSubXact_SPI) as it does after an error in any PL
 * function. Anything an error reports is copied out of SPI's memory first
 * (Text is palloc'd in the transaction's context).
 */
void spi_connect();

/* Runs a prepared plan and returns the number of rows. */
std::uint64_t spi_run(SPIPlanPtr plan, Datum* values, const char* nulls, bool read_only, long limit);

/*
 * Runs a prepared plan with a snapshot taken now, not the transaction's:
 * under REPEATABLE READ it still sees what other transactions committed
 * since. PostgreSQL's foreign-key checks read with such a snapshot too, but
 * also pass the transaction's snapshot as a crosscheck, which turns a row it
 * cannot see into a serialization failure. This passes none: a caller that
 * must not act on a row its transaction cannot see checks that itself (the
 * guard's duplicate_of check raises 40001, batch_guard.cpp).
 */
std::uint64_t spi_run_latest(SPIPlanPtr plan, Datum* values, const char* nulls, long limit);

/* Column col (1-based) of row of the last result. */
Datum spi_value(std::uint64_t row, int col, bool* isnull);

/* Column col of row of the last result as text; "" for NULL. Lives until spi_finish(). */
const char* spi_text(std::uint64_t row, int col);

/* Disconnects from SPI. */
void spi_finish();

}  // namespace irp

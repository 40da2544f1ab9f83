/*
 * batch_table.hpp: the irp_batch table a trigger fires on, verified once per
 * statement: it must be the extension's own irp_batch, with the columns and
 * types the triggers read.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "storage/lockdefs.h"
#include "utils/rel.h"
}

#include <string_view>

#include "rules/problem.hpp"

namespace irp {

/* The extension's schema and the attribute numbers the guard reads. */
struct BatchTable {
    Oid nsp;
    Oid relid;
    int id;
    int configuration_id;
    int batch_type;
    int status;
    int duplicate_of;
    int request_id; /* 0 in a database still at 1.x, whose table has no such column */
    int step_id;       /* 0 if missing or not an integer (the audit then writes with SQL) */
    int cancel_reason; /* 0 if missing or not text (likewise) */
    int created_ts;    /* 0 if missing or not a timestamp (irp_get_active_batches_for_config then runs its query) */
    bool created_ts_local; /* created_ts is timestamp without time zone (tables adopted from the IRP helpers) */
};

/*
 * The extension's schema has no table irp_batch (SQLSTATE 55000): CREATE
 * EXTENSION skipped the tables, as in a restore, or they were dropped.
 */
Problem tables_not_set_up(Oid nsp, Origin where = Origin::here());

/*
 * The extension's irp_batch lacks a column it reads, or has it with another
 * type (SQLSTATE 55000).
 */
Problem not_the_batch_table(Oid nsp, Origin where = Origin::here());

/*
 * Opens the irp_batch of the extension in schema nsp with lockmode and reads
 * its layout. Throws tables_not_set_up() if there is none, also when it is
 * dropped while this backend waits for the lock; the layout's relid is
 * InvalidOid if the table lacks a column the triggers read.
 */
struct BatchHeap {
    Relation rel;
    BatchTable columns;
};
BatchHeap open_batch_heap(Oid nsp, LOCKMODE lockmode);

/* The layout of rel if it is the irp_batch of the extension in schema nsp (relid InvalidOid if not). Call through pg(). */
BatchTable batch_columns(Relation rel, Oid nsp);

/*
 * Checks that the trigger function in fcinfo fires on its extension's
 * irp_batch (else a trigger-protocol error) and returns the table's layout,
 * cached in the function's fn_extra for the rest of the statement.
 */
const BatchTable& batch_table(FunctionCallInfo fcinfo, Relation rel, std::string_view trigger_function);

}  // namespace irp

/*
 * batch_table.hpp: the irp_batch table a trigger fires on, verified once per
 * statement: it must be the extension's own irp_batch, with the columns and
 * types the triggers read.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/rel.h"
}

#include <string_view>

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
};

/* The layout of rel if it is the irp_batch of the extension in schema nsp (relid InvalidOid if not). Call through pg(). */
BatchTable batch_columns(Relation rel, Oid nsp);

/*
 * Checks that the trigger function in fcinfo fires on its extension's
 * irp_batch (else a trigger-protocol error) and returns the table's layout,
 * cached in the function's fn_extra for the rest of the statement.
 */
const BatchTable& batch_table(FunctionCallInfo fcinfo, Relation rel, std::string_view trigger_function);

}  // namespace irp

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

#include <cstdint>
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
    Oid active_index; /* idx_batch_active, InvalidOid if missing (the guard says so when it needs it) */
    Oid id_sequence;  /* in a COPY by the owner: the sequence behind id (identity or serial), if any */
    bool by_owner;    /* the statement is a COPY by a role with the table owner's privileges */
};

/*
 * Whether a row the statement inserts with this id is restored history: the
 * table owner (or a superuser) loading, with COPY, an id beyond the position
 * of the id sequence, as a restore of pg_dump's output (pg_restore, or psql
 * -f) does before it sets the sequences.
 * Such rows are not checked by the guard and get no audit event: their
 * events are restored with them. Other roles never load history.
 */
bool restoring_row(const BatchTable& table, std::int32_t id);

/*
 * The highest id of the statement's rows that are not restored history
 * (restoring_row): every id for other roles.
 */
std::int64_t restore_threshold(const BatchTable& table);

/*
 * Checks that the trigger function in fcinfo fires on its extension's
 * irp_batch (else a trigger-protocol error) and returns the table's layout,
 * cached in the function's fn_extra for the rest of the statement.
 */
const BatchTable& batch_table(FunctionCallInfo fcinfo, Relation rel, std::string_view trigger_function);

}  // namespace irp

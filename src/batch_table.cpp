/*
 * batch_table.cpp: verifying the table a trigger fires on.
 */
#include "batch_table.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
}

#include <limits>

#include "batch_rules.hpp"
#include "pg_guard.hpp"

namespace irp {

namespace {

/* Attribute number of column name, if it exists with an acceptable type; else 0. Call through pg(). */
int column(TupleDesc desc, const char* name, Oid type, Oid other_type = InvalidOid)
{
    const int attnum = SPI_fnumber(desc, name);
    if (attnum <= 0)
        return 0;
    const Oid actual = TupleDescAttr(desc, attnum - 1)->atttypid;
    if (actual == type || actual == other_type)
        return attnum;
    if (type == InvalidOid && get_typtype(actual) == TYPTYPE_ENUM)
        return attnum; /* status: the extension's batch_status_enum */
    return 0;
}

/* The sequence that numbers column attnum of relid, or InvalidOid; call through pg(). */
Oid column_sequence(Oid relid, int attnum)
{
    List* sequences = getOwnedSequences(relid);
    ListCell* cell;
    foreach (cell, sequences) {
        const Oid sequence = lfirst_oid(cell);
        Oid table = InvalidOid;
        int32 column = 0;
        if ((sequenceIsOwned(sequence, DEPENDENCY_INTERNAL, &table, &column) ||
             sequenceIsOwned(sequence, DEPENDENCY_AUTO, &table, &column)) &&
            column == attnum)
            return sequence;
    }
    return InvalidOid;
}

/* Whether the client's statement is a COPY (pg_dump's data, restored by pg_restore or psql). */
bool in_copy() noexcept
{
    return ActivePortal != nullptr && ActivePortal->commandTag == CMDTAG_COPY;
}

/* The last value the sequence gave out; -1 if it never gave one. Call through pg(). */
std::int64_t sequence_position(Oid sequence)
{
    LOCAL_FCINFO(call, 1);
    InitFunctionCallInfoData(*call, nullptr, 1, InvalidOid, nullptr, nullptr);
    call->args[0].value = ObjectIdGetDatum(sequence);
    call->args[0].isnull = false;
    const Datum last = pg_sequence_last_value(call);
    return call->isnull ? -1 : DatumGetInt64(last);
}

}  // namespace

bool restoring_row(const BatchTable& table, std::int32_t id)
{
    if (!table.by_owner || !OidIsValid(table.id_sequence) || !in_copy())
        return false;
    return id > pg([&table] { return sequence_position(table.id_sequence); });
}

std::int64_t restore_threshold(const BatchTable& table)
{
    if (!table.by_owner || !OidIsValid(table.id_sequence) || !in_copy())
        return std::numeric_limits<std::int64_t>::max();
    return pg([&table] { return sequence_position(table.id_sequence); });
}

const BatchTable& batch_table(FunctionCallInfo fcinfo, Relation rel, std::string_view trigger_function)
{
    FmgrInfo* const flinfo = fcinfo->flinfo;
    const Oid relid = RelationGetRelid(rel);
    const auto* cached = static_cast<const BatchTable*>(flinfo->fn_extra);
    if (cached != nullptr && cached->relid == relid)
        return *cached;

    const BatchTable table = pg([&] {
        BatchTable t{};
        t.nsp = get_func_namespace(flinfo->fn_oid);
        if (get_relname_relid("irp_batch", t.nsp) != relid)
            return t;
        const TupleDesc desc = RelationGetDescr(rel);
        t.id = column(desc, "id", INT4OID);
        t.configuration_id = column(desc, "configuration_id", INT4OID);
        t.batch_type = column(desc, "batch_type", VARCHAROID, TEXTOID);
        t.status = column(desc, "status", InvalidOid);
        t.duplicate_of = column(desc, "duplicate_of", INT4OID);
        t.active_index = get_relname_relid("idx_batch_active", t.nsp);
        /* Only a COPY can load restored history: other statements skip the look-ups. */
        t.by_owner = in_copy() && has_privs_of_role(GetUserId(), rel->rd_rel->relowner);
        t.id_sequence = t.by_owner && t.id != 0 ? column_sequence(relid, t.id) : InvalidOid;
        if (t.id && t.configuration_id && t.batch_type && t.status && t.duplicate_of)
            t.relid = relid;
        return t;
    });
    if (table.relid == InvalidOid) {
        throw trigger_misuse(
            concat_parts({trigger_function, "() fires only on the irp_batch table of the irp_batch extension"}),
            "The table it fired on is another table, or lacks a column the extension needs.");
    }
    return *pg([&] {
        auto* copy = static_cast<BatchTable*>(MemoryContextAlloc(flinfo->fn_mcxt, sizeof(BatchTable)));
        *copy = table;
        flinfo->fn_extra = copy;
        return copy;
    });
}

}  // namespace irp

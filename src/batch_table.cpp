/*
 * batch_table.cpp: verifying the table a trigger fires on.
 */
#include "batch_table.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/pg_type_d.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
}

#include "rules/text.hpp"
#include "rules/problem.hpp"
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

}  // namespace

namespace {

/* The name of schema nsp, quoted as an identifier for a message, or "(dropped)". */
const char* quoted_schema(Oid nsp)
{
    return pg([nsp] {
        const char* name = get_namespace_name(nsp);
        return name != nullptr ? quote_identifier(name) : "(dropped)";
    });
}

}  // namespace

Problem tables_not_set_up(Oid nsp, Origin where)
{
    const char* schema = quoted_schema(nsp);
    Problem p(Code::ObjectNotInPrerequisiteState, concat_parts({"irp_batch has no tables in schema ", schema}), where);
    p.detail = Text("CREATE EXTENSION makes them unless the session has row_security set to off, as a restore of a "
                    "dump does (the dump brings them); or they were dropped.");
    p.hint = concat_parts({"SELECT ", schema, ".irp_batch_setup(); creates them, or attaches to existing ones."});
    p.schema = Text(schema);
    return p;
}

Problem not_the_batch_table(Oid nsp, Origin where)
{
    const char* schema = quoted_schema(nsp);
    Problem p(Code::ObjectNotInPrerequisiteState,
              concat_parts({"table ", schema, ".irp_batch is not the table the irp_batch extension needs"}), where);
    p.detail = Text("It lacks one of the columns id, configuration_id, batch_type, status and duplicate_of, or has "
                    "one with another type.");
    p.hint = Text("docs/adoption.md lists the columns the extension needs.");
    p.schema = Text(schema);
    p.table = "irp_batch";
    return p;
}

BatchHeap open_batch_heap(Oid nsp, LOCKMODE lockmode)
{
    /* By name, so that a table dropped while the lock is awaited is looked up again (RangeVarGetRelidExtended). */
    const BatchHeap heap = pg([&] {
        BatchHeap h{nullptr, BatchTable{}};
        const char* name = get_namespace_name(nsp);
        if (name != nullptr)
            h.rel = table_openrv_extended(makeRangeVar(const_cast<char*>(name), const_cast<char*>("irp_batch"), -1),
                                          lockmode, true);
        if (h.rel != nullptr)
            h.columns = batch_columns(h.rel, nsp);
        return h;
    });
    if (heap.rel == nullptr)
        throw tables_not_set_up(nsp);
    return heap;
}

BatchTable batch_columns(Relation rel, Oid nsp)
{
    BatchTable t{};
    t.nsp = nsp;
    const Oid relid = RelationGetRelid(rel);
    if (get_relname_relid("irp_batch", nsp) != relid)
        return t;
    const TupleDesc desc = RelationGetDescr(rel);
    t.id = column(desc, "id", INT4OID);
    t.configuration_id = column(desc, "configuration_id", INT4OID);
    t.batch_type = column(desc, "batch_type", VARCHAROID, TEXTOID);
    t.status = column(desc, "status", InvalidOid);
    t.duplicate_of = column(desc, "duplicate_of", INT4OID);
    t.request_id = column(desc, "request_id", UUIDOID);
    t.step_id = column(desc, "step_id", INT4OID);
    t.cancel_reason = column(desc, "cancel_reason", TEXTOID);
    t.created_ts = column(desc, "created_ts", TIMESTAMPTZOID, TIMESTAMPOID);
    t.created_ts_local = t.created_ts != 0 && TupleDescAttr(desc, t.created_ts - 1)->atttypid == TIMESTAMPOID;
    if (t.id && t.configuration_id && t.batch_type && t.status && t.duplicate_of)
        t.relid = relid;
    return t;
}

const BatchTable& batch_table(FunctionCallInfo fcinfo, Relation rel, std::string_view trigger_function)
{
    FmgrInfo* const flinfo = fcinfo->flinfo;
    const Oid relid = RelationGetRelid(rel);
    const auto* cached = static_cast<const BatchTable*>(flinfo->fn_extra);
    if (cached != nullptr && cached->relid == relid)
        return *cached;

    const BatchTable table = pg([&] { return batch_columns(rel, get_func_namespace(flinfo->fn_oid)); });
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

/*
 * active_batches.cpp: irp_get_active_batches_for_config(configuration_id,
 * batch_type), the active batches of a configuration, newest first.
 *
 * The rows come from one scan of idx_batch_active and, per batch, one of
 * idx_job_batch_id, read with the statement's snapshot as the query would
 * (the function is STABLE). Where that would not read what the query reads
 * (row-level security on either table, a missing SELECT privilege, either
 * index missing, not yet valid, or partial in a way that leaves out rows the
 * query reads) it runs the query through SPI instead.
 */
#include <algorithm>

extern "C" {
#include "postgres.h"
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type_d.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "rules/guard_rules.hpp"
#include "batch_table.hpp"
#include "enum_labels.hpp"
#include "pg_guard.hpp"
#include "pg_memory.hpp"
#include "queries.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"
#include "usable_index.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_get_active_batches_for_config";

/* One result row. */
struct ActiveRow {
    std::int32_t id;
    Datum batch_type; /* text, copied */
    Datum status;     /* text */
    Datum created_ts; /* timestamptz */
    bool created_null;
    std::int64_t job_count;
    std::int32_t duplicate_of;
    bool duplicate_of_null;
};

/*
 * Whether index holds every active row (status INITIATED or ACTIVE) of
 * heap: it has no predicate, or one that the query's own condition on
 * status implies, as the planner decides when it may use a partial index.
 */
bool holds_active_rows(Relation index, Relation heap, AttrNumber status)
{
    List* predicate = RelationGetIndexPredicate(index);
    if (predicate == NIL)
        return true;
    const Oid enum_type = TupleDescAttr(RelationGetDescr(heap), status - 1)->atttypid;
    const Oid array_type = get_array_type(enum_type);
    const TypeCacheEntry* type = lookup_type_cache(enum_type, TYPECACHE_EQ_OPR);
    if (!OidIsValid(array_type) || !OidIsValid(type->eq_opr))
        return false;
    Datum labels[2];
    const char* names[] = {"INITIATED", "ACTIVE"};
    for (int i = 0; i < 2; ++i) {
        HeapTuple tuple = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(enum_type), CStringGetDatum(names[i]));
        if (!HeapTupleIsValid(tuple))
            return false;
        labels[i] = ObjectIdGetDatum(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple))->oid);
        ReleaseSysCache(tuple);
    }
    ArrayType* array = construct_array(labels, 2, enum_type, sizeof(Oid), true, TYPALIGN_INT);
    ScalarArrayOpExpr* active = makeNode(ScalarArrayOpExpr);
    active->opno = type->eq_opr;
    active->opfuncid = get_opcode(type->eq_opr);
    active->useOr = true;
    active->inputcollid = InvalidOid;
    active->args = list_make2(makeVar(1, status, enum_type, -1, InvalidOid, 0),
                              makeConst(array_type, -1, InvalidOid, -1, PointerGetDatum(array), false, false));
    active->location = -1;
    return predicate_implied_by(predicate, list_make1(active), false);
}

/* Whether the current user reads rel as the query would: SELECT granted, no row-level security. */
bool readable_as_query(Relation rel)
{
    const Oid relid = RelationGetRelid(rel);
    return pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
           check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

/* The number of jobs of batch id that snapshot sees, through idx_job_batch_id. */
std::int64_t job_count(Relation jobs, Relation index, Snapshot snapshot, TupleTableSlot* slot, std::int32_t id)
{
    ScanKeyData key;
    ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_INT4EQ,
                           Int32GetDatum(id));
    IndexScanDesc scan = index_beginscan(jobs, index, snapshot, 1, 0);
    index_rescan(scan, &key, 1, nullptr, 0);
    std::int64_t n = 0;
    while (index_getnext_slot(scan, ForwardScanDirection, slot))
        ++n;
    index_endscan(scan);
    return n;
}

/*
 * Reads the active batches of the key into rows, or returns false if the
 * query must run instead. batch_type 0: every type. Call through pg().
 */
bool read_directly(Oid nsp, std::int32_t configuration_id, Datum batch_type, Vector<ActiveRow>& rows)
{
    const Oid batches_oid = get_relname_relid("irp_batch", nsp);
    const Oid jobs_oid = get_relname_relid("irp_job", nsp);
    if (!OidIsValid(batches_oid) || !OidIsValid(jobs_oid))
        return false;
    Relation batches = table_open(batches_oid, AccessShareLock);
    Relation jobs = table_open(jobs_oid, AccessShareLock);
    const BatchTable t = batch_columns(batches, nsp);
    const AttrNumber job_batch_id = get_attnum(jobs_oid, "batch_id");
    const AttrNumber created = static_cast<AttrNumber>(t.created_ts);
    Relation active = nullptr, by_batch = nullptr;
    bool ok = t.relid != InvalidOid && job_batch_id > 0 && created > 0 &&
              readable_as_query(batches) && readable_as_query(jobs) &&
              (active = open_usable_index(nsp, "idx_batch_active", batches, static_cast<AttrNumber>(t.configuration_id))) != nullptr &&
              holds_active_rows(active, batches, static_cast<AttrNumber>(t.status)) &&
              (by_batch = open_usable_index(nsp, "idx_job_batch_id", jobs, job_batch_id)) != nullptr &&
              RelationGetIndexPredicate(by_batch) == NIL &&
              (batch_type == 0 || (active->rd_index->indnkeyatts >= 2 && active->rd_index->indkey.values[1] == t.batch_type));
    if (ok) {
        const Snapshot snapshot = GetActiveSnapshot();
        TupleTableSlot* slot = table_slot_create(batches, nullptr);
        TupleTableSlot* job_slot = table_slot_create(jobs, nullptr);
        ScanKeyData keys[2];
        ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, active->rd_indcollation[0], F_INT4EQ,
                               Int32GetDatum(configuration_id));
        if (batch_type != 0)
            ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid, active->rd_indcollation[1],
                                   F_TEXTEQ, batch_type);
        const int nkeys = batch_type != 0 ? 2 : 1;
        IndexScanDesc scan = index_beginscan(batches, active, snapshot, nkeys, 0);
        index_rescan(scan, keys, nkeys, nullptr, 0);
        while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
            bool isnull = false;
            const Datum status = slot_getattr(slot, t.status, &isnull);
            if (isnull || !is_active(batch_status_of(status)))
                continue; /* the index's predicate already says so; as the query's WHERE */
            ActiveRow r{};
            r.id = DatumGetInt32(slot_getattr(slot, t.id, &isnull));
            r.batch_type = PointerGetDatum(PG_DETOAST_DATUM_COPY(slot_getattr(slot, t.batch_type, &isnull)));
            r.status = CStringGetTextDatum(enum_label(status).text);
            r.created_ts = slot_getattr(slot, created, &r.created_null);
            if (!r.created_null && t.created_ts_local)
                r.created_ts = DirectFunctionCall1(timestamp_timestamptz, r.created_ts);
            r.duplicate_of = DatumGetInt32(slot_getattr(slot, t.duplicate_of, &r.duplicate_of_null));
            r.job_count = job_count(jobs, by_batch, snapshot, job_slot, r.id);
            rows.push_back(r);
        }
        index_endscan(scan);
        ExecDropSingleTupleTableSlot(slot);
        ExecDropSingleTupleTableSlot(job_slot);
    }
    if (by_batch != nullptr)
        index_close(by_batch, NoLock);
    if (active != nullptr)
        index_close(active, NoLock);
    table_close(jobs, NoLock);
    table_close(batches, NoLock);
    return ok;
}

/* The query's order: created_ts DESC (NULLs first, as DESC puts them), then id DESC. */
bool newer(const ActiveRow& a, const ActiveRow& b)
{
    if (a.created_null != b.created_null)
        return a.created_null;
    if (!a.created_null) {
        const TimestampTz x = DatumGetTimestampTz(a.created_ts), y = DatumGetTimestampTz(b.created_ts);
        if (x != y)
            return x > y;
    }
    return a.id > b.id;
}

/* The function's body. */
Datum active_batches(FunctionCallInfo fcinfo)
{
    const std::int32_t configuration_id = id_arg(fcinfo, 0, function_name, "configuration_id");
    const bool by_type = !arg_is_null(fcinfo, 1);
    Datum args[] = {Int32GetDatum(configuration_id), 0};
    if (by_type)
        args[1] = batch_type_arg(fcinfo, 1, function_name).datum;
    const Oid nsp = function_schema(fcinfo);

    begin_result_set(fcinfo);
    /* A database still at 1.x declares status as the enum: its rows come from the query (result_set.cpp). */
    const bool text_status = pg([fcinfo] {
        const TupleDesc desc = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo)->setDesc;
        return desc->natts == 6 && TupleDescAttr(desc, 2)->atttypid == TEXTOID;
    });
    Vector<ActiveRow> rows;
    if (text_status && pg([&] { return read_directly(nsp, configuration_id, args[1], rows); })) {
        std::sort(rows.begin(), rows.end(), newer);
        for (const ActiveRow& r : rows) {
            Datum values[] = {Int32GetDatum(r.id), r.batch_type, r.status, r.created_ts, Int64GetDatum(r.job_count),
                              Int32GetDatum(r.duplicate_of)};
            bool nulls[] = {false, false, false, r.created_null, false, r.duplicate_of_null};
            put_row(fcinfo, values, nulls);
        }
        return Datum(0);
    }
    spi_connect();
    const Query q = by_type ? Query::ActiveForConfigAndType : Query::ActiveForConfig;
    const std::uint64_t rows_read = spi_run(prepared(q, nsp), args, nullptr, true, 0);
    put_spi_rows(fcinfo, rows_read);
    spi_finish();
    return Datum(0);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_get_active_batches_for_config);

/* irp_get_active_batches_for_config(integer, text) RETURNS TABLE (...) */
Datum irp_get_active_batches_for_config(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::active_batches(fcinfo); });
}

}

/*
 * job_progress.cpp: the AFTER INSERT/UPDATE/DELETE statement triggers on
 * irp_job that send one irp_job_progress notification per batch whose jobs
 * the statement changed (a job inserted or deleted, or its status or
 * batch_id updated), with the batch's job counts by status after the
 * statement. The counts are read through idx_job_batch_id, batch by batch,
 * with a snapshot taken after the statement; where that cannot be done (an
 * UPDATE that changed ids, the index missing, being built or partial) one
 * query per statement reads the counts of all those batches.
 */
extern "C" {
#include "postgres.h"
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
}

#include <algorithm>

#include "rules/problem.hpp"
#include "enum_labels.hpp"
#include "notifications.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "status_queries.hpp"
#include "transition_rows.hpp"
#include "usable_index.hpp"

namespace irp {

namespace {

/* ---- Counting without SQL ---- */

/* The columns of irp_job the counts read. */
struct JobColumns {
    AttrNumber id, batch_id, status;
};

/* Adds the batch_id of row, if not NULL. */
void add_batch(Vector<std::int32_t>& batches, TupleTableSlot* row, AttrNumber batch_id)
{
    bool isnull = false;
    const Datum b = slot_getattr(row, batch_id, &isnull);
    if (!isnull)
        batches.push_back(DatumGetInt32(b));
}

/*
 * The batches whose jobs the statement changed, as the SQL's JobCounts*
 * find them, into batches (sorted, each once). False when an UPDATE's old
 * and new rows do not pair up by id, in order (an UPDATE that changed ids):
 * then the SQL decides. Call through pg().
 */
bool affected_batches(TriggerData* td, const JobColumns& c, Vector<std::int32_t>& batches)
{
    const TupleDesc desc = RelationGetDescr(td->tg_relation);
    bool paired = true;
    if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
        TransitionRows old_rows(td->tg_oldtable, desc), new_rows(td->tg_newtable, desc);
        for (;;) {
            TupleTableSlot* o = old_rows.next();
            TupleTableSlot* n = new_rows.next();
            if (o == nullptr || n == nullptr) {
                paired = o == n;
                break;
            }
            bool old_null = false, new_null = false;
            const Datum old_id = slot_getattr(o, c.id, &old_null);
            const Datum new_id = slot_getattr(n, c.id, &new_null);
            if (old_null || new_null || DatumGetInt32(old_id) != DatumGetInt32(new_id)) {
                paired = false;
                break;
            }
            const Datum old_status = slot_getattr(o, c.status, &old_null);
            const Datum new_status = slot_getattr(n, c.status, &new_null);
            const bool status_changed = old_null != new_null || (!old_null && old_status != new_status);
            const Datum old_batch = slot_getattr(o, c.batch_id, &old_null);
            const Datum new_batch = slot_getattr(n, c.batch_id, &new_null);
            const bool batch_changed = old_null || new_null || DatumGetInt32(old_batch) != DatumGetInt32(new_batch);
            if (status_changed || batch_changed) {
                add_batch(batches, o, c.batch_id);
                add_batch(batches, n, c.batch_id);
            }
        }
        old_rows.close();
        new_rows.close();
    } else {
        TransitionRows rows(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_newtable : td->tg_oldtable, desc);
        while (TupleTableSlot* r = rows.next())
            add_batch(batches, r, c.batch_id);
        rows.close();
    }
    std::sort(batches.begin(), batches.end());
    batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
    return paired;
}

/* One status's count in a batch. */
struct Tally {
    Oid status;
    float4 order;
    std::int64_t n;
};

/*
 * Sends the progress message of each batch, its jobs counted through
 * idx_job_batch_id with a snapshot taken now, after this statement's
 * changes (as the SQL, run through SPI, sees them). False if that index
 * cannot be read (missing, or being built): then the SQL counts. Call
 * through pg(), as irp_job's owner.
 */
bool count_directly(Relation jobs, Oid nsp, const JobColumns& c, const Vector<std::int32_t>& batches,
                    Vector<Tally>& tallies, Vector<StatusCount>& counts)
{
    Relation index = open_usable_index(nsp, "idx_job_batch_id", jobs, c.batch_id);
    if (index == nullptr)
        return false;
    if (RelationGetIndexPredicate(index) != NIL) { /* a partial index leaves jobs out */
        index_close(index, AccessShareLock);
        return false;
    }
    CommandCounterIncrement();
    PushActiveSnapshot(GetTransactionSnapshot());
    const Snapshot snapshot = GetActiveSnapshot();
    TupleTableSlot* slot = table_slot_create(jobs, nullptr);
    for (const std::int32_t batch : batches) {
        tallies.clear();
        ScanKeyData key;
        ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_INT4EQ,
                               Int32GetDatum(batch));
        IndexScanDesc scan = index_beginscan(jobs, index, snapshot, 1, 0);
        index_rescan(scan, &key, 1, nullptr, 0);
        std::int64_t total = 0;
        while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
            ++total;
            bool isnull = false;
            const Datum status = slot_getattr(slot, c.status, &isnull);
            if (isnull)
                continue; /* counted in the total, as the SQL's NULL group is */
            const Oid oid = DatumGetObjectId(status);
            auto it = std::find_if(tallies.begin(), tallies.end(), [oid](const Tally& t) { return t.status == oid; });
            if (it != tallies.end())
                ++it->n;
            else
                tallies.push_back(Tally{oid, enum_sort_order(status), 1});
        }
        index_endscan(scan);
        /* In enum order, as ORDER BY status gives them. */
        std::sort(tallies.begin(), tallies.end(), [](const Tally& a, const Tally& b) { return a.order < b.order; });
        counts.clear();
        for (const Tally& t : tallies)
            counts.push_back(StatusCount{pstrdup(enum_label(ObjectIdGetDatum(t.status)).text), t.n});
        notify_job_progress(batch, total, counts.data(), counts.size());
    }
    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    index_close(index, NoLock);
    return true;
}

/* The trigger's body. */
Datum job_progress(FunctionCallInfo fcinfo)
{
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
        !TRIGGER_FIRED_AFTER(td->tg_event) || TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
        throw trigger_misuse("irp_job_progress() must be fired AFTER INSERT, UPDATE or DELETE FOR EACH STATEMENT");
    const Oid relid = RelationGetRelid(td->tg_relation);
    const Oid nsp = pg([fcinfo] { return get_func_namespace(fcinfo->flinfo->fn_oid); });
    if (pg([nsp] { return get_relname_relid("irp_job", nsp); }) != relid)
        throw trigger_misuse("irp_job_progress() fires only on the irp_job table of the irp_batch extension",
                             "The table it fired on is another table.");
    StatusQuery query = StatusQuery::JobCountsInsert;
    if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
        query = StatusQuery::JobCountsUpdate;
    else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
        query = StatusQuery::JobCountsDelete;
    if (!has_named_transition_tables(td)) {
        throw trigger_misuse("irp_job_progress() needs the statement's transition tables, named old_rows and new_rows",
                             {}, "Create its triggers with REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows.");
    }
    if (!notify_enabled)
        return PointerGetDatum(nullptr);

    /* Counted as the owner of irp_job: a role that may only insert jobs still notifies. */
    const Oid owner = pg([relid] { return relation_owner(relid); });
    /* Without SQL when the transition tables pair up and idx_job_batch_id can be read. */
    {
        RunAs as_owner(owner);
        /* Made here, outside pg(): a PostgreSQL error must not skip their destructors. */
        Vector<std::int32_t> batches;
        Vector<Tally> tallies;
        Vector<StatusCount> counts;
        Relation jobs = td->tg_relation;
        if (pg([&] {
                const JobColumns c{get_attnum(relid, "id"), get_attnum(relid, "batch_id"),
                                   get_attnum(relid, "status")};
                if (c.id <= 0 || c.batch_id <= 0 || c.status <= 0)
                    return false;
                if (!affected_batches(td, c, batches))
                    return false;
                return batches.empty() || count_directly(jobs, nsp, c, batches, tallies, counts);
            }))
            return PointerGetDatum(nullptr);
    }
    spi_connect();
    pg([td] {
        if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
            elog(ERROR, "irp_job_progress(): SPI_register_trigger_data failed");
    });
    std::uint64_t rows = 0;
    {
        RunAs as_owner(owner);
        rows = spi_run(prepared(query, nsp), nullptr, nullptr, false, 0); /* false: sees the statement's rows */
    }
    /* Rows come by batch, then status in enum order: one message per batch. */
    Vector<StatusCount> counts;
    for (std::uint64_t i = 0; i < rows;) {
        bool isnull = false;
        const std::int32_t batch_id = DatumGetInt32(spi_value(i, 1, &isnull));
        std::int64_t total = 0;
        counts.clear();
        for (; i < rows && DatumGetInt32(spi_value(i, 1, &isnull)) == batch_id; ++i) {
            const std::int64_t n = DatumGetInt64(spi_value(i, 3, &isnull));
            total += n;
            /* A NULL status (adopted tables may allow it) counts in the total only, as the direct count has it. */
            bool status_null = false;
            spi_value(i, 2, &status_null);
            if (n > 0 && !status_null)
                counts.push_back(StatusCount{spi_text(i, 2), n});
        }
        notify_job_progress(batch_id, total, counts.data(), counts.size());
    }
    spi_finish();
    return PointerGetDatum(nullptr);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_job_progress);

/* AFTER statement trigger on irp_job: the irp_job_progress notifications. */
Datum irp_job_progress(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::job_progress(fcinfo); });
}

}

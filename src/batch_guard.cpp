/*
 * batch_guard.cpp: the BEFORE INSERT OR UPDATE row trigger on irp_batch that
 * enforces the duplicate-batch rules (rules/guard_rules.hpp) with a descriptive error.
 */
extern "C" {
#include "postgres.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include <optional>

#include "rules/guard_rules.hpp"
#include "batch_table.hpp"
#include "enum_labels.hpp"
#include "key_claim.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"

namespace irp {

namespace {

/* One row as the guard sees it, with the batch_type Datum for queries. */
struct RowImage {
    BatchRow row;
    Datum batch_type;
    bool key_is_null; /* NULL key or status: NOT NULL reports it after the trigger */
};

/* Reads the guard's columns of tuple; call through pg(). */
RowImage read_row(HeapTuple tuple, TupleDesc desc, const BatchTable& cols)
{
    bool id_null = false, config_null = false, type_null = false, status_null = false, dup_null = false;
    RowImage image{};
    image.row.id = DatumGetInt32(heap_getattr(tuple, cols.id, desc, &id_null));
    image.row.configuration_id = DatumGetInt32(heap_getattr(tuple, cols.configuration_id, desc, &config_null));
    image.batch_type = heap_getattr(tuple, cols.batch_type, desc, &type_null);
    if (!type_null) {
        const text* t = DatumGetTextPP(image.batch_type);
        image.row.batch_type = std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
    }
    const Datum status = heap_getattr(tuple, cols.status, desc, &status_null);
    if (!status_null)
        image.row.status = batch_status_of(status);
    const Datum duplicate_of = heap_getattr(tuple, cols.duplicate_of, desc, &dup_null);
    if (!dup_null)
        image.row.duplicate_of = DatumGetInt32(duplicate_of);
    image.key_is_null = id_null || config_null || type_null || status_null;
    return image;
}

/* The name of schema nsp (empty if it is gone). */
Text schema_name(Oid nsp)
{
    const char* name = pg([nsp] { return get_namespace_name(nsp); });
    return name != nullptr ? Text(name) : Text();
}

/*
 * Rule 2: the batch named by duplicate_of must have the row's key. It is
 * locked FOR SHARE, so its key stays until this transaction ends; read with
 * a fresh snapshot, so a batch committed after a REPEATABLE READ snapshot
 * counts.
 */
std::optional<Problem> check_duplicate_target(const BatchRow& row, Oid nsp)
{
    Datum args[] = {Int32GetDatum(*row.duplicate_of)};
    if (spi_run_latest(prepared(Query::BatchKey, nsp), args, nullptr, 1) == 0) {
        /* Not left to the foreign key: it checks at the end of the statement,
         * when a row inserted later in the same statement may have that id. */
        return duplicate_of_missing(row);
    }
    bool isnull = false;
    const std::int32_t configuration_id = DatumGetInt32(spi_value(0, 1, &isnull));
    const char* batch_type = spi_text(0, 2);
    if (isnull || configuration_id != row.configuration_id || row.batch_type != batch_type)
        return duplicate_of_other_key(row, configuration_id, batch_type);
    /* PostgreSQL's foreign key check reads with the transaction's snapshot. */
    if (IsolationUsesXactSnapshot() && spi_run(prepared(Query::BatchExists, nsp), args, nullptr, false, 1) == 0)
        return duplicate_of_after_snapshot(row);
    return std::nullopt;
}

/*
 * Rule 2: a batch that changes key must not have intentional duplicates.
 * The UPDATE holds the batch's row lock, which a creator of a duplicate
 * (holding FOR SHARE on it) made it wait for; a fresh snapshot sees that
 * duplicate even under REPEATABLE READ.
 */
std::optional<Problem> check_no_duplicates(const BatchRow& row, Oid nsp)
{
    Datum args[] = {Int32GetDatum(row.id)};
    if (spi_run_latest(prepared(Query::FirstDuplicate, nsp), args, nullptr, 1) == 0)
        return std::nullopt;
    bool isnull = false;
    return moved_with_duplicates(row, DatumGetInt32(spi_value(0, 1, &isnull)));
}

/* An SPI connection made when the first check needs SQL, and only then. */
struct LazySpi {
    bool connected = false;
    void connect()
    {
        if (!connected)
            spi_connect();
        connected = true;
    }
    void finish()
    {
        if (connected)
            spi_finish();
        connected = false;
    }
};

/*
 * Locks the batch whose id an INSERT names FOR NO KEY UPDATE, the lock that
 * ON CONFLICT (id) DO UPDATE takes; false if it is gone. Without it,
 * PostgreSQL's pre-check of the arbiter index (ExecCheckIndexConstraints,
 * a dirty-snapshot scan that holds no page lock) can miss the batch while
 * another transaction's non-HOT update of it commits: PostgreSQL then
 * inserts the row speculatively, and idx_batch_unique_active, not an
 * arbiter, raises its bare 23505 against that same batch's new version
 * before the primary key's conflict can send the upsert back to its
 * update. Locked, the batch keeps its row version until this transaction
 * ends, so the pre-check finds it. Taken last, holding no claim: a claimant
 * waits for a batch's locker, so a lock taken before the key's check would
 * make two upserts of two batches of one key wait for each other.
 */
bool lock_taken_id(std::int32_t id, Oid nsp, LazySpi& spi)
{
    spi.connect();
    Datum args[] = {Int32GetDatum(id)};
    return spi_run_latest(prepared(Query::LockTakenId, nsp), args, nullptr, 1) > 0;
}

/*
 * Rule 1 and 3: no other active batch may exist for the row's key. The key is
 * claimed (key_claim.hpp) until the row is in the indexes; the batch to name
 * is read with a fresh snapshot, which sees what the probe saw. An INSERT
 * whose id is taken will not insert its row (ON CONFLICT (id) updates that
 * batch instead): its row is still checked, then the claim goes and the
 * batch is locked (lock_taken_id); if that batch is gone by then, the row
 * will be inserted after all, and is checked again keeping the claim.
 */
std::optional<Problem> check_conflict(const RowImage& image, const KeySpace& space, Oid nsp, bool is_insert,
                                      LazySpi& spi)
{
    bool id_in_use = is_insert && id_taken(space, image.row.id);
    for (;;) {
        /* The common case, no active batch of the key, needs no SQL. */
        bool conflict = claim_key(space, image.row.configuration_id, image.batch_type, image.row.id);
        if (conflict) {
            spi.connect();
            conflict = claim_and_read_active(space, nsp, image.row.configuration_id, image.batch_type, image.row.id);
        }
        if (conflict) {
            if (id_in_use)
                end_claim(ClaimEnd::RowNotInserted);
            break;
        }
        if (!id_in_use)
            return std::nullopt; /* the claim stays until the row is in the indexes */
        /* Lock order: a batch's row lock is never waited for while holding a claim. */
        end_claim(ClaimEnd::RowLockWait);
        if (lock_taken_id(image.row.id, nsp, spi))
            return std::nullopt;
        id_in_use = false;
    }
    bool isnull = false;
    ExistingBatch existing;
    existing.id = DatumGetInt32(spi_value(0, 1, &isnull));
    existing.status = spi_text(0, 2);
    existing.created_at = spi_text(0, 3);
    existing.created_by = spi_text(0, 4);
    existing.job_count = DatumGetInt64(spi_value(0, 5, &isnull));
    return duplicate_batch(image.row.configuration_id, image.row.batch_type, existing);
}

/* The trigger's body. */
Datum guard_row(FunctionCallInfo fcinfo)
{
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
        !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
        !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event))) {
        throw trigger_misuse("irp_batch_guard() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW");
    }
    const Relation rel = td->tg_relation;
    const TupleDesc desc = RelationGetDescr(rel);
    const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
    HeapTuple tuple = is_update ? td->tg_newtuple : td->tg_trigtuple;
    const BatchTable& table = batch_table(fcinfo, rel, "irp_batch_guard");

    RowImage image = pg([&] { return read_row(tuple, desc, table); });
    if (image.key_is_null)
        return PointerGetDatum(tuple);
    GuardAction action;
    bool stays_active = false; /* an UPDATE of an active row that keeps it active */
    try {
        if (is_update) {
            const RowImage old_image = pg([&] { return read_row(td->tg_trigtuple, desc, table); });
            action = decide_update(old_image.row, image.row);
            stays_active = !old_image.key_is_null && is_active(old_image.row.status) && is_active(image.row.status);
        } else {
            action = decide_insert(image.row);
        }
    } catch (Problem& refused) {
        refused.schema = schema_name(table.nsp);
        throw;
    }

    if (action.clear_duplicate_of) {
        tuple = pg([&] {
            int attnum = table.duplicate_of;
            Datum value = 0;
            bool isnull = true;
            return heap_modify_tuple_by_cols(tuple, desc, 1, &attnum, &value, &isnull);
        });
        image.row.duplicate_of.reset();
    }

    /* The previous row of the statement, if it claimed a key, is in the
     * indexes now; a row that stays active holds its key (in share mode)
     * until its new version is in them too (hold_key in key_claim.hpp). */
    if (!action.check_conflict) {
        if (stays_active)
            hold_key(image.row.configuration_id, image.batch_type);
        else
            end_claim(ClaimEnd::RowNeedsNone);
    }
    if (action.check_duplicate_of || action.check_no_duplicates || action.check_conflict) {
        const Oid nsp = table.nsp;
        /* SQL only where a check needs it; check_conflict connects when it finds a batch to name. */
        LazySpi spi;
        if (action.check_duplicate_of || action.check_no_duplicates)
            spi.connect();
        /* The guard reads as the table's owner, like a foreign-key check:
         * the writer's SELECT privileges do not decide what it sees. */
        RunAs as_owner(rel->rd_rel->relowner);
        std::optional<Problem> problem;
        if (action.check_duplicate_of)
            problem = check_duplicate_target(image.row, nsp);
        if (!problem && action.check_no_duplicates)
            problem = check_no_duplicates(image.row, nsp);
        if (!problem && action.check_conflict)
            problem = check_conflict(image, KeySpace{rel, table}, nsp, !is_update, spi);
        if (problem) {
            problem->schema = schema_name(nsp);
            throw std::move(*problem); /* the abort closes SPI (queries.hpp) */
        }
        spi.finish();
    }
    return PointerGetDatum(tuple);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_guard);

/* BEFORE INSERT OR UPDATE row trigger on irp_batch: the duplicate-batch guard. */
Datum irp_batch_guard(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::guard_row(fcinfo); });
}

}

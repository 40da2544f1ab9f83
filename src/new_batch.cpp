/*
 * new_batch.cpp: reading the jobs argument and inserting a batch with its
 * jobs (new_batch.hpp).
 */
#include "new_batch.hpp"

#include <cstring>

extern "C" {
#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "rules/guard_rules.hpp"
#include "rules/arg_rules.hpp"
#include "batch_table.hpp"
#include "event_details.hpp"
#include "event_writer.hpp"
#include "key_claim.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "row_insert.hpp"

namespace irp {

namespace {

/* What the jobs argument holds, read without raising on its shape. */
struct JobsShape {
    Datum jsonb;
    bool is_array;
    JsonKind root_kind;
    std::size_t count;
    std::size_t bad_element; /* 1-based; 0 if every element is an object */
    JsonKind bad_kind;
};

/* The kind of a JSON value inside a container. */
JsonKind kind_of(const JsonbValue& v)
{
    switch (v.type) {
    case jbvString: return JsonKind::String;
    case jbvNumeric: return JsonKind::Number;
    case jbvBool: return JsonKind::Boolean;
    case jbvNull: return JsonKind::Null;
    case jbvObject: return JsonKind::Object;
    case jbvArray: return JsonKind::Array;
    case jbvBinary: return JsonContainerIsObject(v.val.binary.data) ? JsonKind::Object : JsonKind::Array;
    default: return JsonKind::Null;
    }
}

/* Reads the shape of argument n (a jsonb); call through pg(). */
JobsShape read_jobs(FunctionCallInfo fcinfo, int n)
{
    Jsonb* jb = PG_GETARG_JSONB_P(n);
    JobsShape shape{PointerGetDatum(jb), false, JsonKind::Null, 0, 0, JsonKind::Null};
    if (JB_ROOT_IS_SCALAR(jb)) {
        JsonbValue v;
        JsonbExtractScalar(&jb->root, &v);
        shape.root_kind = kind_of(v);
        return shape;
    }
    if (JB_ROOT_IS_OBJECT(jb)) {
        shape.root_kind = JsonKind::Object;
        return shape;
    }
    shape.is_array = true;
    shape.count = JB_ROOT_COUNT(jb);
    for (std::size_t i = 0; i < shape.count; ++i) {
        JsonbValue* v = getIthJsonbValueFromContainer(&jb->root, static_cast<uint32>(i));
        const JsonKind kind = kind_of(*v);
        if (kind != JsonKind::Object) {
            shape.bad_element = i + 1;
            shape.bad_kind = kind;
            break;
        }
    }
    return shape;
}

/* The INSERT triggers of irp_batch that a direct insert runs or replaces, counted. */
struct OwnBatchTriggers {
    Oid nsp;
    int audits = 0; /* the audit's INSERT triggers that fire in this session */
};

/* Whether t is the extension's guard (a BEFORE row trigger, which the RowTarget fires) or its
 * INSERT audit (an AFTER statement trigger with new_rows, whose event the caller writes). */
bool own_batch_trigger(const Trigger& t, void* arg)
{
    auto* own = static_cast<OwnBatchTriggers*>(arg);
    const char* name = own_function_name(t, own->nsp);
    if (name == nullptr)
        return false;
    if (std::strcmp(name, "irp_batch_guard") == 0)
        return TRIGGER_FOR_ROW(t.tgtype) && TRIGGER_FOR_BEFORE(t.tgtype);
    /* A WHEN condition on it would decide whether the event is written: the statement decides then. */
    if (std::strcmp(name, "irp_batch_audit") != 0 || TRIGGER_FOR_ROW(t.tgtype) || !TRIGGER_FOR_AFTER(t.tgtype) ||
        t.tgnewtable == nullptr || std::strcmp(t.tgnewtable, "new_rows") != 0 || t.tgqual != nullptr)
        return false;
    if (trigger_fires(t))
        ++own->audits;
    return true;
}

/* irp_batch opened for a direct insert, or not (rel nullptr: use the INSERT statement). */
struct DirectBatch {
    Relation rel = nullptr;
    BatchTable columns{};
    bool audited = false; /* the audit's INSERT trigger fires: write the creation event */
    Oid events = InvalidOid;
};

/* Opens irp_batch for a direct insert if that runs what the INSERT statement would. Call through pg(). */
DirectBatch open_batch_table(const BatchHeap& heap, Oid nsp, bool with_request_id)
{
    DirectBatch d;
    Relation rel = heap.rel;
    d.columns = heap.columns;
    OwnBatchTriggers own{nsp};
    if (d.columns.relid == InvalidOid || d.columns.step_id == 0 || (with_request_id && d.columns.request_id == 0) ||
        !plain_insert_target(rel, own_batch_trigger, &own) || own.audits > 1) {
        table_close(rel, NoLock);
        return d;
    }
    d.audited = own.audits == 1;
    d.events = get_relname_relid("irp_batch_event", nsp);
    if (d.audited && !OidIsValid(d.events)) {
        /* The statement's audit trigger reports the missing table. */
        table_close(rel, NoLock);
        return d;
    }
    d.rel = rel;
    return d;
}

/* The values of the new batch row. */
struct NewBatch {
    std::int32_t step_id;
    std::int32_t configuration_id;
    Datum batch_type;
    std::optional<std::int32_t> duplicate_of;
    const RequestId* request;
};

/* Inserts the batch row into d.rel (the guard fires) and builds its creation event, in the caller's
 * memory. Returns the batch's id. Call through pg(). */
std::int32_t insert_batch_row(const DirectBatch& d, const NewBatch& b, Datum actor, const char* actor_name,
                              EventRow* event)
{
    const BatchTable& t = d.columns;
    RowTarget* target = open_row_target(d.rel);
    TupleTableSlot* slot = begin_row(target);
    bool* supplied = static_cast<bool*>(palloc0(sizeof(bool) * slot->tts_tupleDescriptor->natts));
    auto set = [slot, supplied](int attnum, Datum value) {
        slot->tts_values[attnum - 1] = value;
        slot->tts_isnull[attnum - 1] = false;
        supplied[attnum - 1] = true;
    };
    set(t.step_id, Int32GetDatum(b.step_id));
    set(t.configuration_id, Int32GetDatum(b.configuration_id));
    /* A varchar(n) column gets its length checked, as the statement's assignment does (22001). */
    const Form_pg_attribute type_att = TupleDescAttr(slot->tts_tupleDescriptor, t.batch_type - 1);
    set(t.batch_type, type_att->atttypid == VARCHAROID && type_att->atttypmod >= 0
                          ? DirectFunctionCall3(varchar, b.batch_type, Int32GetDatum(type_att->atttypmod),
                                                BoolGetDatum(false))
                          : b.batch_type);
    if (b.duplicate_of)
        set(t.duplicate_of, Int32GetDatum(*b.duplicate_of));
    else
        supplied[t.duplicate_of - 1] = true; /* NULL, as the INSERT statement gives it */
    if (b.request->given)
        set(t.request_id, b.request->uuid);
    TupleTableSlot* stored = insert_row(target, supplied);
    bool isnull = false;
    const std::int32_t id = DatumGetInt32(slot_getattr(stored, t.id, &isnull));
    if (d.audited)
        *event = creation_event(stored, t, actor, actor_name);
    end_row(target);
    close_row_target(target);
    return id;
}

/*
 * Inserts the batch row without SQL when irp_batch and irp_batch_event let
 * a RowTarget do all an INSERT statement would (row_insert.hpp): the guard
 * fires as a row trigger, foreign keys are checked, and the creation event
 * is written as the audit trigger would write it. 0 if the INSERT statement
 * must run instead.
 */
std::int32_t insert_batch_directly(Oid nsp, const NewBatch& b)
{
    const BatchHeap heap = open_batch_heap(nsp, RowExclusiveLock);
    const DirectBatch d = pg([&heap, nsp, &b] { return open_batch_table(heap, nsp, b.request->given); });
    if (d.rel == nullptr)
        return 0;
    EventTable* events = nullptr;
    Oid owner = InvalidOid;
    if (d.audited) {
        owner = pg([&d] { return relation_owner(d.events); });
        RunAs as_owner(owner);
        events = pg([&d, nsp] { return open_event_table(d.events, nsp); });
        if (events == nullptr) {
            pg([&d] { table_close(d.rel, NoLock); });
            return 0;
        }
    }
    /* The event's actor, only if there is an event to write. */
    const char* actor_name = d.audited ? pg([] { return GetUserNameFromId(GetUserId(), false); }) : nullptr;
    const Datum actor = d.audited ? pg([actor_name] { return CStringGetTextDatum(actor_name); }) : Datum(0);
    EventRow event{};
    const std::int32_t id = pg([&] { return insert_batch_row(d, b, actor, actor_name, &event); });
    end_claim(ClaimEnd::RowInIndexes);
    if (d.audited) {
        RunAs as_owner(owner);
        pg([events, &event] {
            write_event(events, event);
            close_event_table(events);
        });
    }
    pg([&d] { table_close(d.rel, NoLock); });
    return id;
}

}  // namespace

Jobs jobs_arg(FunctionCallInfo fcinfo, int n)
{
    if (PG_ARGISNULL(n))
        return Jobs{0, 0};
    const JobsShape shape = pg([fcinfo, n] { return read_jobs(fcinfo, n); });
    if (!shape.is_array)
        jobs_not_an_array(shape.root_kind);
    if (shape.bad_element != 0)
        job_not_an_object(shape.bad_element, shape.bad_kind);
    return Jobs{shape.jsonb, shape.count};
}

std::optional<std::int32_t> active_batch_of_key(Oid nsp, std::int32_t configuration_id, Datum batch_type)
{
    const BatchHeap heap = open_batch_heap(nsp, RowExclusiveLock);
    if (heap.columns.relid == InvalidOid) {
        pg([&heap] { table_close(heap.rel, NoLock); });
        throw not_the_batch_table(nsp);
    }
    std::optional<std::int32_t> found;
    if (claim_and_read_active(KeySpace{heap.rel, heap.columns}, nsp, configuration_id, batch_type, 0)) {
        bool isnull = false;
        found = DatumGetInt32(spi_value(0, 1, &isnull));
    }
    pg([&heap] { table_close(heap.rel, NoLock); });
    return found;
}

std::optional<std::int32_t> lock_batch_to_duplicate(Oid nsp, std::int32_t configuration_id, Datum batch_type,
                                                    std::string_view batch_type_text)
{
    for (;;) {
        const std::optional<std::int32_t> found = active_batch_of_key(nsp, configuration_id, batch_type);
        if (!found)
            return std::nullopt; /* the claim stays for the ordinary batch */
        /* Lock order: a batch's row lock is never waited for while holding a claim. */
        end_claim(ClaimEnd::RowLockWait);
        Datum args[] = {Int32GetDatum(*found)};
        if (spi_run_latest(prepared(Query::LockDuplicateTarget, nsp), args, nullptr, 1) == 1) {
            bool isnull = false;
            const std::int32_t locked_configuration_id = DatumGetInt32(spi_value(0, 1, &isnull));
            if (!isnull && locked_configuration_id == configuration_id && spi_text(0, 2) == batch_type_text &&
                is_active(parse_batch_status(spi_text(0, 3))))
                return found;
        }
        /* It changed while this transaction waited for the lock: look again. */
        pg([] { CHECK_FOR_INTERRUPTS(); });
    }
}

std::int32_t insert_batch(Oid nsp, std::string_view function, std::int32_t step_id, std::int32_t configuration_id,
                          Datum batch_type, std::optional<std::int32_t> duplicate_of, const Jobs& jobs,
                          const RequestId& request)
{
    std::int32_t batch_id = insert_batch_directly(nsp, NewBatch{step_id, configuration_id, batch_type, duplicate_of,
                                                                &request});
    if (batch_id == 0) {
        Datum batch_args[] = {Int32GetDatum(step_id), Int32GetDatum(configuration_id), batch_type,
                              Int32GetDatum(duplicate_of.value_or(0)), request.uuid};
        const char batch_nulls[] = {' ', ' ', ' ', duplicate_of ? ' ' : 'n', ' '};
        /* Without a request_id, the statement of 1.x, whose tables have no such column. */
        const Query insert = request.given ? Query::InsertBatchRequest : Query::InsertBatch;
        if (spi_run(prepared(insert, nsp), batch_args, batch_nulls, false, 0) != 1)
            throw skipped_by_trigger(function, "create the batch", "irp_batch");
        bool isnull = false;
        batch_id = DatumGetInt32(spi_value(0, 1, &isnull));
    }
    if (jobs.count > 0) {
        Datum job_args[] = {Int32GetDatum(batch_id), jobs.jsonb};
        if (spi_run(prepared(Query::InsertJobs, nsp), job_args, nullptr, false, 0) != jobs.count)
            throw skipped_by_trigger(function, "create every job", "irp_job");
    }
    return batch_id;
}

}  // namespace irp

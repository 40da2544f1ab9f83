/*
 * new_batch.cpp: reading the jobs argument and inserting a batch with its
 * jobs (new_batch.hpp).
 */
#include "new_batch.hpp"

extern "C" {
#include "access/table.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

#include "batch_rules.hpp"
#include "key_claim.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"

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
    const Relation heap = pg([nsp] { return table_open(get_relname_relid("irp_batch", nsp), RowExclusiveLock); });
    std::optional<std::int32_t> found;
    if (claim_and_read_active(key_space(nsp, heap), nsp, configuration_id, batch_type, 0)) {
        bool isnull = false;
        found = DatumGetInt32(spi_value(0, 1, &isnull));
    }
    pg([heap] { table_close(heap, NoLock); });
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
        release_claim();
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
    Datum batch_args[] = {Int32GetDatum(step_id), Int32GetDatum(configuration_id), batch_type,
                          Int32GetDatum(duplicate_of.value_or(0)), request.uuid};
    const char batch_nulls[] = {' ', ' ', ' ', duplicate_of ? ' ' : 'n', ' '};
    /* Without a request_id, the statement of 1.x, whose tables have no such column. */
    const Query insert = request.given ? Query::InsertBatchRequest : Query::InsertBatch;
    if (spi_run(prepared(insert, nsp), batch_args, batch_nulls, false, 0) != 1)
        throw skipped_by_trigger(function, "create the batch", "irp_batch");
    bool isnull = false;
    const std::int32_t batch_id = DatumGetInt32(spi_value(0, 1, &isnull));
    if (jobs.count > 0) {
        Datum job_args[] = {Int32GetDatum(batch_id), jobs.jsonb};
        if (spi_run(prepared(Query::InsertJobs, nsp), job_args, nullptr, false, 0) != jobs.count)
            throw skipped_by_trigger(function, "create every job", "irp_job");
    }
    return batch_id;
}

}  // namespace irp

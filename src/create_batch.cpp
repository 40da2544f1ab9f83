/*
 * create_batch.cpp: irp_create_batch(batch_type, configuration_id, step_id,
 * allow_duplicate, jobs), the SQL API's way to create a batch and its jobs.
 */
extern "C" {
#include "postgres.h"
#include "access/table.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

#include "batch_rules.hpp"
#include "key_claim.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_create_batch";

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

/* The function's body. */
Datum create_batch(FunctionCallInfo fcinfo)
{
    const TextArg batch_type = batch_type_arg(fcinfo, 0, function_name);
    const std::int32_t configuration_id = id_arg(fcinfo, 1, function_name, "configuration_id");
    const std::int32_t step_id = id_arg(fcinfo, 2, function_name, "step_id");
    const bool allow_duplicate = bool_arg(fcinfo, 3, function_name, "allow_duplicate");
    JobsShape jobs{};
    if (!arg_is_null(fcinfo, 4)) {
        jobs = pg([fcinfo] { return read_jobs(fcinfo, 4); });
        if (!jobs.is_array)
            jobs_not_an_array(jobs.root_kind);
        if (jobs.bad_element != 0)
            job_not_an_object(jobs.bad_element, jobs.bad_kind);
    }
    const Oid nsp = function_schema(fcinfo);

    spi_connect();
    bool isnull = false;
    Datum duplicate_of = 0;
    bool is_duplicate = false;
    if (allow_duplicate) {
        /* The batch the duplicate error would name (rule 3) becomes duplicate_of.
         * The key is claimed first, so that a concurrent creator's batch is
         * found (after waiting for its transaction) instead of conflicting. */
        const Relation heap = pg([nsp] { return table_open(get_relname_relid("irp_batch", nsp), RowExclusiveLock); });
        const bool taken = claim_key(key_space(nsp, heap), configuration_id, batch_type.datum, 0);
        pg([heap] { table_close(heap, NoLock); });
        Datum args[] = {Int32GetDatum(configuration_id), batch_type.datum, Int32GetDatum(0)};
        if (taken && spi_run_latest(prepared(Query::ActiveConflict, nsp), args, nullptr, 1) > 0) {
            duplicate_of = spi_value(0, 1, &isnull);
            is_duplicate = true;
        }
    }
    Datum batch_args[] = {Int32GetDatum(step_id), Int32GetDatum(configuration_id), batch_type.datum,
                          duplicate_of};
    const char batch_nulls[] = {' ', ' ', ' ', is_duplicate ? ' ' : 'n'};
    if (spi_run(prepared(Query::InsertBatch, nsp), batch_args, batch_nulls, false, 0) != 1) {
        spi_finish();
        throw skipped_by_trigger(function_name, "create the batch", "irp_batch");
    }
    const std::int32_t batch_id = DatumGetInt32(spi_value(0, 1, &isnull));
    if (jobs.count > 0) {
        Datum job_args[] = {Int32GetDatum(batch_id), jobs.jsonb};
        if (spi_run(prepared(Query::InsertJobs, nsp), job_args, nullptr, false, 0) != jobs.count) {
            spi_finish();
            throw skipped_by_trigger(function_name, "create every job", "irp_job");
        }
    }
    spi_finish();
    return Int32GetDatum(batch_id);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_create_batch);

/* irp_create_batch(text, integer, integer, boolean, jsonb) RETURNS integer */
Datum irp_create_batch(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::create_batch(fcinfo); });
}

}

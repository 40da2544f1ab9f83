/*
 * active_batches.cpp: irp_get_active_batches_for_config(configuration_id,
 * batch_type), the active batches of a configuration, newest first.
 */
extern "C" {
#include "postgres.h"
#include "access/htup_details.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
}

#include "batch_rules.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_get_active_batches_for_config";
constexpr int result_columns = 6;

/* Prepares fcinfo to return a materialized set; call through pg(). */
void begin_materialized_result(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
    InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
#else
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("set-valued function called in context that cannot accept a set")));
    MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    rsinfo->returnMode = SFRM_Materialize;
    rsinfo->setDesc = CreateTupleDescCopy(rsinfo->expectedDesc);
    rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
    MemoryContextSwitchTo(old);
#endif
}

/* Copies the rows of the last SPI result into the function's result; call through pg(). */
void store_rows(FunctionCallInfo fcinfo, std::uint64_t rows)
{
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum values[result_columns];
    bool nulls[result_columns];
    for (std::uint64_t i = 0; i < rows; ++i) {
        heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
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

    pg([fcinfo] { begin_materialized_result(fcinfo); });
    spi_connect();
    const Query q = by_type ? Query::ActiveForConfigAndType : Query::ActiveForConfig;
    const std::uint64_t rows = spi_run(prepared(q, nsp), args, nullptr, true, 0);
    pg([fcinfo, rows] { store_rows(fcinfo, rows); });
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

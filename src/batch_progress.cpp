/*
 * batch_progress.cpp: irp_batch_progress(batch_id integer[]), each batch's
 * job counts, finished fraction, last change and staleness; and
 * irp_stale_batches(older_than interval), the active batches idle for that long.
 */
extern "C" {
#include "postgres.h"
#include "catalog/pg_type_d.h"
#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include "rules/arg_rules.hpp"
#include "pg_guard.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"
#include "status_queries.hpp"
#include "queries.hpp"

namespace irp {

int stale_after_seconds = 86400;

namespace {

/* irp_batch_progress's body. */
Datum batch_progress(FunctionCallInfo fcinfo)
{
    Datum args[] = {batch_ids_arg(fcinfo, 0, "irp_batch_progress", "batch_id"), Int32GetDatum(stale_after_seconds)};
    const Oid nsp = function_schema(fcinfo);

    begin_result_set(fcinfo);
    spi_connect();
    const std::uint64_t rows = spi_run(prepared(StatusQuery::BatchProgress, nsp), args, nullptr, true, 0);
    put_spi_rows(fcinfo, rows);
    spi_finish();
    return Datum(0);
}

/* irp_stale_batches's body. */
Datum stale_batches(FunctionCallInfo fcinfo)
{
    constexpr std::string_view function_name = "irp_stale_batches";
    require_not_null(arg_is_null(fcinfo, 0), function_name, "older_than");
    const Datum older_than = PG_GETARG_DATUM(0);
    /* Negative as interval comparison sees it (a month is 30 days, a day 24 hours). */
    const Interval* span = DatumGetIntervalP(older_than);
    const long double micros = static_cast<long double>(span->time) +
                               static_cast<long double>(span->day) * USECS_PER_DAY +
                               static_cast<long double>(span->month) * DAYS_PER_MONTH * USECS_PER_DAY;
    if (micros < 0)
        negative_older_than(pg([older_than] { return DatumGetCString(DirectFunctionCall1(interval_out, older_than)); }));
    Datum args[] = {older_than};
    const Oid nsp = function_schema(fcinfo);

    begin_result_set(fcinfo);
    spi_connect();
    const std::uint64_t rows = spi_run(prepared(StatusQuery::StaleBatches, nsp), args, nullptr, true, 0);
    put_spi_rows(fcinfo, rows);
    spi_finish();
    return Datum(0);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_progress);
PG_FUNCTION_INFO_V1(irp_stale_batches);

/* irp_batch_progress(integer[]) RETURNS TABLE (...) */
Datum irp_batch_progress(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::batch_progress(fcinfo); });
}

/* irp_stale_batches(interval) RETURNS TABLE (...) */
Datum irp_stale_batches(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::stale_batches(fcinfo); });
}

}

/*
 * preflight.cpp: irp_batch_preflight(configuration_id, batch_types), what a
 * notebook shows before creating batches: for each requested type, in the
 * order given, its active batches oldest first, or one row without a batch.
 */
extern "C" {
#include "postgres.h"
}

#include "pg_guard.hpp"
#include "queries.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_batch_preflight";

/* The function's body. */
Datum preflight(FunctionCallInfo fcinfo)
{
    const std::int32_t configuration_id = id_arg(fcinfo, 0, function_name, "configuration_id");
    Datum args[] = {Int32GetDatum(configuration_id), batch_types_arg(fcinfo, 1, function_name)};
    const Oid nsp = function_schema(fcinfo);

    begin_result_set(fcinfo);
    spi_connect();
    const std::uint64_t rows = spi_run(prepared(Query::Preflight, nsp), args, nullptr, true, 0);
    put_spi_rows(fcinfo, rows);
    spi_finish();
    return Datum(0);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_preflight);

/* irp_batch_preflight(integer, text[]) RETURNS TABLE (...) */
Datum irp_batch_preflight(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::preflight(fcinfo); });
}

}

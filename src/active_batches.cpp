/*
 * active_batches.cpp: irp_get_active_batches_for_config(configuration_id,
 * batch_type), the active batches of a configuration, newest first.
 */
extern "C" {
#include "postgres.h"
}

#include "batch_rules.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_get_active_batches_for_config";

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
    spi_connect();
    const Query q = by_type ? Query::ActiveForConfigAndType : Query::ActiveForConfig;
    const std::uint64_t rows = spi_run(prepared(q, nsp), args, nullptr, true, 0);
    put_spi_rows(fcinfo, rows);
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

/*
 * preflight.cpp: irp_batch_preflight(configuration_id, batch_types), what a
 * notebook shows before creating batches: for each requested type, in the
 * order given, its active batches oldest first, or one row without a batch;
 * from 2.1 with each batch's last change, whether it is stale, and a message.
 */
extern "C" {
#include "postgres.h"
#include "utils/builtins.h"
}

#include <optional>

#include "pg_guard.hpp"
#include "queries.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"
#include "status_queries.hpp"
#include "rules/status_text.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_batch_preflight";

/* The columns of 2.0's declaration; 2.1 adds last_change, stale and message. */
constexpr int columns_2_0 = 7;
constexpr int columns_2_1 = 10;

/* issue 16: the rows of 2.1's declaration, with the message made from each row. */
void put_stale_rows(FunctionCallInfo fcinfo, std::uint64_t rows)
{
    Datum values[columns_2_1];
    bool nulls[columns_2_1];
    for (std::uint64_t i = 0; i < rows; ++i) {
        for (int c = 0; c < columns_2_1 - 1; ++c)
            values[c] = spi_value(i, c + 1, &nulls[c]);
        nulls[columns_2_1 - 1] = nulls[1]; /* no batch, no message */
        if (!nulls[1]) {
            bool no_idle = false;
            const Datum idle = spi_value(i, columns_2_1, &no_idle);
            const Text message = preflight_message(
                DatumGetInt32(values[1]), spi_text(i, 3), !nulls[8] && DatumGetBool(values[8]),
                no_idle ? std::nullopt : std::optional<double>(DatumGetFloat8(idle)));
            values[columns_2_1 - 1] = pg([&message] { return CStringGetTextDatum(message.c_str()); });
        }
        put_row(fcinfo, values, nulls);
    }
}

/* The function's body. */
Datum preflight(FunctionCallInfo fcinfo)
{
    const std::int32_t configuration_id = id_arg(fcinfo, 0, function_name, "configuration_id");
    Datum args[] = {Int32GetDatum(configuration_id), batch_types_arg(fcinfo, 1, function_name),
                    Int32GetDatum(stale_after_seconds)};
    const Oid nsp = function_schema(fcinfo);

    begin_result_set(fcinfo);
    /* A database whose SQL objects are still 2.0 (or 1.x) declares the old columns. */
    const int columns = pg([fcinfo] { return reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo)->setDesc->natts; });
    spi_connect();
    if (columns == columns_2_1) {
        const std::uint64_t rows = spi_run(prepared(StatusQuery::PreflightStale, nsp), args, nullptr, true, 0);
        put_stale_rows(fcinfo, rows);
    } else {
        const std::uint64_t rows = spi_run(prepared(Query::Preflight, nsp), args, nullptr, true, 0);
        put_spi_rows(fcinfo, rows);
    }
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

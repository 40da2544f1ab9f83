/*
 * ensure_batch.cpp: irp_ensure_batch(batch_type, configuration_id, step_id,
 * jobs, request_id), the idempotent re-run: the key's active batch if it has one
 * (created false, no jobs added), else a new batch with its jobs (created
 * true). Concurrent calls for one key wait for each other through the key's
 * claim (key_claim.hpp): all return the same batch, one of them created it.
 */
extern "C" {
#include "postgres.h"
#include "miscadmin.h"
}

#include <optional>

#include "key_claim.hpp"
#include "new_batch.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "request_claim.hpp"
#include "result_set.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_ensure_batch";

/* The function's body. */
Datum ensure_batch(FunctionCallInfo fcinfo)
{
    const TextArg batch_type = batch_type_arg(fcinfo, 0, function_name);
    const std::int32_t configuration_id = id_arg(fcinfo, 1, function_name, "configuration_id");
    const std::int32_t step_id = id_arg(fcinfo, 2, function_name, "step_id");
    const Jobs jobs = jobs_arg(fcinfo, 3);
    const RequestId request = request_id_arg(fcinfo, 4);
    const Oid nsp = function_schema(fcinfo);
    /* It may write: refused in a read-only transaction and on a standby
     * (25006) before it looks at, or waits for, the key. */
    pg([] { PreventCommandIfReadOnly("irp_ensure_batch()"); });

    begin_result_set(fcinfo);
    spi_connect();
    /* A retry of a request that created its batch: that batch, created true
     * (what the first attempt did). */
    const std::optional<std::int32_t> earlier =
        claim_request(nsp, request, {configuration_id, batch_type.datum, step_id, false, jobs});
    const std::optional<std::int32_t> existing =
        earlier ? std::nullopt : active_batch_of_key(nsp, configuration_id, batch_type.datum);
    if (existing)
        end_claim(ClaimEnd::RowNotInserted); /* the key is free for others again */
    const std::int32_t batch_id =
        earlier    ? *earlier
        : existing ? *existing
                   : insert_batch(nsp, function_name, step_id, configuration_id, batch_type.datum, std::nullopt, jobs,
                                  request);
    spi_finish();

    Datum values[] = {Int32GetDatum(batch_id), BoolGetDatum(!existing)};
    bool nulls[] = {false, false};
    put_row(fcinfo, values, nulls);
    return Datum(0);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_ensure_batch);

/* irp_ensure_batch(text, integer, integer, jsonb, uuid) RETURNS TABLE (batch_id integer, created boolean) */
Datum irp_ensure_batch(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::ensure_batch(fcinfo); });
}

}

/*
 * create_batch.cpp: irp_create_batch(batch_type, configuration_id, step_id,
 * allow_duplicate, jobs, request_id), the SQL API's way to create a batch
 * and its jobs.
 */
extern "C" {
#include "postgres.h"
#include "miscadmin.h"
}

#include <optional>

#include "new_batch.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "request_claim.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

constexpr std::string_view function_name = "irp_create_batch";

/* The function's body. */
Datum create_batch(FunctionCallInfo fcinfo)
{
    const TextArg batch_type = batch_type_arg(fcinfo, 0, function_name);
    const std::int32_t configuration_id = id_arg(fcinfo, 1, function_name, "configuration_id");
    const std::int32_t step_id = id_arg(fcinfo, 2, function_name, "step_id");
    const bool allow_duplicate = bool_arg(fcinfo, 3, function_name, "allow_duplicate");
    const Jobs jobs = jobs_arg(fcinfo, 4);
    const RequestId request = request_id_arg(fcinfo, 5);
    const Oid nsp = function_schema(fcinfo);
    /* It may write: refused in a read-only transaction and on a standby
     * (25006) before it looks at, or waits for, the key. */
    pg([] { PreventCommandIfReadOnly("irp_create_batch()"); });

    spi_connect();
    /* A retry of a request that created its batch gets that batch, before
     * the key is looked at (the key would name it as a duplicate). */
    if (const auto earlier = claim_request(nsp, request, {configuration_id, batch_type.datum, step_id,
                                                          allow_duplicate, jobs})) {
        spi_finish();
        return Int32GetDatum(*earlier);
    }
    std::optional<std::int32_t> duplicate_of;
    if (allow_duplicate) {
        /* The batch the duplicate error would name (rule 3) becomes duplicate_of.
         * The key is claimed first, so that a concurrent creator's batch is
         * found (after waiting for its transaction) instead of conflicting;
         * the batch is locked before the INSERT names it, so that it cannot
         * be moved, ended or deleted in between. */
        duplicate_of = lock_batch_to_duplicate(nsp, configuration_id, batch_type.datum, batch_type.value);
    }
    const std::int32_t batch_id =
        insert_batch(nsp, function_name, step_id, configuration_id, batch_type.datum, duplicate_of, jobs, request);
    spi_finish();
    return Int32GetDatum(batch_id);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_create_batch);

/* irp_create_batch(text, integer, integer, boolean, jsonb, uuid) RETURNS integer */
Datum irp_create_batch(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::create_batch(fcinfo); });
}

}

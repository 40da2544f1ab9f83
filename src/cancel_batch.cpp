/*
 * cancel_batch.cpp: irp_cancel_batch(batch_id, reason), which cancels an
 * active batch and its unfinished jobs in one step.
 */
extern "C" {
#include "postgres.h"
#include "miscadmin.h"
#include "executor/spi.h"
}

#include "batch_audit.hpp"
#include "rules/guard_rules.hpp"
#include "rules/arg_rules.hpp"
#include "rules/text.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "sql_args.hpp"

namespace irp {

namespace {

/*
 * irp_cancel_batch's error for an unknown batch (SQLSTATE P0002). Its primary
 * message is a wire contract: the Python client parses it
 * (_NOT_FOUND_MESSAGE in clients/python/irp_batch_client/__init__.py) to
 * raise BatchNotFoundError; change both together.
 */
Problem batch_not_found(std::int32_t batch_id, Origin where = Origin::here())
{
    return Problem(Code::NoDataFound, concat_parts({"Batch ", number_text(batch_id), " not found"}), where);
}

constexpr std::string_view function_name = "irp_cancel_batch";

/* The function's body. Locks the batch row first, then its jobs. */
Datum cancel_batch(FunctionCallInfo fcinfo)
{
    const std::int32_t batch_id = id_arg(fcinfo, 0, function_name, "batch_id");
    const TextArg reason = text_arg(fcinfo, 1, function_name, "reason");
    validate_reason(reason.value);
    const Oid nsp = function_schema(fcinfo);
    /* It may write: refused in a read-only transaction and on a standby
     * (25006) before it looks at, or waits for, the key. */
    pg([] { PreventCommandIfReadOnly("irp_cancel_batch()"); });

    spi_connect();
    Datum id_args[] = {Int32GetDatum(batch_id)};
    if (spi_run(prepared(Query::LockBatch, nsp), id_args, nullptr, false, 0) == 0)
        throw batch_not_found(batch_id); /* the abort closes SPI (queries.hpp) */
    if (!is_active(parse_batch_status(spi_text(0, 1)))) {
        spi_finish();
        return BoolGetDatum(false);
    }

    spi_run(prepared(Query::CancelJobs, nsp), id_args, nullptr, false, 0);
    bool isnull = false;
    const bool every_job = DatumGetBool(spi_value(0, 2, &isnull));
    const Datum in_result = spi_value(0, 1, &isnull);
    /* Copied out of the result: the next statement reads it. */
    const Datum details = pg([in_result] { return SPI_datumTransfer(in_result, false, -1); });
    std::uint64_t cancelled = 0;
    if (every_job) {
        CancelScope scope(batch_id, details);
        Datum batch_args[] = {Int32GetDatum(batch_id), reason.datum};
        cancelled = spi_run(prepared(Query::CancelBatch, nsp), batch_args, nullptr, false, 0);
    }
    if (!every_job)
        throw skipped_by_trigger(function_name, "cancel every job", "irp_job");
    if (cancelled != 1)
        throw skipped_by_trigger(function_name, "cancel the batch", "irp_batch");
    spi_finish();
    return BoolGetDatum(true);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_cancel_batch);

/* irp_cancel_batch(integer, text) RETURNS boolean */
Datum irp_cancel_batch(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::cancel_batch(fcinfo); });
}

}

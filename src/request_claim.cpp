/*
 * request_claim.cpp: the request's lock and the look-up of the batch it
 * created (request_claim.hpp says why).
 */
#include "request_claim.hpp"

extern "C" {
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/uuid.h"
}

#include "rules/text.hpp"
#include "rules/problem.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"

namespace irp {

namespace {

/*
 * A request_id already used by a request that created batch_id with other
 * arguments (SQLSTATE 22023).
 */
Problem request_reused(std::string_view request_id, std::int32_t batch_id, std::int32_t configuration_id,
                       std::string_view batch_type, Origin where = Origin::here())
{
    Problem p(Code::InvalidParameterValue, concat_parts({"request_id ", request_id, " was used by another request"}),
              where);
    p.detail = concat_parts({"That request created batch ", number_text(batch_id), " for configuration ",
                             number_text(configuration_id), " and batch_type '", batch_type,
                             "'; this call's arguments differ from it."});
    p.hint = Text("A retry repeats its request's arguments exactly; give a new request a new request_id.");
    return p;
}

/* locktag_field4 of a request's lock (key claims use 0x4952; SQL advisory locks 1 and 2). */
constexpr uint16 request_lock_kind = 0x4953;

/* Takes the request's lock until the transaction ends; call through pg(). */
void lock_request(Datum uuid)
{
    const pg_uuid_t* id = DatumGetUUIDP(uuid);
    LOCKTAG tag{};
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes(id->data, UUID_LEN / 2),
                         hash_bytes(id->data + UUID_LEN / 2, UUID_LEN / 2), request_lock_kind);
    (void)LockAcquire(&tag, ExclusiveLock, false, false);
}

}  // namespace

RequestId request_id_arg(FunctionCallInfo fcinfo, int n)
{
    if (PG_NARGS() <= n || PG_ARGISNULL(n))
        return RequestId{};
    return RequestId{true, PG_GETARG_DATUM(n)};
}

std::optional<std::int32_t> claim_request(Oid nsp, const RequestId& request, const RequestArgs& args)
{
    if (!request.given)
        return std::nullopt;
    pg([&request] { lock_request(request.uuid); });
    Datum query_args[] = {request.uuid, Int32GetDatum(args.configuration_id), args.batch_type,
                          Int32GetDatum(args.step_id), BoolGetDatum(args.allow_duplicate), args.jobs.jsonb};
    const char nulls[] = {' ', ' ', ' ', ' ', ' ', args.jobs.count > 0 ? ' ' : 'n'};
    if (spi_run_latest(prepared(Query::RequestBatch, nsp), query_args, nulls, 1) == 0)
        return std::nullopt;
    bool isnull = false;
    const std::int32_t batch_id = DatumGetInt32(spi_value(0, 1, &isnull));
    if (!DatumGetBool(spi_value(0, 2, &isnull))) {
        const std::int32_t configuration_id = DatumGetInt32(spi_value(0, 3, &isnull));
        const char* request_text = pg([&request] { return DatumGetCString(DirectFunctionCall1(uuid_out, request.uuid)); });
        throw request_reused(request_text, batch_id, configuration_id, spi_text(0, 4));
    }
    return batch_id;
}

}  // namespace irp

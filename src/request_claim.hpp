/*
 * request_claim.hpp: exactly-once creation across retries.
 *
 * irp_create_batch and irp_ensure_batch take an optional request_id (a
 * uuid the client makes once per request and sends again with every retry).
 * Before anything else, the call claims the request: a lock on the
 * request_id held until its transaction ends, so a retry that arrives while
 * the first attempt is still in flight waits for it. Then it looks for the
 * batch that request created, with a fresh snapshot (also under REPEATABLE
 * READ): if the first attempt committed, the retry returns that batch and
 * writes nothing; if it rolled back, the retry creates. The unique index
 * idx_batch_request_id is the backstop.
 *
 * Lock order (docs/concurrency.md, "Lock order"): the request's lock comes first, before
 * any batch row lock or key claim, and is kept to the transaction's end.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <cstdint>
#include <optional>

#include "new_batch.hpp"

namespace irp {

/* Argument n, if the function has it and it is not NULL. */
RequestId request_id_arg(FunctionCallInfo fcinfo, int n);

/* What a call asks for, to compare with the batch its request created. */
struct RequestArgs {
    std::int32_t configuration_id;
    Datum batch_type;
    std::int32_t step_id;
    bool allow_duplicate;
    const Jobs& jobs;
};

/*
 * Claims the request (waiting for an attempt still in flight), then returns
 * the batch it created, if any. A batch made by the same request_id with
 * other arguments is a Problem (22023). Inside SPI.
 */
std::optional<std::int32_t> claim_request(Oid nsp, const RequestId& request, const RequestArgs& args);

}  // namespace irp

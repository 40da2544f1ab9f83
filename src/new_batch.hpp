/*
 * new_batch.hpp: creating a batch with its jobs, shared by irp_create_batch()
 * and irp_ensure_batch(): reading the jobs argument and the two INSERTs.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <cstdint>
#include <optional>
#include <string_view>

namespace irp {

/* The jobs argument: a jsonb array of objects (count 0 when the argument was NULL). */
struct Jobs {
    Datum jsonb;
    std::size_t count;
};

/* The request_id argument (request_claim.hpp): absent in a 1.x declaration of the function, or NULL. */
struct RequestId {
    bool given = false;
    Datum uuid = 0;
};

/* Argument n (jsonb, NULL allowed): a JSON array of objects, else a Problem (22023). */
Jobs jobs_arg(FunctionCallInfo fcinfo, int n);

/*
 * The active batch of (configuration_id, batch_type) that the duplicate
 * error would name (rule 3), or none. The key is claimed first
 * (key_claim.hpp), so a batch another transaction is creating is found after
 * waiting for it; the claim stays for the caller's INSERT. Inside SPI.
 */
std::optional<std::int32_t> active_batch_of_key(Oid nsp, std::int32_t configuration_id, Datum batch_type);

/*
 * allow_duplicate's choice: the active batch of (configuration_id,
 * batch_type) that the duplicate error would name, locked FOR SHARE so that
 * it stays that key's active batch until this transaction ends; or none,
 * with the key claimed for the caller's INSERT of an ordinary batch. A batch
 * moved, ended or deleted by a transaction that committed while this one
 * waited for its lock is not chosen: the key is looked at again. Inside SPI.
 */
std::optional<std::int32_t> lock_batch_to_duplicate(Oid nsp, std::int32_t configuration_id, Datum batch_type,
                                                    std::string_view batch_type_text);

/*
 * Inserts a batch (with the request's id, if given) and one job per element
 * of jobs, in array order, inside an SPI connection; returns the batch's id. function names the caller in
 * the error raised when another trigger skips a row (09000).
 */
std::int32_t insert_batch(Oid nsp, std::string_view function, std::int32_t step_id, std::int32_t configuration_id,
                          Datum batch_type, std::optional<std::int32_t> duplicate_of, const Jobs& jobs,
                          const RequestId& request);

}  // namespace irp

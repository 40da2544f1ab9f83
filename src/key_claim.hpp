/*
 * key_claim.hpp: making a batch active without racing anyone.
 *
 * Before a row becomes an active batch of a key (configuration_id,
 * batch_type), the backend claims the key: it takes the key's claim lock,
 * then probes the key's active batches with a dirty snapshot, which also
 * sees rows of transactions still in progress. If such a transaction is
 * inserting an active batch of the key, or changing or about to change one
 * (it holds the row FOR UPDATE or FOR NO KEY UPDATE, alone or in a
 * MultiXact), the backend lets go of the claim, waits for that transaction
 * to end and starts over, as PostgreSQL's own unique check does. The claim
 * is held until the row is in the indexes (the next claim, the statement's
 * end or the transaction's end releases it), so a backend holds at most one
 * claim lock at any time, however many rows a statement writes.
 *
 * The probe reads idx_batch_active when that index is live, ready and valid
 * (as PostgreSQL's planner requires); while CREATE INDEX CONCURRENTLY or
 * REINDEX CONCURRENTLY is building it, or if it is missing, it reads the
 * table instead: slower, same result.
 *
 * Lock order (README, Concurrency): a batch row's lock (UPDATE, or
 * irp_cancel_batch, or the batch allow_duplicate names, FOR SHARE) before a
 * claim; a claim before nothing else; jobs last. No claim is held while
 * waiting for another transaction, and none is kept for a row whose id is
 * taken (INSERT ... ON CONFLICT (id) updating an existing batch), because
 * PostgreSQL waits for that batch's lockers before it would insert the row.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/rel.h"
}

#include <cstdint>

namespace irp {

/* Where a claim probes: the extension's irp_batch (its indexes are looked up at each probe). */
struct KeySpace {
    Relation heap;
    Oid nsp;
    AttrNumber id;
    AttrNumber configuration_id;
    AttrNumber batch_type;
    AttrNumber status;
};

/* The KeySpace of the extension installed in schema nsp; heap is its irp_batch, opened by the caller. */
KeySpace key_space(Oid nsp, Relation heap);

/*
 * Claims (configuration_id, batch_type) for this backend, after waiting for
 * every other transaction that is inserting or changing an active batch of
 * it. Returns true if an active batch other than ignore_id exists (committed,
 * or this transaction's own). batch_type is a text or varchar Datum.
 */
bool claim_key(const KeySpace& space, std::int32_t configuration_id, Datum batch_type, std::int32_t ignore_id);

/*
 * Claims the key (claim_key), then reads with a fresh snapshot the active
 * batch other than ignore_id that the duplicate error names (rule 3): the
 * Query::ActiveConflict row, left in the SPI result. False if the key has
 * none. Inside SPI; the claim is kept for the caller's INSERT.
 */
bool claim_and_read_active(const KeySpace& space, Oid nsp, std::int32_t configuration_id, Datum batch_type,
                           std::int32_t ignore_id);

/*
 * Whether a row with this id exists (committed, or this transaction's own),
 * looked up with a dirty snapshot after waiting for every transaction that
 * is inserting, updating or deleting it. Before such a wait it releases
 * this backend's claim and hold; a claim it does not wait with stays.
 */
bool id_taken(const KeySpace& space, std::int32_t id);

/*
 * Holds the key (a share lock on the claim's lock tag), for an UPDATE that
 * writes a new version of a row that was and stays active. Until that
 * version is in idx_batch_active, a claimant's probe could read the index
 * page before it is there and then find the old version dead (its updater
 * committed meanwhile) and miss the row. The hold keeps claimants out until
 * the new version is in the index; then their probe sees it and waits for
 * this transaction. Holds do not exclude each other, so multi-row UPDATEs
 * do not deadlock on them. Released like a claim.
 */
void hold_key(std::int32_t configuration_id, Datum batch_type);

/* Releases this backend's claim and hold, if it has them: its rows are in the indexes. */
void release_claim();

}  // namespace irp

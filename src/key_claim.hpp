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
 * to end and starts over, as PostgreSQL's own unique check does.
 *
 * The probe reads idx_batch_active when that index is live, ready and valid
 * (as PostgreSQL's planner requires); while CREATE INDEX CONCURRENTLY or
 * REINDEX CONCURRENTLY is building it, or if it is missing, it reads the
 * table instead: slower, same result.
 *
 * A claim's lifetime, all of it decided in key_claim.cpp. A backend holds at
 * most one claim (exclusive) and one hold (shared) at any time, however many
 * rows a statement writes:
 *   taken     by claim_key() or claim_and_read_active() for the row being
 *             checked, or hold_key() for an UPDATE whose row stays active;
 *             taking one lets go of the claim of the statement's previous
 *             row, which is in the indexes by then;
 *   released  by end_claim(), which its callers call at the moments
 *             ClaimEnd names, and by the transaction's end (commit, abort,
 *             PREPARE) or the abort of the subtransaction that took it
 *             (callbacks registered here);
 *   not held  while claim_key() or id_taken() wait for another transaction:
 *             they let go first (docs/concurrency.md lists the waits that
 *             are outside the extension's hands).
 *
 * Lock order (docs/concurrency.md, "Lock order"): a create's request lock
 * (request_claim.hpp); then a batch row's lock (the row an UPDATE changes,
 * irp_cancel_batch's FOR UPDATE, or the FOR SHARE lock irp_create_batch
 * takes on the batch allow_duplicate names), never waited for while a
 * claim is held (end_claim(ClaimEnd::RowLockWait) first); then one claim or
 * hold; then the batch duplicate_of names (FOR SHARE: the guard's rule 2
 * check, which an UPDATE of a row that stays active makes while holding
 * the row's key); jobs last.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/rel.h"
}

#include <cstdint>

#include "batch_table.hpp"

namespace irp {

/* Where a claim probes: the extension's irp_batch, opened by the caller, and its columns (its indexes are looked up at each probe). */
struct KeySpace {
    Relation heap;
    BatchTable columns;
};

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
 * is inserting, updating or deleting it, and, if that finds none, with a
 * fresh MVCC snapshot (a dirty scan can miss a row whose update commits
 * while it runs). Before such a wait it lets go of this backend's claim and
 * hold; a claim it does not wait with stays.
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
 * do not deadlock on them. Ends like a claim.
 */
void hold_key(std::int32_t configuration_id, Datum batch_type);

/* The moments a claim (and a hold) ends before the transaction does. */
enum class ClaimEnd {
    /* The guard's row needs no claim: the statement's previous row, which may have taken one, is in the indexes. */
    RowNeedsNone,
    /* The row will not be inserted: its id is taken, so INSERT ... ON CONFLICT (id) updates that batch instead
     * (the guard holds it locked FOR NO KEY UPDATE, taken without a claim); or irp_ensure_batch found the key's
     * active batch and inserts nothing. */
    RowNotInserted,
    /* The row the claim was taken for is in the indexes (irp_create_batch's and irp_ensure_batch's direct insert). */
    RowInIndexes,
    /* The caller is about to wait for a batch's row lock (lock order: row locks before claims). */
    RowLockWait,
    /* Every row of the statement is in the indexes: the AFTER statement triggers on irp_batch say so. */
    StatementEnd,
};

/* Lets go of this backend's claim and hold, if it has them. */
void end_claim(ClaimEnd moment);

}  // namespace irp

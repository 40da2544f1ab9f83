/*
 * key_claim.cpp: the key's claim lock and the dirty-snapshot probe
 * (key_claim.hpp says why).
 */
#include "key_claim.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/relation.h"
#include "storage/procarray.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/relcache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

#include "rules/guard_rules.hpp"
#include "enum_labels.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"
#include "usable_index.hpp"

namespace irp {

namespace {

/* locktag_field4 of a claim lock: pg_locks shows it as objsubid (SQL advisory locks use 1 and 2). */
constexpr uint16 claim_lock_kind = 0x4952;

/* A key lock this backend holds, if any. */
struct HeldClaim {
    LOCKMODE mode;
    bool held = false;
    LOCKTAG tag{};
    SubTransactionId subxact = InvalidSubTransactionId; /* where it was taken */
};
/* The claim of a key: one claimant at a time probes and inserts. */
HeldClaim claim{ExclusiveLock};
/* The hold of a key by an UPDATE of a row that stays active: many at once,
 * but never during a claimant's probe (hold_key in key_claim.hpp). */
HeldClaim hold{ShareLock};
bool callbacks_registered = false;

/* Runs a lock call with the transaction's resource owner: a claim may be released by a later statement. */
class TransactionOwner {
public:
    TransactionOwner() noexcept : saved_(CurrentResourceOwner) { CurrentResourceOwner = TopTransactionResourceOwner; }
    ~TransactionOwner() { CurrentResourceOwner = saved_; }
    TransactionOwner(const TransactionOwner&) = delete;
    TransactionOwner& operator=(const TransactionOwner&) = delete;

private:
    ResourceOwner saved_;
};

/* Lets go of a key lock; safe in abort callbacks (LockRelease only warns), so deliberately not through pg(). */
void unlock(HeldClaim& lock) noexcept
{
    if (!lock.held)
        return;
    lock.held = false;
    const ResourceOwner saved = CurrentResourceOwner;
    CurrentResourceOwner = TopTransactionResourceOwner;
    LockRelease(&lock.tag, lock.mode, false);
    CurrentResourceOwner = saved;
}

/* Transaction end: the lock manager releases the locks; PREPARE must not carry them. */
void on_xact(XactEvent event, void*)
{
    if (event == XACT_EVENT_PRE_PREPARE || event == XACT_EVENT_PARALLEL_PRE_COMMIT || event == XACT_EVENT_PRE_COMMIT) {
        unlock(claim);
        unlock(hold);
    } else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
               event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) {
        claim.held = false;
        hold.held = false;
    }
}

/* A rolled-back subtransaction took its row with it: release a lock taken inside it. */
void on_subxact(SubXactEvent event, SubTransactionId my_subid, SubTransactionId, void*)
{
    if (event != SUBXACT_EVENT_ABORT_SUB)
        return;
    if (claim.held && claim.subxact >= my_subid)
        unlock(claim);
    if (hold.held && hold.subxact >= my_subid)
        unlock(hold);
}

/* The lock tag of a key. */
LOCKTAG claim_tag(std::int32_t configuration_id, Datum batch_type)
{
    const text* t = DatumGetTextPP(batch_type);
    const uint32 type_hash =
        hash_bytes(reinterpret_cast<const unsigned char*>(VARDATA_ANY(t)), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
    LOCKTAG tag{};
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(configuration_id), type_hash, claim_lock_kind);
    return tag;
}

bool same_tag(const LOCKTAG& a, const LOCKTAG& b) noexcept
{
    return a.locktag_field1 == b.locktag_field1 && a.locktag_field2 == b.locktag_field2 &&
           a.locktag_field3 == b.locktag_field3 && a.locktag_field4 == b.locktag_field4 &&
           a.locktag_type == b.locktag_type && a.locktag_lockmethodid == b.locktag_lockmethodid;
}

/* Takes lock on tag (keeping it if already held there), waiting as long as it takes. */
void acquire(HeldClaim& lock, const LOCKTAG& tag)
{
    if (lock.held && same_tag(lock.tag, tag))
        return;
    unlock(lock);
    pg([] {
        if (!callbacks_registered) {
            RegisterXactCallback(on_xact, nullptr);
            RegisterSubXactCallback(on_subxact, nullptr);
            callbacks_registered = true;
        }
    });
    {
        TransactionOwner owner;
        pg([&tag, mode = lock.mode] { LockAcquire(&tag, mode, false, false); });
    }
    lock.tag = tag;
    lock.subxact = GetCurrentSubTransactionId();
    lock.held = true;
}

/* Takes the claim of tag; a hold from the statement's previous row is over (its row is in the indexes). */
void lock_claim(const LOCKTAG& tag)
{
    unlock(hold);
    acquire(claim, tag);
}

/* What one probe found. */
struct Probe {
    bool taken = false;                        /* a row version nobody is changing */
    TransactionId wait_for = InvalidTransactionId; /* else: a transaction changing one */
    uint32 speculative_token = 0;
    ItemPointerData tid{};
};

/*
 * Opens idx_batch_active if it can be read, checking that it leads with the
 * key; nullptr if it is missing or not yet (or no longer) complete: being
 * built by CREATE INDEX CONCURRENTLY, its REINDEX CONCURRENTLY copy, or
 * left invalid by a failed build. Call through pg().
 */
Relation open_active_index(const KeySpace& space)
{
    const Oid oid = get_relname_relid("idx_batch_active", space.columns.nsp);
    if (!OidIsValid(oid))
        return nullptr;
    /* Dropped since the look-up: nullptr. The lock brings the catalog entry up to date. */
    Relation index = try_relation_open(oid, AccessShareLock);
    if (index == nullptr)
        return nullptr;
    if (!index_readable(index)) {
        relation_close(index, AccessShareLock);
        return nullptr;
    }
    const Form_pg_index form = index->rd_index;
    if (form->indrelid != RelationGetRelid(space.heap) || form->indnkeyatts < 2 ||
        form->indkey.values[0] != space.columns.configuration_id || form->indkey.values[1] != space.columns.batch_type)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("index \"idx_batch_active\" of the irp_batch extension does not lead with "
                               "(configuration_id, batch_type)"),
                        errhint("Recreate it as the extension's install script defines it.")));
    return index;
}

/*
 * Another transaction in progress that holds the row in slot FOR UPDATE or
 * FOR NO KEY UPDATE without having changed it yet (irp_cancel_batch between
 * locking its batch and updating it), alone or as a member of a MultiXact
 * (other transactions hold it FOR KEY SHARE or FOR SHARE too): it is about
 * to change the row, so the probe waits for it as for an update.
 * InvalidTransactionId otherwise. Share locks (creators of intentional
 * duplicates, foreign-key checks) are not waited for.
 */
TransactionId exclusive_locker(TupleTableSlot* slot)
{
    bool should_free = false;
    HeapTuple tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
    const HeapTupleHeader header = tuple->t_data;
    const uint16 infomask = header->t_infomask;
    TransactionId locker = InvalidTransactionId;
    const auto other_in_progress = [](TransactionId xid) {
        return !TransactionIdIsCurrentTransactionId(xid) && TransactionIdIsInProgress(xid);
    };
    if (infomask & HEAP_XMAX_INVALID || HEAP_LOCKED_UPGRADED(infomask)) {
        /* no locker, or one from before pg_upgrade: long gone */
    } else if (infomask & HEAP_XMAX_IS_MULTI) {
        MultiXactMember* members = nullptr;
        const int n = GetMultiXactIdMembers(HeapTupleHeaderGetRawXmax(header), &members, false,
                                            HEAP_XMAX_IS_LOCKED_ONLY(infomask));
        for (int i = 0; i < n && !TransactionIdIsValid(locker); ++i) {
            if ((members[i].status == MultiXactStatusForNoKeyUpdate ||
                 members[i].status == MultiXactStatusForUpdate) &&
                other_in_progress(members[i].xid))
                locker = members[i].xid;
        }
        if (members != nullptr)
            pfree(members);
    } else if (HEAP_XMAX_IS_LOCKED_ONLY(infomask) && HEAP_XMAX_IS_EXCL_LOCKED(infomask)) {
        const TransactionId xmax = HeapTupleHeaderGetRawXmax(header);
        if (other_in_progress(xmax))
            locker = xmax;
    }
    if (should_free)
        heap_freetuple(tuple);
    return locker;
}

/*
 * Adds the row version in slot, which the dirty snapshot sees, to found:
 * taken if no other transaction is changing it (or about to, if
 * lockers_too), else the first such transaction to wait for. True when
 * the probe can stop.
 */
bool consider(TupleTableSlot* slot, const SnapshotData& dirty, bool lockers_too, Probe& found)
{
    TransactionId other = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
    if (!TransactionIdIsValid(other) && lockers_too)
        other = exclusive_locker(slot);
    if (!TransactionIdIsValid(other)) {
        found.taken = true; /* committed, or this transaction's own */
        return true;
    }
    if (!TransactionIdIsValid(found.wait_for)) {
        found.wait_for = other;
        found.speculative_token = dirty.speculativeToken;
        found.tid = slot->tts_tid;
    }
    return false;
}

/* Whether the row version in slot is an active batch (INITIATED or ACTIVE). */
bool active_version(const KeySpace& space, TupleTableSlot* slot)
{
    bool isnull = false;
    const Datum status = slot_getattr(slot, space.columns.status, &isnull);
    return !isnull && is_active(batch_status_of(status));
}

/* Scans the key's active batches with a dirty snapshot; call through pg(). */
Probe probe_key(const KeySpace& space, std::int32_t configuration_id, Datum batch_type, std::int32_t ignore_id)
{
    Probe found;
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    TupleTableSlot* slot = table_slot_create(space.heap, nullptr);
    const auto skip = [&](TupleTableSlot* s) {
        bool isnull = false;
        return DatumGetInt32(slot_getattr(s, space.columns.id, &isnull)) == ignore_id;
    };
    if (Relation index = open_active_index(space)) {
        ScanKeyData keys[2];
        ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0],
                               F_INT4EQ, Int32GetDatum(configuration_id));
        ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[1],
                               F_TEXTEQ, batch_type);
        IndexScanDesc scan = index_beginscan(space.heap, index, &dirty, 2, 0);
        index_rescan(scan, keys, 2, nullptr, 0);
        /* Every entry is an active row version (the index's predicate; a HOT
         * chain never changes status) that the dirty snapshot may still see. */
        while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
            if (!skip(slot) && consider(slot, dirty, true, found))
                break;
        }
        index_endscan(scan);
        index_close(index, NoLock);
    } else {
        /* The same look-up in the table: every version of the key's rows
         * that the dirty snapshot sees, the active ones counted. */
        const TupleDesc desc = RelationGetDescr(space.heap);
        ScanKeyData keys[2];
        ScanKeyEntryInitialize(&keys[0], 0, space.columns.configuration_id, BTEqualStrategyNumber, InvalidOid,
                               TupleDescAttr(desc, space.columns.configuration_id - 1)->attcollation, F_INT4EQ,
                               Int32GetDatum(configuration_id));
        ScanKeyEntryInitialize(&keys[1], 0, space.columns.batch_type, BTEqualStrategyNumber, InvalidOid,
                               TupleDescAttr(desc, space.columns.batch_type - 1)->attcollation, F_TEXTEQ, batch_type);
        TableScanDesc scan = table_beginscan(space.heap, &dirty, 2, keys);
        while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
            if (active_version(space, slot) && !skip(slot) && consider(slot, dirty, true, found))
                break;
        }
        table_endscan(scan);
    }
    ExecDropSingleTupleTableSlot(slot);
    return found;
}

/*
 * Calls visit(slot) for each row version with this id that snapshot sees,
 * read through the primary key if it can be read, else the table, until
 * visit returns true; call through pg().
 */
template <typename Visit>
void scan_id(const KeySpace& space, std::int32_t id, Snapshot snapshot, Visit visit)
{
    TupleTableSlot* slot = table_slot_create(space.heap, nullptr);
    Relation index = nullptr;
    const Oid pkey = RelationGetPrimaryKeyIndex(space.heap);
    if (OidIsValid(pkey) && (index = try_relation_open(pkey, AccessShareLock)) != nullptr &&
        !(index_readable(index) && index->rd_index->indkey.values[0] == space.columns.id)) {
        relation_close(index, AccessShareLock);
        index = nullptr;
    }
    if (index != nullptr) {
        ScanKeyData key;
        ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, InvalidOid, F_INT4EQ,
                               Int32GetDatum(id));
        IndexScanDesc scan = index_beginscan(space.heap, index, snapshot, 1, 0);
        index_rescan(scan, &key, 1, nullptr, 0);
        while (index_getnext_slot(scan, ForwardScanDirection, slot)) {
            if (visit(slot))
                break;
        }
        index_endscan(scan);
        index_close(index, NoLock);
    } else {
        ScanKeyData key;
        ScanKeyEntryInitialize(&key, 0, space.columns.id, BTEqualStrategyNumber, InvalidOid, InvalidOid, F_INT4EQ,
                               Int32GetDatum(id));
        TableScanDesc scan = table_beginscan(space.heap, snapshot, 1, &key);
        while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
            if (visit(slot))
                break;
        }
        table_endscan(scan);
    }
    ExecDropSingleTupleTableSlot(slot);
}

/* Scans the row versions with this id with a dirty snapshot; call through pg(). */
Probe probe_id(const KeySpace& space, std::int32_t id)
{
    Probe found;
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    scan_id(space, id, &dirty, [&](TupleTableSlot* slot) { return consider(slot, dirty, false, found); });
    return found;
}

/*
 * Whether a fresh MVCC snapshot sees a row with this id; call through pg().
 * A dirty-snapshot scan of an index can miss a row that another transaction
 * is updating: it reads the index page before the new version's entry is
 * there, and then finds the old version dead because the update committed
 * meanwhile (PostgreSQL's own unique check holds the page lock to avoid
 * this; an index scan cannot). An MVCC snapshot sees either the old version
 * (the update committed after it was taken) or the new version's entry
 * (inserted before the update committed, so before the snapshot).
 */
bool id_visible(const KeySpace& space, std::int32_t id)
{
    const Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    bool seen = false;
    scan_id(space, id, snapshot, [&seen](TupleTableSlot*) {
        seen = true;
        return true;
    });
    UnregisterSnapshot(snapshot);
    return seen;
}

/* Waits for the transaction a probe found changing a row; holds no claim. Call through pg(). */
void wait_for(const KeySpace& space, const Probe& found)
{
    if (found.speculative_token != 0) {
        SpeculativeInsertionWait(found.wait_for, found.speculative_token);
    } else {
        ItemPointerData tid = found.tid;
        XactLockTableWait(found.wait_for, space.heap, &tid, XLTW_InsertIndexUnique);
    }
}

}  // namespace

bool claim_key(const KeySpace& space, std::int32_t configuration_id, Datum batch_type, std::int32_t ignore_id)
{
    const LOCKTAG tag = pg([&] { return claim_tag(configuration_id, batch_type); });
    for (;;) {
        lock_claim(tag);
        const Probe found = pg([&] { return probe_key(space, configuration_id, batch_type, ignore_id); });
        if (found.taken || !TransactionIdIsValid(found.wait_for))
            return found.taken;
        /* Never wait for a transaction while holding the claim: it may want it back. */
        unlock(claim);
        pg([&] { wait_for(space, found); });
    }
}

bool id_taken(const KeySpace& space, std::int32_t id)
{
    for (;;) {
        const Probe found = pg([&] { return probe_id(space, id); });
        if (found.taken)
            return true;
        /* Nothing seen: a row being updated at that moment may have been missed. */
        if (!TransactionIdIsValid(found.wait_for))
            return pg([&] { return id_visible(space, id); });
        /* Only when it must wait: irp_create_batch and irp_ensure_batch claim
         * the key before their INSERT and keep that claim through it. */
        unlock(claim);
        unlock(hold);
        pg([&] { wait_for(space, found); });
    }
}

bool claim_and_read_active(const KeySpace& space, Oid nsp, std::int32_t configuration_id, Datum batch_type,
                           std::int32_t ignore_id)
{
    Datum args[] = {Int32GetDatum(configuration_id), batch_type, Int32GetDatum(ignore_id)};
    /* A batch the probe saw may finish before the query reads it: probe again.
     * If it keeps changing, idx_batch_unique_active decides. */
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (!claim_key(space, configuration_id, batch_type, ignore_id))
            return false;
        if (spi_run_latest(prepared(Query::ActiveConflict, nsp), args, nullptr, 1) > 0)
            return true;
    }
    return false;
}

void hold_key(std::int32_t configuration_id, Datum batch_type)
{
    unlock(claim); /* the statement's previous row is in the indexes */
    acquire(hold, pg([&] { return claim_tag(configuration_id, batch_type); }));
}

/* Every moment ends the claim and the hold alike: the moment names why, for the caller's reader (key_claim.hpp). */
void end_claim(ClaimEnd)
{
    unlock(claim);
    unlock(hold);
}

}  // namespace irp

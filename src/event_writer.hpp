/*
 * event_writer.hpp: writing audit rows into irp_batch_event without SQL.
 *
 * The audit writes each row with a RowTarget (row_insert.hpp): the row's
 * other columns (the identity, event_ts, whatever an adopted table added)
 * take their defaults, NOT NULL, CHECK and generated columns are enforced,
 * and every index gets its entry, unique and exclusion checks included.
 *
 * A RowTarget runs no statement trigger and no rule, so this way is taken
 * only when irp_batch_event has none that would act on the row: no INSERT
 * trigger but the extension's own statement guard (whose job, letting only
 * the audit and the owner write, this is), no rule, a plain table, and the
 * columns the audit fills with their types. Otherwise open_event_table()
 * returns nullptr and the audit runs its INSERT statement through SPI,
 * which behaves as any INSERT does. Row-level security does not apply to
 * either way: the audit writes as the table's owner with ri_triggers.c's
 * flags, which exempt the owner even from FORCE ROW LEVEL SECURITY.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/relcache.h"
}

#include <cstdint>

namespace irp {

/* irp_batch_event opened for direct writing (opaque). */
struct EventTable;

/* One audit row: the columns the audit fills; the others take their defaults. */
struct EventRow {
    std::int32_t batch_id;
    const char* event;
    Datum reason; /* text; 0 for NULL */
    Datum actor;  /* text */
    Datum details; /* jsonb; 0 for NULL */
    /* The irp_batch_events notification (notifications.hpp), sent if notify is set: */
    bool notify;
    const char* status;           /* the batch's status after the event (DELETED: the row's); nullptr: null */
    std::int32_t configuration_id; /* 0: null */
    const char* batch_type;       /* nullptr: null */
    const char* actor_name;
};

/*
 * Opens irp_batch_event (relid) of the extension in schema nsp for direct
 * writes by the current user (its owner), or returns nullptr if it must be
 * written with SQL (see above). Call through pg(), as the owner.
 */
EventTable* open_event_table(Oid relid, Oid nsp);

/* The memory context of the row being built: reset after each write_event(). */
MemoryContext event_row_context(EventTable* table);

/* Writes one audit row, queues its notification if row.notify, and returns its id (0 if the
 * table's id is not a bigint). Frees what was built in event_row_context(). Call through pg(). */
std::int64_t write_event(EventTable* table, const EventRow& row);

/* Closes the table, keeping its lock to the end of the transaction. Call through pg(). */
void close_event_table(EventTable* table);

}  // namespace irp

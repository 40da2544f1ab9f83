/*
 * event_writer.cpp: audit rows written with the executor's row helpers
 * (event_writer.hpp says when and why).
 */
#include "event_writer.hpp"

#include <cstring>
#include <initializer_list>

extern "C" {
#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "notifications.hpp"
#include "row_insert.hpp"

namespace irp {

struct EventTable {
    Relation rel;
    RowTarget* target;
    AttrNumber id, batch_id, event, reason, actor, details; /* 0: no such column (only id may lack) */
    bool supplied[MaxHeapAttributeNumber];
};

namespace {

/* The attribute number of column name if it has type type; 0 if it lacks or has another type. */
AttrNumber column(Relation rel, const char* name, Oid type)
{
    const TupleDesc desc = RelationGetDescr(rel);
    for (int i = 0; i < desc->natts; ++i) {
        const Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && std::strcmp(NameStr(att->attname), name) == 0)
            return att->atttypid == type && !att->attgenerated ? static_cast<AttrNumber>(i + 1) : 0;
    }
    return 0;
}

/* Whether trigger t is the extension's own statement guard of irp_batch_event (arg: the schema). */
bool own_guard(const Trigger& t, void* arg)
{
    const Oid nsp = *static_cast<const Oid*>(arg);
    if (TRIGGER_FOR_ROW(t.tgtype) || t.tgqual != nullptr)
        return false;
    const char* name = own_function_name(t, nsp);
    return name != nullptr && std::strcmp(name, "irp_batch_event_guard") == 0;
}

}  // namespace

EventTable* open_event_table(Oid relid, Oid nsp)
{
    Relation rel = table_open(relid, RowExclusiveLock);
    EventTable t{};
    t.rel = rel;
    t.id = column(rel, "id", INT8OID);
    t.batch_id = column(rel, "batch_id", INT4OID);
    t.event = column(rel, "event", TEXTOID);
    t.reason = column(rel, "reason", TEXTOID);
    t.actor = column(rel, "actor", TEXTOID);
    t.details = column(rel, "details", JSONBOID);
    if (!t.batch_id || !t.event || !t.reason || !t.actor || !t.details || !plain_insert_target(rel, own_guard, &nsp)) {
        table_close(rel, NoLock);
        return nullptr;
    }
    auto* table = static_cast<EventTable*>(palloc(sizeof(EventTable)));
    *table = t;
    table->target = open_row_target(rel);
    for (const AttrNumber a : {t.batch_id, t.event, t.reason, t.actor, t.details})
        table->supplied[a - 1] = true;
    return table;
}

MemoryContext event_row_context(EventTable* table)
{
    return row_context(table->target);
}

std::int64_t write_event(EventTable* table, const EventRow& row)
{
    TupleTableSlot* slot = begin_row(table->target);
    const MemoryContext outer = MemoryContextSwitchTo(row_context(table->target));
    auto set = [slot](AttrNumber attnum, Datum value) {
        slot->tts_values[attnum - 1] = value;
        slot->tts_isnull[attnum - 1] = false;
    };
    set(table->batch_id, Int32GetDatum(row.batch_id));
    set(table->event, CStringGetTextDatum(row.event));
    if (row.reason != 0)
        set(table->reason, row.reason);
    set(table->actor, row.actor);
    if (row.details != 0)
        set(table->details, row.details);
    MemoryContextSwitchTo(outer);
    TupleTableSlot* stored = insert_row(table->target, table->supplied);
    bool isnull = true;
    const Datum id = table->id != 0 ? slot_getattr(stored, table->id, &isnull) : 0;
    const std::int64_t event_id = isnull ? 0 : DatumGetInt64(id);
    if (row.notify)
        notify_batch_event(event_id, row.batch_id, row.event, row.status, row.configuration_id, row.batch_type,
                           row.actor_name);
    end_row(table->target);
    return event_id;
}

void close_event_table(EventTable* table)
{
    const Relation rel = table->rel;
    close_row_target(table->target);
    table_close(rel, NoLock);
}

}  // namespace irp

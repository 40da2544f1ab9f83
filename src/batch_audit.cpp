/*
 * batch_audit.cpp: the AFTER INSERT/UPDATE/DELETE statement triggers on
 * irp_batch that write the audit trail from the transition tables.
 */
#include "batch_audit.hpp"


extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_proc.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
#include "executor/spi.h"
#include "utils/rel.h"
}

#include "rules/audit_events.hpp"
#include "rules/guard_rules.hpp"
#include "batch_table.hpp"
#include "enum_labels.hpp"
#include "event_details.hpp"
#include "event_writer.hpp"
#include "key_claim.hpp"
#include "notifications.hpp"
#include "pg_guard.hpp"
#include "rules/problem.hpp"
#include "queries.hpp"
#include "transition_rows.hpp"

namespace irp {

namespace {

/* The cancellation in progress, if any (batch id 0: none). */
struct PendingCancel {
    std::int32_t batch_id = 0;
    Datum details = 0;
};
PendingCancel pending_cancel;

/*
 * The events are written with the privileges of irp_batch_event's owner, and
 * so would every trigger on that table run: refuse if one runs a function
 * whose owner lacks the table owner's privileges (a role granted TRIGGER
 * could otherwise run code as the owner). Call through pg().
 */
void refuse_untrusted_triggers(Oid events, Oid owner)
{
    /* The lock the INSERT takes, which keeps CREATE TRIGGER out; a copy of the
     * triggers, since a catalog look-up below may rebuild the relcache entry. */
    Relation rel = table_open(events, RowExclusiveLock);
    const TriggerDesc* triggers = CopyTriggerDesc(rel->trigdesc);
    for (int i = 0; triggers != nullptr && i < triggers->numtriggers; ++i) {
        const Trigger& t = triggers->triggers[i];
        if (t.tgenabled == TRIGGER_DISABLED)
            continue;
        HeapTuple proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(t.tgfoid));
        if (!HeapTupleIsValid(proc))
            elog(ERROR, "irp_batch: cache lookup failed for function %u", t.tgfoid);
        const Oid function_owner = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc))->proowner;
        ReleaseSysCache(proc);
        if (!has_privs_of_role(function_owner, owner))
            ereport(ERROR,
                    (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                     errmsg("the audit trail will not run trigger \"%s\" on irp_batch_event", t.tgname),
                     errdetail("Events are written with the privileges of the table's owner, \"%s\"; the "
                               "trigger's function belongs to \"%s\", who lacks them.",
                               GetUserNameFromId(owner, false), GetUserNameFromId(function_owner, false)),
                     errhint("Drop the trigger, and grant no role TRIGGER on irp_batch_event."),
                     errtable(rel)));
    }
    table_close(rel, NoLock);
}

/* ---- Writing the events without SQL (event_writer.hpp) ---- */

std::int32_t int4_of(TupleTableSlot* slot, int attnum, bool* isnull)
{
    return DatumGetInt32(slot_getattr(slot, attnum, isnull));
}

/* Whether the rows' ids ascend, so that writing in their order writes in id order as the SQL does. */
bool ids_ascend(TransitionRows& rows, int id)
{
    bool first = true;
    std::int32_t previous = 0;
    while (TupleTableSlot* row = rows.next()) {
        bool isnull = false;
        const std::int32_t current = int4_of(row, id, &isnull);
        if (isnull || (!first && current <= previous))
            return false;
        previous = current;
        first = false;
    }
    rows.rewind();
    return true;
}

/* Whether the old and new rows pair up by id, in ascending order (an UPDATE that changed no id). */
bool pairs_ascend(TransitionRows& old_rows, TransitionRows& new_rows, int id)
{
    bool first = true;
    std::int32_t previous = 0;
    for (;;) {
        TupleTableSlot* o = old_rows.next();
        TupleTableSlot* n = new_rows.next();
        if (o == nullptr || n == nullptr) {
            if (o != n)
                return false;
            break;
        }
        bool old_null = false, new_null = false;
        const std::int32_t old_id = int4_of(o, id, &old_null);
        const std::int32_t new_id = int4_of(n, id, &new_null);
        if (old_null || new_null || old_id != new_id || (!first && new_id <= previous))
            return false;
        previous = new_id;
        first = false;
    }
    old_rows.rewind();
    new_rows.rewind();
    return true;
}

/* Whether the two versions of a text or varchar column are equal under its collation. */
bool same_text(TupleTableSlot* o, TupleTableSlot* n, int attnum)
{
    bool old_null = false, new_null = false;
    const Datum a = slot_getattr(o, attnum, &old_null);
    const Datum b = slot_getattr(n, attnum, &new_null);
    if (old_null || new_null)
        return true; /* as the SQL's <>, which is NULL then: no change recorded */
    const Oid collation = TupleDescAttr(o->tts_tupleDescriptor, attnum - 1)->attcollation;
    return DatumGetBool(DirectFunctionCall2Coll(texteq, collation, a, b));
}

/* What changed between o and n. */
RowChange row_change(TupleTableSlot* o, TupleTableSlot* n, const BatchTable& t)
{
    RowChange c;
    bool old_status_null = false, new_status_null = false;
    const Datum os = slot_getattr(o, t.status, &old_status_null);
    const Datum ns = slot_getattr(n, t.status, &new_status_null);
    c.status = !old_status_null && !new_status_null && DatumGetObjectId(os) != DatumGetObjectId(ns);
    bool on = false, nn = false;
    const std::int32_t oc = int4_of(o, t.configuration_id, &on);
    const std::int32_t nc = int4_of(n, t.configuration_id, &nn);
    c.key = (!on && !nn && oc != nc) || !same_text(o, n, t.batch_type);
    const std::int32_t od = int4_of(o, t.duplicate_of, &on);
    const std::int32_t nd = int4_of(n, t.duplicate_of, &nn);
    c.duplicate_of = on != nn || (!on && od != nd);
    bool id_null = false;
    const std::int32_t id = int4_of(n, t.id, &id_null);
    c.by_cancel = pending_cancel.batch_id != 0 && !id_null && id == pending_cancel.batch_id && !new_status_null &&
                  batch_status_of(ns) == BatchStatus::Cancelled;
    return c;
}

/* Writes the events of one INSERT, UPDATE or DELETE statement; false if they must be written with SQL. */
bool write_events_directly(TriggerData* td, const BatchTable& t, EventTable* events, Datum actor,
                           const char* actor_name)
{
    const TupleDesc desc = RelationGetDescr(td->tg_relation);
    const MemoryContext row_memory = event_row_context(events);
    const bool is_insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
    const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
    Tuplestorestate* main = is_insert || is_update ? td->tg_newtable : td->tg_oldtable;
    TransitionRows rows(main, desc);
    if (is_update) {
        TransitionRows old_rows(td->tg_oldtable, desc);
        /* Always: a single row whose id changed must not be paired either. */
        if (!pairs_ascend(old_rows, rows, t.id)) {
            old_rows.close();
            rows.close();
            return false;
        }
        while (TupleTableSlot* n = rows.next()) {
            TupleTableSlot* o = old_rows.next();
            const RowChange change = row_change(o, n, t);
            const AuditEvent event = update_event(change);
            if (event == AuditEvent::None)
                continue;
            const MemoryContext outer = MemoryContextSwitchTo(row_memory);
            EventRow row{};
            bool isnull = false;
            row.batch_id = int4_of(n, t.id, &isnull);
            row.event = event_name(event);
            row.actor = actor;
            if (event == AuditEvent::Cancelled) {
                row.reason = slot_getattr(n, t.cancel_reason, &isnull);
                if (isnull)
                    row.reason = 0;
                row.details = pending_cancel.details;
            } else {
                Details details;
                if (change.status) {
                    details.label("old_status", o, t.status);
                    details.label("new_status", n, t.status);
                }
                if (change.key) {
                    details.integer("old_configuration_id", o, t.configuration_id);
                    details.integer("new_configuration_id", n, t.configuration_id);
                    details.text("old_batch_type", o, t.batch_type);
                    details.text("new_batch_type", n, t.batch_type);
                }
                if (change.duplicate_of) {
                    details.integer("old_duplicate_of", o, t.duplicate_of);
                    details.integer("new_duplicate_of", n, t.duplicate_of);
                }
                row.details = details.finish();
            }
            notification_of(row, n, t, actor_name);
            MemoryContextSwitchTo(outer);
            write_event(events, row);
        }
        old_rows.close();
        rows.close();
        return true;
    }
    if (tuplestore_tuple_count(main) > 1 && !ids_ascend(rows, t.id)) {
        rows.close();
        return false;
    }
    while (TupleTableSlot* r = rows.next()) {
        const MemoryContext outer = MemoryContextSwitchTo(row_memory);
        const EventRow row =
            is_insert ? creation_event(r, t, actor, actor_name) : deletion_event(r, t, actor, actor_name);
        MemoryContextSwitchTo(outer);
        write_event(events, row);
    }
    rows.close();
    return true;
}

/* Writes the statement's events without SQL if it can; false if they must be written with SQL. Call through pg(). */
bool write_directly(TriggerData* td, const BatchTable& t, Oid events_relid, Datum actor)
{
    if (t.step_id == 0 || t.cancel_reason == 0)
        return false;
    /* No row, no event (an upsert that only updated fires its INSERT trigger with none): nothing to open. */
    const Tuplestorestate* main = TRIGGER_FIRED_BY_DELETE(td->tg_event) ? td->tg_oldtable : td->tg_newtable;
    if (main == nullptr || tuplestore_tuple_count(const_cast<Tuplestorestate*>(main)) == 0)
        return true;
    EventTable* events = open_event_table(events_relid, t.nsp);
    if (events == nullptr)
        return false;
    const bool written = write_events_directly(td, t, events, actor, TextDatumGetCString(actor));
    close_event_table(events);
    return written;
}

/* The trigger's body: the statement's events, written directly or by one INSERT INTO irp_batch_event. */
Datum audit_statement(FunctionCallInfo fcinfo)
{
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    const bool statement_level = CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_FOR_STATEMENT(td->tg_event);
    const bool after_dml = statement_level && TRIGGER_FIRED_AFTER(td->tg_event) &&
                           !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event);
    const bool before_truncate = statement_level && TRIGGER_FIRED_BEFORE(td->tg_event) &&
                                 TRIGGER_FIRED_BY_TRUNCATE(td->tg_event);
    if (!after_dml && !before_truncate) {
        throw trigger_misuse(
            "irp_batch_audit() must be fired AFTER INSERT, UPDATE or DELETE, or BEFORE TRUNCATE, FOR EACH STATEMENT");
    }
    const BatchTable& table = batch_table(fcinfo, td->tg_relation, "irp_batch_audit");
    const Oid nsp = table.nsp;
    /* The statement's last row is in the indexes. */
    end_claim(ClaimEnd::StatementEnd);
    Query query = Query::AuditTruncate;
    if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
        query = table.request_id != 0 ? Query::AuditInsertRequest : Query::AuditInsert;
    else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
        query = Query::AuditUpdate;
    else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
        query = Query::AuditDelete;
    if (!has_named_transition_tables(td)) {
        throw trigger_misuse("irp_batch_audit() needs the statement's transition tables, named old_rows and new_rows",
                             {}, "Create its triggers with REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows.");
    }

    /* The actor is the role that changed the batches; the event is written
     * with the audit table owner's privileges, which no application role
     * needs to have (docs/security.md). */
    const Datum actor = pg([] { return CStringGetTextDatum(GetUserNameFromId(GetUserId(), false)); });
    const Oid events = pg([nsp] {
        const Oid relid = get_relname_relid("irp_batch_event", nsp);
        if (!OidIsValid(relid))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("table \"irp_batch_event\" of the irp_batch extension does not exist")));
        return relid;
    });
    const Oid owner = pg([events] { return relation_owner(events); });
    if (query != Query::AuditTruncate) {
        RunAs as_owner(owner);
        if (pg([&] { return write_directly(td, table, events, actor); }))
            return PointerGetDatum(nullptr);
    }
    pg([events, owner] { refuse_untrusted_triggers(events, owner); });
    spi_connect();
    pg([td] {
        if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
            elog(ERROR, "irp_batch_audit(): SPI_register_trigger_data failed");
    });
    Datum args[] = {actor, Int32GetDatum(pending_cancel.batch_id), pending_cancel.details};
    const char nulls[] = {' ', ' ', pending_cancel.batch_id != 0 ? ' ' : 'n'};
    std::uint64_t written = 0;
    {
        RunAs as_owner(owner);
        written = spi_run(prepared(query, nsp), args, nulls, false, 0);
    }
    /* One notification per event written (notifications.hpp). */
    for (std::uint64_t i = 0; notify_enabled && i < written; ++i) {
        bool isnull = false;
        const std::int64_t event_id = DatumGetInt64(spi_value(i, 1, &isnull));
        const std::int32_t batch_id = DatumGetInt32(spi_value(i, 2, &isnull));
        const Datum configuration_id = spi_value(i, 5, &isnull);
        const char* status = spi_text(i, 4);
        const char* batch_type = spi_text(i, 6);
        notify_batch_event(event_id, batch_id, spi_text(i, 3), *status != '\0' ? status : nullptr,
                           isnull ? 0 : DatumGetInt32(configuration_id), *batch_type != '\0' ? batch_type : nullptr,
                           spi_text(i, 7));
    }
    spi_finish();
    return PointerGetDatum(nullptr);
}

}  // namespace

CancelScope::CancelScope(std::int32_t batch_id, Datum details) noexcept
    : outer_batch_id_(pending_cancel.batch_id), outer_details_(pending_cancel.details)
{
    pending_cancel = PendingCancel{batch_id, details};
}

CancelScope::~CancelScope()
{
    pending_cancel = PendingCancel{outer_batch_id_, outer_details_};
}

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_audit);

/* AFTER statement trigger on irp_batch: writes the audit trail. */
Datum irp_batch_audit(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::audit_statement(fcinfo); });
}

}

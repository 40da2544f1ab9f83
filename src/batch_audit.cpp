/*
 * batch_audit.cpp: the AFTER INSERT/UPDATE/DELETE statement triggers on
 * irp_batch that write the audit trail from the transition tables.
 */
#include "batch_audit.hpp"

#include <cstring>

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_proc.h"
#include "commands/trigger.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "executor/spi.h"
#include "utils/rel.h"
}

#include "batch_rules.hpp"
#include "batch_table.hpp"
#include "key_claim.hpp"
#include "notifications.hpp" /* issue 16 */
#include "pg_guard.hpp"
#include "problem.hpp"
#include "queries.hpp"

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
    Relation rel = table_open(events, AccessShareLock);
    const TriggerDesc* triggers = rel->trigdesc;
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

/* The trigger's body: one INSERT INTO irp_batch_event per statement. */
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
    /* The statement's last row is in the indexes: its key's claim can go. */
    release_claim();
    Query query = Query::AuditTruncate;
    bool has_transition_tables = true;
    if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
        query = table.request_id != 0 ? Query::AuditInsertRequest : Query::AuditInsert;
        has_transition_tables = td->tg_newtable != nullptr;
    } else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
        query = Query::AuditUpdate;
        has_transition_tables = td->tg_oldtable != nullptr && td->tg_newtable != nullptr;
    } else if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
        query = Query::AuditDelete;
        has_transition_tables = td->tg_oldtable != nullptr;
    }
    const Trigger* trigger = td->tg_trigger;
    auto named = [](const char* name, const char* expected) {
        return name == nullptr || std::strcmp(name, expected) == 0;
    };
    if (!has_transition_tables || !named(trigger->tgoldtable, "old_rows") ||
        !named(trigger->tgnewtable, "new_rows")) {
        throw trigger_misuse("irp_batch_audit() needs the statement's transition tables, named old_rows and new_rows",
                             {}, "Create its triggers with REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows.");
    }

    /* The actor is the role that changed the batches; the event is written
     * with the audit table owner's privileges, which no application role
     * needs to have (Security in README). */
    const Datum actor = pg([] { return CStringGetTextDatum(GetUserNameFromId(GetUserId(), false)); });
    const Oid owner = pg([nsp] {
        const Oid events = get_relname_relid("irp_batch_event", nsp);
        if (!OidIsValid(events))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("table \"irp_batch_event\" of the irp_batch extension does not exist")));
        const Oid events_owner = relation_owner(events);
        refuse_untrusted_triggers(events, events_owner);
        return events_owner;
    });
    spi_connect();
    pg([td] {
        if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
            elog(ERROR, "irp_batch_audit(): SPI_register_trigger_data failed");
    });
    Datum args[] = {actor, Int32GetDatum(pending_cancel.batch_id), pending_cancel.details};
    const char nulls[] = {' ', ' ', pending_cancel.batch_id != 0 ? ' ' : 'n'};
    std::uint64_t events = 0;
    {
        RunAs as_owner(owner);
        events = spi_run(prepared(query, nsp), args, nulls, false, 0);
    }
    /* issue 16: one notification per event written (notifications.hpp). */
    for (std::uint64_t i = 0; notify_enabled && i < events; ++i) {
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

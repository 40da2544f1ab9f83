/*
 * audit_table_guard.cpp: the BEFORE statement trigger on irp_batch_event that
 * keeps the audit trail unforgeable. Only the table's owner (and roles with
 * its privileges, such as superusers) may write it; the audit triggers on
 * irp_batch write as that owner, so no application role needs, or may use,
 * a privilege on it beyond SELECT.
 */
extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "rules/text.hpp"
#include "rules/problem.hpp"
#include "pg_guard.hpp"

namespace irp {

namespace {

/*
 * A role other than the audit table's owner wrote irp_batch_event directly
 * (SQLSTATE 42501); operation is "INSERT", "UPDATE", "DELETE" or "TRUNCATE".
 */
Problem audit_write_refused(std::string_view role, std::string_view operation, Origin where = Origin::here())
{
    Problem p(Code::InsufficientPrivilege, Text("only the irp_batch extension writes the audit trail"), where);
    p.detail = concat_parts({"Role \"", role, "\" may not ", operation,
                             " irp_batch_event: events are written by the triggers on irp_batch."});
    p.hint = Text("Change the batches instead; each change is recorded with your role as its actor.");
    p.table = "irp_batch_event";
    return p;
}

/* The statement's operation, as a word. */
std::string_view operation(TriggerEvent event) noexcept
{
    if (TRIGGER_FIRED_BY_INSERT(event)) return "INSERT into";
    if (TRIGGER_FIRED_BY_UPDATE(event)) return "UPDATE";
    if (TRIGGER_FIRED_BY_DELETE(event)) return "DELETE from";
    return "TRUNCATE";
}

/* The trigger's body. */
Datum guard_events(FunctionCallInfo fcinfo)
{
    auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
        !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
        throw trigger_misuse("irp_batch_event_guard() must be fired BEFORE a statement");
    const Relation rel = td->tg_relation;
    /* The owner's writes (the audit triggers' among them) pass at once. */
    const Oid user = GetUserId();
    if (pg([user, rel] { return has_privs_of_role(user, rel->rd_rel->relowner); }))
        return PointerGetDatum(nullptr);
    const bool ours = pg([fcinfo, rel] {
        return get_relname_relid("irp_batch_event", get_func_namespace(fcinfo->flinfo->fn_oid)) ==
               RelationGetRelid(rel);
    });
    if (!ours)
        throw trigger_misuse("irp_batch_event_guard() fires only on the irp_batch_event table of the irp_batch extension");
    const char* role = pg([user] { return GetUserNameFromId(user, false); });
    throw audit_write_refused(role, operation(td->tg_event));
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_event_guard);

/* BEFORE statement trigger on irp_batch_event: refuses writes by any role but its owner. */
Datum irp_batch_event_guard(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::guard_events(fcinfo); });
}

}

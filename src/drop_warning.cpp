/*
 * drop_warning.cpp: the ddl_command_start event trigger that warns when DROP
 * EXTENSION irp_batch CASCADE removes the guard and the audit from the
 * tables. The tables are not the extension's, so the drop keeps every batch,
 * job and audit event; without CASCADE PostgreSQL refuses it, naming the
 * triggers that run the extension's functions.
 */
extern "C" {
#include "postgres.h"
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

#include <cstring>

#include "rules/problem.hpp"
#include "pg_guard.hpp"

namespace irp {

namespace {

/* Whether tree is DROP EXTENSION ... irp_batch ... CASCADE. */
bool drops_extension_cascade(Node* tree)
{
    if (!IsA(tree, DropStmt))
        return false;
    auto* drop = reinterpret_cast<DropStmt*>(tree);
    if (drop->removeType != OBJECT_EXTENSION || drop->behavior != DROP_CASCADE)
        return false;
    ListCell* cell;
    foreach (cell, drop->objects) {
        Node* object = static_cast<Node*>(lfirst(cell));
        if (IsA(object, String) && std::strcmp(strVal(object), "irp_batch") == 0)
            return true;
    }
    return false;
}

/* The trigger's body. */
Datum warn_drop(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw trigger_misuse("irp_batch_drop_warning() must be fired as an event trigger");
    auto* event = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    pg([fcinfo, event] {
        if (!drops_extension_cascade(event->parsetree))
            return;
        const Oid nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
        if (!OidIsValid(get_relname_relid("irp_batch", nsp)))
            return;
        const char* schema = get_namespace_name(nsp);
        ereport(WARNING,
                (errcode(ERRCODE_WARNING),
                 errmsg("dropping extension irp_batch removes the duplicate guard and the audit trail from %s.irp_batch",
                        quote_identifier(schema)),
                 errdetail("The tables irp_batch, irp_job and irp_batch_event keep their rows. Until the extension "
                           "is created again, only the unique index idx_batch_unique_active refuses a second "
                           "active batch, with PostgreSQL's own message, and no change is recorded in irp_batch_event."),
                 errhint("CREATE EXTENSION irp_batch SCHEMA %s attaches the guard and the audit to the tables again.",
                         quote_identifier(schema))));
    });
    return Datum(0);
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_drop_warning);

/* ddl_command_start event trigger: warns that DROP EXTENSION irp_batch CASCADE leaves the tables unguarded. */
Datum irp_batch_drop_warning(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::warn_drop(fcinfo); });
}

}

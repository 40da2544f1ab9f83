/*
 * drop_guard.cpp: for databases still at 1.1 or 1.2, whose tables are
 * members of the extension (2.0 has no drop guard: its tables are not the
 * extension's, and drop_warning.cpp only warns). Kept so that installing
 * this library never takes the protection from a database that has not run
 * ALTER EXTENSION irp_batch UPDATE yet.
 *
 * The ddl_command_start event trigger that refuses DROP
 * EXTENSION irp_batch (and a DROP SCHEMA or DROP OWNED that would drop it)
 * while the extension's tables hold rows, unless irp_batch.confirm_drop is on.
 * Dropping the extension drops its tables, and every batch, job and audit
 * event with them.
 */
extern "C" {
#include "postgres.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/syscache.h"
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

#include "rules/text.hpp"
#include "rules/problem.hpp"
#include "pg_guard.hpp"
#include "queries.hpp"

namespace irp {

bool confirm_drop = false; /* the irp_batch.confirm_drop setting (irp_batch.cpp) */

namespace {

/*
 * DROP EXTENSION irp_batch while its tables hold rows, unconfirmed (SQLSTATE
 * 2BP01); the counts are told only when show_counts.
 */
Problem drop_refused(std::int64_t batches, std::int64_t jobs, std::int64_t events, bool show_counts,
                     Origin where = Origin::here())
{
    Problem p(Code::DependentObjectsStillExist, Text("cannot drop extension irp_batch while its tables hold data"),
              where);
    p.detail = show_counts ? concat_parts({"Dropping it would delete ", number_text(batches), " batches, ",
                                           number_text(jobs), " jobs and ", number_text(events), " audit events."})
                           : Text("Dropping it would delete its batches, jobs and audit events.");
    p.hint = Text("Take a backup with pg_dump first; then SET irp_batch.confirm_drop = on and drop it again.");
    return p;
}

/* Whether the DROP statement tree would drop the extension installed in schema nsp; call through pg(). */
bool drops_extension(Node* tree, Oid nsp)
{
    if (IsA(tree, DropStmt)) {
        auto* drop = reinterpret_cast<DropStmt*>(tree);
        ListCell* cell;
        foreach (cell, drop->objects) {
            Node* object = static_cast<Node*>(lfirst(cell));
            if (!IsA(object, String))
                continue;
            const char* name = strVal(object);
            if (drop->removeType == OBJECT_EXTENSION && strcmp(name, "irp_batch") == 0)
                return true;
            if (drop->removeType == OBJECT_SCHEMA && get_namespace_oid(name, true) == nsp)
                return true;
        }
        return false;
    }
    if (IsA(tree, DropOwnedStmt)) {
        /* It drops what the roles own: the extension's tables, or its schema with CASCADE. */
        auto* drop = reinterpret_cast<DropOwnedStmt*>(tree);
        const Oid table = get_relname_relid("irp_batch", nsp);
        const Oid table_owner = OidIsValid(table) ? relation_owner(table) : InvalidOid;
        HeapTuple schema = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
        Oid schema_owner = InvalidOid;
        if (HeapTupleIsValid(schema)) {
            schema_owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(schema))->nspowner;
            ReleaseSysCache(schema);
        }
        ListCell* cell;
        foreach (cell, drop->roles) {
            const Oid role = get_rolespec_oid(static_cast<RoleSpec*>(lfirst(cell)), true);
            if (OidIsValid(role) && (role == table_owner || role == schema_owner))
                return true;
        }
    }
    return false;
}

/* The trigger's body. */
Datum guard_drop(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw trigger_misuse("irp_batch_drop_guard() must be fired as an event trigger");
    if (confirm_drop)
        return Datum(0);
    auto* event = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    const Oid nsp = pg([fcinfo] { return get_func_namespace(fcinfo->flinfo->fn_oid); });
    if (!pg([event, nsp] { return drops_extension(event->parsetree, nsp); }))
        return Datum(0);

    const Oid table = pg([nsp] { return get_relname_relid("irp_batch", nsp); });
    if (!OidIsValid(table))
        return Datum(0);
    /* Lock the tables as the DROP would, then count with a fresh snapshot:
     * rows committed after this transaction's snapshot count too. */
    pg([nsp] {
        for (const char* name : {"irp_batch", "irp_job", "irp_batch_event"}) {
            const Oid relid = get_relname_relid(name, nsp);
            if (OidIsValid(relid))
                LockRelationOid(relid, AccessExclusiveLock);
        }
    });
    const Oid owner = pg([table] { return relation_owner(table); });
    spi_connect();
    std::int64_t batches = 0, jobs = 0, events = 0;
    {
        RunAs as_owner(owner);
        spi_run_latest(prepared(Query::RowCounts, nsp), nullptr, nullptr, 1);
        bool isnull = false;
        batches = DatumGetInt64(spi_value(0, 1, &isnull));
        jobs = DatumGetInt64(spi_value(0, 2, &isnull));
        events = DatumGetInt64(spi_value(0, 3, &isnull));
    }
    if (batches == 0 && jobs == 0 && events == 0) {
        spi_finish();
        return Datum(0);
    }
    /* Only those who may read the tables learn how much they hold. */
    const bool may_know = pg([owner] { return has_privs_of_role(GetUserId(), owner); });
    throw drop_refused(batches, jobs, events, may_know); /* the abort closes SPI (queries.hpp) */
}

}  // namespace

}  // namespace irp

extern "C" {

PG_FUNCTION_INFO_V1(irp_batch_drop_guard);

/* ddl_command_start event trigger: refuses to drop the extension while its tables hold rows. */
Datum irp_batch_drop_guard(PG_FUNCTION_ARGS)
{
    return irp::entry_point([&] { return irp::guard_drop(fcinfo); });
}

}

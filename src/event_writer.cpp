/*
 * event_writer.cpp: audit rows written with the executor's row helpers
 * (event_writer.hpp says when and why).
 */
#include "event_writer.hpp"

#include <cstring>

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace irp {

struct EventTable {
    Relation rel;
    EState* estate;
    ResultRelInfo* info;
    TupleTableSlot* slot;
    AttrNumber id, batch_id, event, reason, actor, details; /* 0: no such column (only id may lack) */
    int defaults;                   /* how many other columns have a default */
    AttrNumber* default_columns;
    ExprState** default_values;
};

namespace {

/* The attribute number of column name if it has type type; 0 if it lacks or has another type. */
AttrNumber column(Relation rel, const char* name, Oid type)
{
    const AttrNumber attnum = get_attnum(RelationGetRelid(rel), name);
    if (attnum <= 0)
        return 0;
    const Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
    return att->atttypid == type && !att->attgenerated ? attnum : 0;
}

/* Whether trigger t is the extension's own statement guard of irp_batch_event. */
bool own_guard(const Trigger& t, Oid nsp)
{
    if (TRIGGER_FOR_ROW(t.tgtype) || get_func_namespace(t.tgfoid) != nsp)
        return false;
    const char* name = get_func_name(t.tgfoid);
    return name != nullptr && std::strcmp(name, "irp_batch_event_guard") == 0;
}

/* Whether an INSERT into rel runs nothing but what ExecSimpleRelationInsert runs. */
bool plain_insert_target(Relation rel, Oid nsp)
{
    const Form_pg_class form = rel->rd_rel;
    if (form->relkind != RELKIND_RELATION || form->relhasrules)
        return false;
    const TriggerDesc* triggers = rel->trigdesc;
    for (int i = 0; triggers != nullptr && i < triggers->numtriggers; ++i) {
        const Trigger& t = triggers->triggers[i];
        if (t.tgenabled != TRIGGER_DISABLED && TRIGGER_FOR_INSERT(t.tgtype) && !own_guard(t, nsp))
            return false;
    }
    return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK;
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
    if (!t.batch_id || !t.event || !t.reason || !t.actor || !t.details || !plain_insert_target(rel, nsp)) {
        table_close(rel, NoLock);
        return nullptr;
    }

    /* The executor state of one INSERT into rel, as the apply worker makes it. */
    EState* estate = CreateExecutorState();
    const MemoryContext outer = MemoryContextSwitchTo(estate->es_query_cxt);
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = relid;
    rte->relkind = rel->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    ExecInitRangeTable(estate, list_make1(rte));
    ResultRelInfo* info = makeNode(ResultRelInfo);
    InitResultRelInfo(info, rel, 1, nullptr, 0);
    estate->es_output_cid = GetCurrentCommandId(true);
    ExecOpenIndices(info, false);

    /* The defaults of the other columns (the identity, event_ts, whatever an
     * adopted table added), planned once for the statement, as COPY does. */
    const TupleDesc desc = RelationGetDescr(rel);
    auto* table = static_cast<EventTable*>(palloc(sizeof(EventTable)));
    *table = t;
    table->estate = estate;
    table->info = info;
    table->slot = table_slot_create(rel, &estate->es_tupleTable);
    table->defaults = 0;
    table->default_columns = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * desc->natts));
    table->default_values = static_cast<ExprState**>(palloc(sizeof(ExprState*) * desc->natts));
    for (int i = 0; i < desc->natts; ++i) {
        const Form_pg_attribute att = TupleDescAttr(desc, i);
        const AttrNumber attnum = static_cast<AttrNumber>(i + 1);
        if (att->attisdropped || att->attgenerated || attnum == t.batch_id || attnum == t.event ||
            attnum == t.reason || attnum == t.actor || attnum == t.details)
            continue;
        Node* value = build_column_default(rel, attnum);
        if (value == nullptr)
            continue;
        table->default_columns[table->defaults] = attnum;
        table->default_values[table->defaults] = ExecInitExpr(expression_planner(reinterpret_cast<Expr*>(value)), nullptr);
        ++table->defaults;
    }
    MemoryContextSwitchTo(outer);
    return table;
}

MemoryContext event_row_context(EventTable* table)
{
    return GetPerTupleMemoryContext(table->estate);
}

std::int64_t write_event(EventTable* table, const EventRow& row)
{
    EState* estate = table->estate;
    TupleTableSlot* slot = table->slot;
    ExprContext* econtext = GetPerTupleExprContext(estate);
    const MemoryContext outer = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
    ExecClearTuple(slot);
    const int natts = slot->tts_tupleDescriptor->natts;
    for (int i = 0; i < natts; ++i) {
        slot->tts_values[i] = 0;
        slot->tts_isnull[i] = true;
    }
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
    for (int i = 0; i < table->defaults; ++i) {
        const int at = table->default_columns[i] - 1;
        slot->tts_values[at] = ExecEvalExpr(table->default_values[i], econtext, &slot->tts_isnull[at]);
    }
    /* Read before the insert, which may materialize the slot's tuple. */
    const std::int64_t id =
        table->id != 0 && !slot->tts_isnull[table->id - 1] ? DatumGetInt64(slot->tts_values[table->id - 1]) : 0;
    ExecStoreVirtualTuple(slot);
    ExecSimpleRelationInsert(table->info, estate, slot);
    MemoryContextSwitchTo(outer);
    ResetPerTupleExprContext(estate);
    return id;
}

void close_event_table(EventTable* table)
{
    /* The table's own memory is the executor state's: read what is needed first. */
    const Relation rel = table->rel;
    ExecCloseIndices(table->info);
    ExecResetTupleTable(table->estate->es_tupleTable, false);
    FreeExecutorState(table->estate);
    table_close(rel, NoLock);
}

}  // namespace irp

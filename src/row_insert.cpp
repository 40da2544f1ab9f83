/*
 * row_insert.cpp: single-row inserts with the executor's row helpers, and
 * the per-backend cache of planned defaults and CHECK constraints
 * (row_insert.hpp says when and why).
 */
#include "row_insert.hpp"

#include <cstdint>

extern "C" {
#include "access/htup_details.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
}

namespace irp {

namespace {

/*
 * The column defaults and CHECK constraints of one table, read from their
 * stored text (stringToNode) but not planned: planning (constant folding,
 * inlining SQL functions, whose EXECUTE privilege it checks) happens for
 * each statement, as the current user, as PostgreSQL does it.
 */
struct ParsedTable {
    Oid relid = InvalidOid;
    int ndefaults = 0;
    AttrNumber* default_columns = nullptr;
    Expr** defaults = nullptr;
    int nchecks = 0;
    Expr** checks = nullptr; /* in the order of the relcache's TupleConstr.check */
    MemoryContext memory = nullptr; /* all of the above */
    bool kept = false;              /* in the cache; else the caller deletes memory */
};

/* The extension writes three tables: a few entries suffice. */
constexpr int cache_size = 8;
ParsedTable cache[cache_size];
bool callback_registered = false;
/* Counts relcache invalidations: an entry parsed while one arrived is not kept. */
std::uint64_t invalidations = 0;

/* Forgets every parsed table. Safe at any time: an open RowTarget has copies. */
void forget_all()
{
    for (ParsedTable& p : cache) {
        if (p.memory != nullptr)
            MemoryContextDelete(p.memory);
        p = ParsedTable{};
    }
}

/* Relcache callback: a table changed (InvalidOid: every table). */
void relation_changed(Datum, Oid relid)
{
    ++invalidations;
    for (const ParsedTable& p : cache) {
        if (relid == InvalidOid || p.relid == relid) {
            forget_all(); /* rare: start over rather than track each entry's memory */
            return;
        }
    }
}

/*
 * The default of column att as an INSERT that leaves it out gets it: its
 * default expression, or for a column of a domain type without one a NULL
 * checked against the domain (as the rewriter makes it); nullptr: NULL.
 */
Node* column_default(Relation rel, Form_pg_attribute att)
{
    Node* value = build_column_default(rel, att->attnum);
    if (value != nullptr || get_typtype(att->atttypid) != TYPTYPE_DOMAIN)
        return value;
    value = reinterpret_cast<Node*>(makeConst(att->atttypid, -1, att->attcollation, att->attlen, 0, true,
                                              att->attbyval));
    return coerce_to_domain(value, InvalidOid, -1, att->atttypid, COERCION_IMPLICIT, COERCE_IMPLICIT_CAST, -1,
                            false);
}

/*
 * The parsed defaults and checks of rel, from the cache or parsed now, in a
 * context that the caller's ends with unless the entry is kept (a failure
 * while parsing leaks nothing). Copy what you need before anything that can
 * take a lock: an invalidation may free a kept entry.
 */
ParsedTable parsed(Relation rel)
{
    const Oid relid = RelationGetRelid(rel);
    for (const ParsedTable& p : cache) {
        if (p.relid == relid)
            return p;
    }
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(relation_changed, 0);
        callback_registered = true;
    }
    const std::uint64_t seen = invalidations;
    ParsedTable fresh;
    fresh.memory = AllocSetContextCreate(CurrentMemoryContext, "irp_batch parsed defaults and checks",
                                         ALLOCSET_SMALL_SIZES);
    const MemoryContext outer = MemoryContextSwitchTo(fresh.memory);
    const TupleDesc desc = RelationGetDescr(rel);
    fresh.default_columns = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * (desc->natts + 1)));
    fresh.defaults = static_cast<Expr**>(palloc(sizeof(Expr*) * (desc->natts + 1)));
    for (int i = 0; i < desc->natts; ++i) {
        const Form_pg_attribute att = TupleDescAttr(desc, i);
        if (att->attisdropped || att->attgenerated)
            continue;
        Node* value = column_default(rel, att);
        if (value == nullptr)
            continue;
        fresh.default_columns[fresh.ndefaults] = static_cast<AttrNumber>(i + 1);
        fresh.defaults[fresh.ndefaults] = reinterpret_cast<Expr*>(value);
        ++fresh.ndefaults;
    }
    const TupleConstr* constr = desc->constr;
    fresh.nchecks = constr != nullptr ? constr->num_check : 0;
    fresh.checks = static_cast<Expr**>(palloc(sizeof(Expr*) * (fresh.nchecks + 1)));
    for (int i = 0; i < fresh.nchecks; ++i)
        fresh.checks[i] = static_cast<Expr*>(stringToNode(constr->check[i].ccbin));
    MemoryContextSwitchTo(outer);
    fresh.relid = relid;
    if (invalidations != seen)
        return fresh; /* maybe parsed from a stale description: used once, not kept */
    MemoryContextSetParent(fresh.memory, CacheMemoryContext);
    fresh.kept = true;
    ParsedTable* slot = nullptr;
    for (ParsedTable& p : cache) {
        if (p.relid == InvalidOid) {
            slot = &p;
            break;
        }
    }
    if (slot == nullptr) {
        forget_all();
        slot = &cache[0];
    }
    *slot = fresh;
    return fresh;
}

/* Whether trigger t is a row trigger of one of PostgreSQL's foreign keys. */
bool foreign_key_trigger(const Trigger& t)
{
    return t.tgisinternal && OidIsValid(t.tgconstraint) && TRIGGER_FOR_ROW(t.tgtype) && t.tgnargs == 0 &&
           RI_FKey_trigger_type(t.tgfoid) != RI_TRIGGER_NONE;
}

}  // namespace

struct RowTarget {
    EState* estate;
    ResultRelInfo* info;
    TupleTableSlot* slot;
    int ndefaults;
    AttrNumber* default_columns;
    ExprState** defaults;
};

const char* own_function_name(const Trigger& t, Oid nsp)
{
    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(t.tgfoid));
    if (!HeapTupleIsValid(tuple))
        return nullptr;
    const Form_pg_proc proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
    const char* name = proc->pronamespace == nsp ? pstrdup(NameStr(proc->proname)) : nullptr;
    ReleaseSysCache(tuple);
    return name;
}

bool trigger_fires(const Trigger& t)
{
    if (t.tgenabled == TRIGGER_DISABLED)
        return false;
    if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
        return t.tgenabled != TRIGGER_FIRES_ON_ORIGIN;
    return t.tgenabled != TRIGGER_FIRES_ON_REPLICA;
}

bool plain_insert_target(Relation rel, OwnTrigger own_trigger, void* arg)
{
    const Form_pg_class form = rel->rd_rel;
    if (form->relkind != RELKIND_RELATION || form->relhasrules ||
        check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
        return false;
    /* A copy: own_trigger's catalog look-ups may accept an invalidation that rebuilds rel's entry. */
    const TriggerDesc* triggers = CopyTriggerDesc(rel->trigdesc);
    for (int i = 0; triggers != nullptr && i < triggers->numtriggers; ++i) {
        const Trigger& t = triggers->triggers[i];
        if (t.tgenabled != TRIGGER_DISABLED && TRIGGER_FOR_INSERT(t.tgtype) && !foreign_key_trigger(t) &&
            !own_trigger(t, arg))
            return false;
    }
    /* INSERT, and SELECT as the statement's RETURNING needs (each: pg_class_aclcheck takes any of several). */
    return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK &&
           pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) == ACLCHECK_OK;
}

RowTarget* open_row_target(Relation rel)
{
    EState* estate = CreateExecutorState();
    const MemoryContext outer = MemoryContextSwitchTo(estate->es_query_cxt);
    auto* target = static_cast<RowTarget*>(palloc(sizeof(RowTarget)));
    /*
     * First, copies of the parsed defaults and checks, before anything that
     * can take a lock: taking one accepts invalidation messages, which may
     * make the cache forget the entry (a REINDEX CONCURRENTLY elsewhere
     * does), and the entry must not be read after that. They are planned
     * below, for this statement and as the current user, as PostgreSQL
     * plans a table's checks for each INSERT.
     */
    const ParsedTable plan = parsed(rel);
    const int nchecks = plan.nchecks;
    Expr** checks = static_cast<Expr**>(palloc(sizeof(Expr*) * (nchecks + 1)));
    for (int i = 0; i < nchecks; ++i)
        checks[i] = static_cast<Expr*>(copyObjectImpl(plan.checks[i]));
    target->ndefaults = plan.ndefaults;
    target->default_columns = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * (plan.ndefaults + 1)));
    Expr** defaults = static_cast<Expr**>(palloc(sizeof(Expr*) * (plan.ndefaults + 1)));
    for (int i = 0; i < plan.ndefaults; ++i) {
        target->default_columns[i] = plan.default_columns[i];
        defaults[i] = static_cast<Expr*>(copyObjectImpl(plan.defaults[i]));
    }
    if (!plan.kept)
        MemoryContextDelete(plan.memory); /* parsed for this statement only */

    /* The executor state of one INSERT into rel, as the apply worker makes it. */
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = RelationGetRelid(rel);
    rte->relkind = rel->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    ExecInitRangeTable(estate, list_make1(rte));
    ResultRelInfo* info = makeNode(ResultRelInfo);
    InitResultRelInfo(info, rel, 1, nullptr, 0);
    /* Listed as opened, so that AFTER row triggers find it (ExecGetTriggerResultRel)
     * and ExecCloseResultRelations closes its indexes. */
    estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, info);
    estate->es_output_cid = GetCurrentCommandId(true);
    ExecOpenIndices(info, false);
    /* The checks, ready before ExecConstraints would plan them again from their text. */
    if (nchecks > 0 && rel->rd_att->constr != nullptr && nchecks == rel->rd_att->constr->num_check) {
        info->ri_ConstraintExprs = static_cast<ExprState**>(palloc(sizeof(ExprState*) * nchecks));
        for (int i = 0; i < nchecks; ++i)
            info->ri_ConstraintExprs[i] = ExecPrepareExpr(checks[i], estate);
    }
    target->estate = estate;
    target->info = info;
    target->slot = table_slot_create(rel, &estate->es_tupleTable);
    target->defaults = static_cast<ExprState**>(palloc(sizeof(ExprState*) * (target->ndefaults + 1)));
    for (int i = 0; i < target->ndefaults; ++i)
        target->defaults[i] = ExecPrepareExpr(defaults[i], estate);
    MemoryContextSwitchTo(outer);
    /* AFTER row triggers (foreign key checks) are queued for this level and fired at close. */
    AfterTriggerBeginQuery();
    return target;
}

MemoryContext row_context(RowTarget* target)
{
    return GetPerTupleMemoryContext(target->estate);
}

TupleTableSlot* begin_row(RowTarget* target)
{
    TupleTableSlot* slot = target->slot;
    ExecClearTuple(slot);
    for (int i = 0; i < slot->tts_tupleDescriptor->natts; ++i) {
        slot->tts_values[i] = 0;
        slot->tts_isnull[i] = true;
    }
    return slot;
}

TupleTableSlot* insert_row(RowTarget* target, const bool* supplied)
{
    EState* estate = target->estate;
    TupleTableSlot* slot = target->slot;
    ExprContext* econtext = GetPerTupleExprContext(estate);
    const MemoryContext outer = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
    for (int i = 0; i < target->ndefaults; ++i) {
        const int at = target->default_columns[i] - 1;
        if (!supplied[at])
            slot->tts_values[at] = ExecEvalExpr(target->defaults[i], econtext, &slot->tts_isnull[at]);
    }
    ExecStoreVirtualTuple(slot);
    ExecSimpleRelationInsert(target->info, estate, slot);
    /* The stored row is materialized in the slot's own memory: the row's may go (end_row()). */
    ExecMaterializeSlot(slot);
    MemoryContextSwitchTo(outer);
    return slot;
}

void end_row(RowTarget* target)
{
    ResetPerTupleExprContext(target->estate);
}

void close_row_target(RowTarget* target)
{
    EState* estate = target->estate;
    AfterTriggerEndQuery(estate);
    /* The indexes, and any relation an AFTER trigger opened (as ExecutorEnd closes them). */
    ExecCloseResultRelations(estate);
    ExecCloseRangeTableRelations(estate);
    ExecResetTupleTable(estate->es_tupleTable, false);
    FreeExecutorState(estate);
}

}  // namespace irp

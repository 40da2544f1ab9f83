/*
 * transition_rows.hpp: reading a statement's transition table (the OLD
 * TABLE or NEW TABLE of an AFTER statement trigger) in C++, from its start,
 * with a read pointer of its own, as a NamedTuplestoreScan reads it, so
 * that other readers of the same table are not disturbed. The methods call
 * PostgreSQL: use them inside pg().
 */
#pragma once

#include <cstring>

extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
}

namespace irp {

/* A transition table read from its start, with a read pointer of its own. */
class TransitionRows {
public:
    TransitionRows(Tuplestorestate* rows, TupleDesc desc)
        : rows_(rows), slot_(MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple)),
          pointer_(tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND))
    {
        rewind();
    }
    /* Back to the first row. */
    void rewind()
    {
        tuplestore_select_read_pointer(rows_, pointer_);
        tuplestore_rescan(rows_);
    }
    /* The next row (the slot), or nullptr at the end. */
    TupleTableSlot* next()
    {
        tuplestore_select_read_pointer(rows_, pointer_);
        return tuplestore_gettupleslot(rows_, true, false, slot_) ? slot_ : nullptr;
    }
    /* Drops the slot. */
    void close() { ExecDropSingleTupleTableSlot(slot_); }

private:
    Tuplestorestate* rows_;
    TupleTableSlot* slot_;
    int pointer_;
};

/*
 * Whether the trigger that fired (td) has the transition tables its event
 * needs (INSERT: new, DELETE: old, UPDATE: both, TRUNCATE: none), named old_rows and
 * new_rows, as the extension's trigger functions read them.
 */
inline bool has_named_transition_tables(const TriggerData* td)
{
    const bool truncate = TRIGGER_FIRED_BY_TRUNCATE(td->tg_event); /* has none */
    const bool needs_old = !truncate && !TRIGGER_FIRED_BY_INSERT(td->tg_event);
    const bool needs_new = !truncate && !TRIGGER_FIRED_BY_DELETE(td->tg_event);
    if ((needs_old && td->tg_oldtable == nullptr) || (needs_new && td->tg_newtable == nullptr))
        return false;
    auto named = [](const char* name, const char* expected) {
        return name == nullptr || std::strcmp(name, expected) == 0;
    };
    return named(td->tg_trigger->tgoldtable, "old_rows") && named(td->tg_trigger->tgnewtable, "new_rows");
}

}  // namespace irp

/*
 * row_insert.hpp: inserting single rows into the extension's tables without
 * SQL, the way PostgreSQL's logical replication apply does
 * (ExecSimpleRelationInsert): BEFORE and AFTER row triggers, generated
 * columns, NOT NULL and CHECK constraints, the heap and every index,
 * including unique and exclusion checks.
 *
 * What it saves over an INSERT statement is the statement: parsing or plan
 * look-up, executor start-up, and PostgreSQL's re-reading of the table's
 * CHECK constraints and column defaults from their stored text for each
 * statement (stringToNode). The parsed trees are kept per backend until the
 * table changes (relcache invalidation); they are planned for each
 * statement as the current user (EXECUTE privileges of inlined functions
 * checked as an INSERT checks them). A column of a domain type left out
 * gets a NULL checked against the domain, as the rewriter gives it.
 *
 * What an INSERT statement runs and this does not: statement triggers,
 * rules, row-level security policies, the privilege checks. Callers take
 * this way only where none of these applies (plain_insert_target()), and
 * otherwise run their INSERT statement.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "executor/tuptable.h"
#include "utils/reltrigger.h"
#include "utils/relcache.h"
}

namespace irp {

/* A table opened for single-row inserts (opaque). */
struct RowTarget;

/* An INSERT trigger of the caller's, which a RowTarget fires (row triggers) or the caller replaces. */
using OwnTrigger = bool (*)(const Trigger& trigger, void* arg);

/*
 * Whether an INSERT into rel by the current user runs nothing but what a
 * RowTarget runs: rel is a plain table without rules and without row-level
 * security for the current user, the user may insert into it and read it
 * (as the statement's RETURNING needs), and every
 * enabled INSERT trigger is a row trigger of PostgreSQL's own foreign keys
 * or one that own_trigger(trigger, arg) accepts. Call through pg().
 */
bool plain_insert_target(Relation rel, OwnTrigger own_trigger, void* arg);

/* The name of trigger's function if it is a function of schema nsp (the extension's own), else nullptr. Call through pg(). */
const char* own_function_name(const Trigger& trigger, Oid nsp);

/* Whether trigger fires in this session (its ENABLE mode and session_replication_role), as trigger.c decides. */
bool trigger_fires(const Trigger& trigger);

/* Opens rel (opened and locked by the caller) for inserts; call through pg(). */
RowTarget* open_row_target(Relation rel);

/* The memory context to build the row's values in: reset by end_row(). */
MemoryContext row_context(RowTarget* target);

/* Starts the next row: a slot with every column NULL; set the caller's columns in its
 * tts_values and tts_isnull, then insert_row(). Call through pg(). */
TupleTableSlot* begin_row(RowTarget* target);

/*
 * Fills every column that has a default and that the caller did not set
 * (supplied[attnum - 1] false) with it, inserts the row and returns its
 * slot (the stored row), valid until the next begin_row(). Call through pg().
 */
TupleTableSlot* insert_row(RowTarget* target, const bool* supplied);

/* Ends the row: frees what was built in row_context(). */
void end_row(RowTarget* target);

/* Ends the row inserts (fires the queued AFTER row triggers) and closes the indexes; call through pg(). */
void close_row_target(RowTarget* target);

}  // namespace irp

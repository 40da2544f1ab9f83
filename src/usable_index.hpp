/*
 * usable_index.hpp: opening one of the extension's indexes by name when a
 * direct read of it returns what a query would: a live, ready and valid
 * btree on the given table whose first key column is the given one. The
 * direct readers (active_batches.cpp, job_progress.cpp) fall back to SQL
 * when it returns nullptr.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/rel.h"
}

namespace irp {

/* Whether index can be read as complete (live, ready and valid): what PostgreSQL's planner requires of it. */
bool index_readable(Relation index);

/* Index name of schema nsp on heap, opened (AccessShareLock), or nullptr if missing or unusable. Call through pg(). */
Relation open_usable_index(Oid nsp, const char* name, Relation heap, AttrNumber first_column);

}  // namespace irp

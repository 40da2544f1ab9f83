/*
 * usable_index.cpp: the check of an index a direct read may use (usable_index.hpp).
 */
#include "usable_index.hpp"

extern "C" {
#include "access/relation.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "utils/lsyscache.h"
}

namespace irp {

bool index_readable(Relation index)
{
    const Form_pg_index form = index->rd_index;
    return index->rd_rel->relkind == RELKIND_INDEX && form->indislive && form->indisready && form->indisvalid;
}

Relation open_usable_index(Oid nsp, const char* name, Relation heap, AttrNumber first_column)
{
    const Oid oid = get_relname_relid(name, nsp);
    if (!OidIsValid(oid))
        return nullptr;
    Relation index = try_relation_open(oid, AccessShareLock);
    if (index == nullptr)
        return nullptr;
    const Form_pg_index form = index->rd_index;
    if (!index_readable(index) || index->rd_rel->relam != BTREE_AM_OID || form->indrelid != RelationGetRelid(heap) ||
        form->indkey.values[0] != first_column) {
        relation_close(index, AccessShareLock);
        return nullptr;
    }
    return index;
}

}  // namespace irp

/*
 * enum_labels.cpp: the per-backend cache of enum labels (enum_labels.hpp).
 */
#include "enum_labels.hpp"

#include <cstring>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace irp {

namespace {

/* One cached value: its OID, label and status. */
struct Entry {
    Oid oid = InvalidOid;
    BatchStatus status = BatchStatus::Other;
    float4 order = 0;
    char label[NAMEDATALEN] = {};
};

/* A few entries are enough: the statuses of the two enums, about a dozen. */
constexpr int capacity = 32;
Entry entries[capacity];
int used = 0;
bool callback_registered = false;

/* Syscache callback: some enum label changed; forget every label. */
void labels_changed(Datum, int, uint32) { used = 0; }

/* The entry of value, looked up in the catalog if it is not cached. */
const Entry& entry(Datum value)
{
    const Oid oid = DatumGetObjectId(value);
    for (int i = 0; i < used; ++i) {
        if (entries[i].oid == oid)
            return entries[i];
    }
    if (!callback_registered) {
        CacheRegisterSyscacheCallback(ENUMOID, labels_changed, 0);
        callback_registered = true;
    }
    HeapTuple tuple = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
    if (!HeapTupleIsValid(tuple))
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("invalid internal value for enum: %u", oid)));
    Entry fresh;
    fresh.oid = oid;
    std::memcpy(fresh.label, NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple))->enumlabel), NAMEDATALEN);
    fresh.label[NAMEDATALEN - 1] = 0;
    fresh.order = reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple))->enumsortorder;
    ReleaseSysCache(tuple);
    fresh.status = parse_batch_status(fresh.label);
    if (used == capacity)
        used = 0; /* a database with more statuses than this: start over */
    entries[used] = fresh;
    return entries[used++];
}

}  // namespace

EnumLabel enum_label(Datum value)
{
    EnumLabel out;
    std::memcpy(out.text, entry(value).label, NAMEDATALEN);
    return out;
}

float4 enum_sort_order(Datum value)
{
    return entry(value).order;
}

BatchStatus batch_status_of(Datum value)
{
    return entry(value).status;
}

}  // namespace irp

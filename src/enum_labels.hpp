/*
 * enum_labels.hpp: the labels of batch_status_enum and job_status_enum
 * values, cached per backend.
 *
 * A status is compared by its label (rules/guard_rules.hpp), but looking a label
 * up is a catalog cache search per row. This cache keeps the labels of the
 * values a backend has met, by OID, and forgets them all when any enum
 * label changes (ALTER TYPE ... ADD or RENAME VALUE), through a syscache
 * invalidation callback.
 */
#pragma once

extern "C" {
#include "postgres.h"
}

#include "rules/guard_rules.hpp"

namespace irp {

/* An enum label, copied out of the cache (a later look-up may reuse its entry). */
struct EnumLabel {
    char text[NAMEDATALEN];
};

/* The label of value (an enum Datum). Call through pg(). */
EnumLabel enum_label(Datum value);

/* The position of value in its enum's order (pg_enum.enumsortorder). Call through pg(). */
float4 enum_sort_order(Datum value);

/* The BatchStatus of a batch_status_enum Datum. Call through pg(). */
BatchStatus batch_status_of(Datum value);

}  // namespace irp

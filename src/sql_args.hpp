/*
 * sql_args.hpp: reading and validating the arguments of the SQL API.
 * Each function goes through pg() itself and throws Problem on bad input.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <cstdint>
#include <string_view>

namespace irp {

/* A text argument: its Datum (for queries) and its bytes. */
struct TextArg {
    Datum datum;
    std::string_view value;
};

/* The schema the called function (and so the extension) lives in; a Problem (55000) if it has no table irp_batch. */
Oid function_schema(FunctionCallInfo fcinfo);

/* Argument n: a positive integer id, else 22004 (NULL) or 22023. */
std::int32_t id_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name);

/* Argument n: a boolean, else 22004 (NULL). */
bool bool_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name);

/* Argument n: a text, else 22004 (NULL). */
TextArg text_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name);

/* Argument n: a valid batch_type (rules/arg_rules.hpp), else 22004 (NULL) or 22023. */
TextArg batch_type_arg(FunctionCallInfo fcinfo, int n, std::string_view function);

/*
 * Argument n: a one-dimensional text[] of valid batch types, else 22004 (a
 * NULL array or element) or 22023. Returns the array's Datum.
 */
Datum batch_types_arg(FunctionCallInfo fcinfo, int n, std::string_view function);

/* Argument n, named name: a one-dimensional integer[] of positive ids, else 22004 (NULL array or element) or 22023. */
Datum batch_ids_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name);

/* An array argument, deconstructed (palloc'd in the call's memory). */
struct ArrayArg {
    Datum array;
    int dims;
    Datum* values;
    bool* nulls;
    int count;
};

/* Argument n, an array of element type elem (not NULL: the caller checks), deconstructed. */
ArrayArg array_arg(FunctionCallInfo fcinfo, int n, Oid elem, int elem_len, bool by_value, char align);

/* Whether argument n is NULL. */
inline bool arg_is_null(FunctionCallInfo fcinfo, int n) { return PG_ARGISNULL(n); }

}  // namespace irp

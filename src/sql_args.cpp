/*
 * sql_args.cpp: reading and validating the arguments of the SQL API.
 */
#include "sql_args.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

#include "batch_table.hpp"
#include "rules/arg_rules.hpp"
#include "rules/text.hpp"
#include "pg_guard.hpp"

namespace irp {

Oid function_schema(FunctionCallInfo fcinfo)
{
    const Oid nsp = pg([fcinfo] { return get_func_namespace(fcinfo->flinfo->fn_oid); });
    /* Say what to do, rather than that a relation does not exist. */
    if (!pg([nsp] { return OidIsValid(get_relname_relid("irp_batch", nsp)); }))
        throw tables_not_set_up(nsp);
    return nsp;
}

std::int32_t id_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name)
{
    require_not_null(PG_ARGISNULL(n), function, name);
    const std::int32_t id = PG_GETARG_INT32(n);
    validate_id(name, id);
    return id;
}

bool bool_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name)
{
    require_not_null(PG_ARGISNULL(n), function, name);
    return PG_GETARG_BOOL(n);
}

TextArg text_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name)
{
    require_not_null(PG_ARGISNULL(n), function, name);
    return pg([fcinfo, n] {
        text* t = PG_GETARG_TEXT_PP(n);
        return TextArg{PointerGetDatum(t),
                       std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))};
    });
}

TextArg batch_type_arg(FunctionCallInfo fcinfo, int n, std::string_view function)
{
    const TextArg arg = text_arg(fcinfo, n, function, "batch_type");
    const std::size_t chars = static_cast<std::size_t>(pg([&arg] {
        return pg_mbstrlen_with_len(arg.value.data(), static_cast<int>(arg.value.size()));
    }));
    validate_batch_type(arg.value, chars);
    return arg;
}

ArrayArg array_arg(FunctionCallInfo fcinfo, int n, Oid elem, int elem_len, bool by_value, char align)
{
    return pg([=] {
        ArrayType* a = PG_GETARG_ARRAYTYPE_P(n);
        ArrayArg out{PointerGetDatum(a), ARR_NDIM(a), nullptr, nullptr, 0};
        deconstruct_array(a, elem, elem_len, by_value, align, &out.values, &out.nulls, &out.count);
        return out;
    });
}

Datum batch_types_arg(FunctionCallInfo fcinfo, int n, std::string_view function)
{
    require_not_null(PG_ARGISNULL(n), function, "batch_types");
    const ArrayArg e = array_arg(fcinfo, n, TEXTOID, -1, false, TYPALIGN_INT);
    if (e.dims > 1)
        invalid_batch_types(Text("batch_types must be a one-dimensional array."));
    for (int i = 0; i < e.count; ++i) {
        if (e.nulls[i])
            null_batch_type_element(function, static_cast<std::size_t>(i) + 1);
        const text* t = DatumGetTextPP(e.values[i]);
        const std::string_view value(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
        const std::size_t chars = static_cast<std::size_t>(
            pg([&value] { return pg_mbstrlen_with_len(value.data(), static_cast<int>(value.size())); }));
        try {
            validate_batch_type(value, chars);
        } catch (Problem& p) {
            p.message = Text("invalid batch_types");
            p.detail = concat_parts({"Element ", number_text(static_cast<std::int64_t>(i) + 1), ": ", p.detail});
            throw;
        }
    }
    return e.array;
}

Datum batch_ids_arg(FunctionCallInfo fcinfo, int n, std::string_view function, std::string_view name)
{
    require_not_null(PG_ARGISNULL(n), function, name);
    const ArrayArg e = array_arg(fcinfo, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
    if (e.dims > 1)
        batch_ids_not_a_list(name);
    for (int i = 0; i < e.count; ++i) {
        const std::size_t index = static_cast<std::size_t>(i) + 1;
        if (e.nulls[i])
            null_batch_id_element(function, name, index);
        const std::int32_t id = DatumGetInt32(e.values[i]);
        if (id <= 0)
            invalid_batch_id_element(name, index, id);
    }
    return e.array;
}

}  // namespace irp

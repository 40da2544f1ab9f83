/*
 * sql_args.cpp: reading and validating the arguments of the SQL API.
 */
#include "sql_args.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"
}

#include "batch_rules.hpp"
#include "pg_guard.hpp"

namespace irp {

Oid function_schema(FunctionCallInfo fcinfo)
{
    return pg([fcinfo] { return get_func_namespace(fcinfo->flinfo->fn_oid); });
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

}  // namespace irp

/*
 * problem.hpp: an error the extension raises itself, carried as plain data.
 *
 * The code that decides an error builds a Problem and throws it;
 * pg_guard.cpp turns it into one ereport() at the entry point, mapping Code
 * to a SQLSTATE and reporting the Problem's Origin as the error's LOCATION
 * (file, line and function), so that a server log names the decision, not
 * the boundary.
 */
#pragma once

#include <string_view>
#include <utility>

#include "../pg_memory.hpp"

namespace irp {

/* The SQLSTATEs the extension raises, by meaning. */
enum class Code {
    NullValueNotAllowed,    /* 22004 */
    InvalidParameterValue,  /* 22023 */
    NoDataFound,            /* P0002 */
    UniqueViolation,        /* 23505 */
    CheckViolation,         /* 23514 */
    ForeignKeyViolation,    /* 23503 */
    TriggeredAction,        /* 09000 */
    FeatureNotSupported,    /* 0A000 */
    TriggerProtocol,        /* 39P01 */
    SerializationFailure,   /* 40001 */
    InsufficientPrivilege,  /* 42501 */
    DependentObjectsStillExist, /* 2BP01 */
    ObjectNotInPrerequisiteState, /* 55000 */
    Internal,               /* XX000 */
};

/* Where a Problem was decided: the error's LOCATION. */
struct Origin {
    const char* file = nullptr;
    int line = 0;
    const char* function = nullptr;

    /* The position of the call it is written in (as a default argument: the caller's). */
    static constexpr Origin here(const char* file = __builtin_FILE(), int line = __builtin_LINE(),
                                 const char* function = __builtin_FUNCTION()) noexcept
    {
        return Origin{file, line, function};
    }
};

/*
 * One error: SQLSTATE, primary message, optional detail and hint, optional
 * object names, and where it was decided. A function that builds a Problem
 * for its caller takes `Origin where = Origin::here()` and passes it on, so
 * the origin is the line that decided the error.
 */
struct Problem {
    Code code;
    Text message;
    Text detail;
    Text hint;
    Text schema;     /* schema, table and constraint fields of the error, if any */
    Text table;
    Text constraint;
    Origin where;

    Problem(Code code_, Text message_, Origin where_ = Origin::here())
        : code(code_), message(std::move(message_)), where(where_)
    {
    }
};

/* A trigger function of the extension used where it does not belong (SQLSTATE 39P01). */
Problem trigger_misuse(std::string_view message, std::string_view detail = {}, std::string_view hint = {},
                       Origin where = Origin::here());

/* Another BEFORE trigger on table skipped a row that function wrote (SQLSTATE 09000). */
Problem skipped_by_trigger(std::string_view function, std::string_view what, std::string_view table,
                           Origin where = Origin::here());

}  // namespace irp

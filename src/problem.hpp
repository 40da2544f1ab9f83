/*
 * problem.hpp: an error the extension raises itself, carried as plain data.
 *
 * Plain C++: the logic builds a Problem and throws it; pg_guard.cpp turns it
 * into one ereport() at the entry point, mapping Code to a SQLSTATE.
 */
#pragma once

#include "pg_memory.hpp"

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

/* One error: primary message, optional detail and hint, optional object names. */
struct Problem {
    Code code = Code::Internal;
    Text message;
    Text detail;
    Text hint;
    Text schema;     /* schema, table and constraint fields of the error, if any */
    Text table;
    Text constraint;
};

}  // namespace irp

/*
 * pg_guard.cpp: the boundary between C++ and PostgreSQL (see pg_guard.hpp).
 */
#include "pg_guard.hpp"

#include <cstring>

extern "C" {
#include "utils/memutils.h"
}

#include "pg_memory.hpp"

namespace irp {

void* memory_alloc(std::size_t n)
{
    if (!AllocHugeSizeIsValid(n))
        throw std::bad_alloc();
    void* p = MemoryContextAllocExtended(TopTransactionContext, n == 0 ? 1 : n,
                                         MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}

void memory_free(void* p) noexcept
{
    if (p != nullptr)
        pfree(p);
}

const char* PgError::what() const noexcept
{
    return data_ != nullptr && data_->message != nullptr ? data_->message : "PostgreSQL error";
}

namespace detail {

namespace {

/*
 * Copies len bytes at s for the error report, without raising; nullptr on
 * failure. The copy lives in ErrorContext, which is reset once the error has
 * been handled, so a caller that catches many errors does not accumulate them.
 */
const char* copy_bytes(const char* s, std::size_t len) noexcept
{
    char* out = static_cast<char*>(
        MemoryContextAllocExtended(ErrorContext, len + 1, MCXT_ALLOC_NO_OOM));
    if (out == nullptr)
        return nullptr;
    std::memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* Copies s for the error report; nullptr when empty. */
const char* copy_text(const Text& s) noexcept
{
    return s.empty() ? nullptr : copy_bytes(s.data(), s.size());
}

/* The SQLSTATE for a Problem's code. */
int sqlstate_of(Code code) noexcept
{
    switch (code) {
    case Code::NullValueNotAllowed: return ERRCODE_NULL_VALUE_NOT_ALLOWED;
    case Code::InvalidParameterValue: return ERRCODE_INVALID_PARAMETER_VALUE;
    case Code::NoDataFound: return ERRCODE_NO_DATA_FOUND;
    case Code::UniqueViolation: return ERRCODE_UNIQUE_VIOLATION;
    case Code::CheckViolation: return ERRCODE_CHECK_VIOLATION;
    case Code::ForeignKeyViolation: return ERRCODE_FOREIGN_KEY_VIOLATION;
    case Code::TriggeredAction: return ERRCODE_TRIGGERED_ACTION_EXCEPTION;
    case Code::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
    case Code::TriggerProtocol: return ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED;
    case Code::SerializationFailure: return ERRCODE_T_R_SERIALIZATION_FAILURE;
    case Code::InsufficientPrivilege: return ERRCODE_INSUFFICIENT_PRIVILEGE;
    case Code::DependentObjectsStillExist: return ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST;
    case Code::ObjectNotInPrerequisiteState: return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
    case Code::Internal: return ERRCODE_INTERNAL_ERROR;
    }
    return ERRCODE_INTERNAL_ERROR;
}

}  // namespace

ErrorData* run_guarded(void (*fn)(void*) noexcept, void* arg) noexcept
{
    MemoryContext const cxt = CurrentMemoryContext;
    ErrorData* volatile caught = nullptr;
    PG_TRY();
    {
        fn(arg);
    }
    PG_CATCH();
    {
        /* Copy the error out of ErrorContext, then leave error handling. */
        MemoryContextSwitchTo(cxt);
        caught = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    return caught;
}

Failure from_problem(const Problem& p) noexcept
{
    Failure f;
    f.sqlerrcode = sqlstate_of(p.code);
    f.message = copy_text(p.message);
    if (f.message == nullptr)
        return out_of_memory();
    f.detail = copy_text(p.detail);
    f.hint = copy_text(p.hint);
    f.schema = copy_text(p.schema);
    f.table = copy_text(p.table);
    f.constraint = copy_text(p.constraint);
    f.where = p.where;
    return f;
}

Failure from_exception(const char* what) noexcept
{
    Failure f;
    f.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    f.message = "unexpected C++ exception in irp_batch";
    f.detail = what != nullptr ? copy_bytes(what, std::strlen(what)) : nullptr;
    return f;
}

Failure out_of_memory() noexcept
{
    Failure f;
    f.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    f.message = "out of memory";
    return f;
}

void raise(const Failure& f)
{
    if (f.pg_error != nullptr)
        ReThrowError(f.pg_error);
    /* ereport(), spelled out so that the LOCATION is the Problem's origin. */
    if (errstart(ERROR, TEXTDOMAIN)) {
        errcode(f.sqlerrcode);
        errmsg_internal("%s", f.message);
        if (f.detail)
            errdetail_internal("%s", f.detail);
        if (f.hint)
            errhint("%s", f.hint);
        if (f.schema)
            err_generic_string(PG_DIAG_SCHEMA_NAME, f.schema);
        if (f.table)
            err_generic_string(PG_DIAG_TABLE_NAME, f.table);
        if (f.constraint)
            err_generic_string(PG_DIAG_CONSTRAINT_NAME, f.constraint);
        if (f.where.file != nullptr)
            errfinish(f.where.file, f.where.line, f.where.function);
        else
            errfinish(__FILE__, __LINE__, __func__);
    }
    pg_unreachable();
}

}  // namespace detail

}  // namespace irp

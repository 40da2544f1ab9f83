/*
 * pg_guard.hpp: the boundary between C++ and PostgreSQL.
 *
 * PostgreSQL raises errors with longjmp, which skips C++ destructors, and a
 * C++ exception must never unwind through a PostgreSQL frame. The rule here:
 *
 *  1. Every function PostgreSQL calls is extern "C" and consists of one call
 *     to entry_point(), which catches every C++ exception and raises the
 *     PostgreSQL error only after the body's C++ objects are destroyed.
 *  2. Every call into PostgreSQL that can raise goes through pg(), which
 *     catches the longjmp with PG_TRY, copies the ErrorData and throws it as
 *     a PgError. C++ code never catches PgError: it unwinds (running
 *     destructors) to entry_point(), which re-raises the ErrorData unchanged
 *     with ReThrowError (SQLSTATE, message, detail, hint, table/constraint).
 *  3. Errors of our own are thrown as Problem (plain data, rules/problem.hpp)
 *     and become one ereport() at the entry point, whose LOCATION is the
 *     Problem's origin: the file, line and function that decided it.
 *
 * C++ containers allocate with palloc (pg_memory.hpp) in TopTransactionContext,
 * so no SPI or per-tuple context reset frees memory a live object still owns.
 */
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <exception>
#include <type_traits>
#include <utility>

#include "rules/problem.hpp"

namespace irp {

/* A PostgreSQL error caught by pg(), travelling to entry_point(). */
class PgError final : public std::exception {
public:
    explicit PgError(ErrorData* data) noexcept : data_(data) {}
    ErrorData* data() const noexcept { return data_; }
    const char* what() const noexcept override;

private:
    ErrorData* data_; /* palloc'd copy; freed with its memory context */
};

namespace detail {

/*
 * Calls fn(arg) inside PG_TRY; returns the PostgreSQL error it raised, copied
 * out of the error state, or nullptr. The only PG_TRY in the extension.
 */
ErrorData* run_guarded(void (*fn)(void*) noexcept, void* arg) noexcept;

/* The error entry_point() raises, as plain pointers (trivially destructible). */
struct Failure {
    ErrorData* pg_error = nullptr;
    int sqlerrcode = 0;
    const char* message = nullptr;
    const char* detail = nullptr;
    const char* hint = nullptr;
    const char* schema = nullptr;
    const char* table = nullptr;
    const char* constraint = nullptr;
    Origin where;     /* a Problem's origin; empty for the others */
};

Failure from_problem(const Problem& p) noexcept;
Failure from_exception(const char* what) noexcept;
Failure out_of_memory() noexcept;

/* Raises the failure as a PostgreSQL error. */
[[noreturn]] void raise(const Failure& f);

}  // namespace detail

/*
 * Runs f, a call into PostgreSQL, turning a PostgreSQL error into PgError.
 * f must return void or a trivially copyable value (a Datum, a pointer, ...).
 */
template <typename F>
auto pg(F&& f) -> decltype(f())
{
    using R = decltype(f());
    static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>,
                  "pg() returns only trivially copyable values");
    using Slot = std::conditional_t<std::is_void_v<R>, char, R>;
    struct Call {
        std::remove_reference_t<F>* f;
        Slot result;
        std::exception_ptr thrown;
    } call{&f, Slot{}, nullptr};

    ErrorData* caught = detail::run_guarded(
        [](void* arg) noexcept {
            auto* c = static_cast<Call*>(arg);
            try {
                if constexpr (std::is_void_v<R>)
                    (*c->f)();
                else
                    c->result = (*c->f)();
            } catch (...) {
                c->thrown = std::current_exception();
            }
        },
        &call);
    if (caught != nullptr)
        throw PgError(caught);
    if (call.thrown)
        std::rethrow_exception(call.thrown);
    if constexpr (!std::is_void_v<R>)
        return call.result;
}

/*
 * Runs the body of an extern "C" function and returns its Datum. Any
 * exception becomes a PostgreSQL error, raised after the body is unwound.
 */
template <typename Body>
Datum entry_point(Body&& body) noexcept
{
    detail::Failure failure;
    try {
        return body();
    } catch (const PgError& e) {
        failure.pg_error = e.data();
    } catch (const Problem& p) {
        failure = detail::from_problem(p);
    } catch (const std::bad_alloc&) {
        failure = detail::out_of_memory();
    } catch (const std::exception& e) {
        failure = detail::from_exception(e.what());
    } catch (...) {
        failure = detail::from_exception(nullptr);
    }
    detail::raise(failure);
}

}  // namespace irp

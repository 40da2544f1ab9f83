/*
 * pg_memory.hpp: C++ containers whose memory comes from palloc.
 *
 * Plain C++ (no PostgreSQL headers): the two functions below are defined in
 * pg_guard.cpp. Allocation never longjmps; it throws std::bad_alloc instead.
 */
#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <vector>

namespace irp {

/* Allocates n bytes in the transaction's memory context; throws std::bad_alloc. */
void* memory_alloc(std::size_t n);
/* Returns memory obtained from memory_alloc(). */
void memory_free(void* p) noexcept;

/* Standard allocator over memory_alloc()/memory_free(). */
template <typename T>
struct PallocAllocator {
    using value_type = T;

    PallocAllocator() noexcept = default;
    template <typename U>
    PallocAllocator(const PallocAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::bad_alloc();
        return static_cast<T*>(memory_alloc(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t) noexcept { memory_free(p); }

    template <typename U>
    bool operator==(const PallocAllocator<U>&) const noexcept { return true; }
    template <typename U>
    bool operator!=(const PallocAllocator<U>&) const noexcept { return false; }
};

/* A string in palloc'd memory. */
using Text = std::basic_string<char, std::char_traits<char>, PallocAllocator<char>>;

/* A vector in palloc'd memory. */
template <typename T>
using Vector = std::vector<T, PallocAllocator<T>>;

}  // namespace irp

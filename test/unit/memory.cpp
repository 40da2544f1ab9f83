/*
 * memory.cpp: the two memory functions of src/pg_memory.hpp for the unit
 * tests, over malloc and free. In the server, src/pg_guard.cpp defines them
 * over palloc; the rules' Text and Vector need nothing else.
 */
#include <cstdlib>
#include <new>

#include "../../src/pg_memory.hpp"

namespace irp {

void* memory_alloc(std::size_t n)
{
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}

void memory_free(void* p) noexcept
{
    std::free(p);
}

}  // namespace irp

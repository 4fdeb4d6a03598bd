/* error.c - the per-thread last-error message. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(_MSC_VER)
#define FEDNL_THREAD_LOCAL __declspec(thread)
#else
#define FEDNL_THREAD_LOCAL _Thread_local
#endif

/* Per thread, so concurrent clients on different threads never see each other's errors. */
static FEDNL_THREAD_LOCAL char last_error[FEDNL_ERROR_CAPACITY];

int32_t fednl_fail(int32_t status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(last_error, sizeof last_error, format, args);
    va_end(args);
    return status;
}

int32_t fednl_check_length(const char *function, const char *argument, int64_t length, int64_t needed) {
    if (length >= needed) return FEDNL_OK;
    return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: %s is %lld, need at least %lld", function, argument,
                      (long long)length, (long long)needed);
}

FEDNL_API int64_t fednl_last_error(char *buffer, int64_t capacity) {
    size_t length = strlen(last_error);
    if (buffer != NULL && capacity > 0) {
        size_t n = length < (size_t)(capacity - 1) ? length : (size_t)(capacity - 1);
        memcpy(buffer, last_error, n);
        buffer[n] = '\0';
    }
    return (int64_t)length;
}

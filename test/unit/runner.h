/* Minimal unit-test runner in the libuv way: every test runs in its own
 * process (fork) with a timeout, so a crash or hang fails that test only;
 * the binary ends with one summary line "N passed, N failed".
 *
 *   TEST(ports_parity) { ... CHECK(x == 2); ... }
 *   static const gw_test_t tests[] = { T(ports_parity), { NULL, NULL } };
 *   int main(int argc, char **argv) { return gw_test_main(argc, argv, tests); }
 *
 * `./test-foo NAME` runs only the named test, in-process (for gdb). */
#ifndef GW_TEST_RUNNER_H
#define GW_TEST_RUNNER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} gw_test_t;

#define TEST(name) static void name(void)
#define T(name) { #name, name }

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                 \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#define CHECK_INT(a, op, b)                                                 \
    do {                                                                    \
        long long va_ = (long long)(a), vb_ = (long long)(b);               \
        if (!(va_ op vb_)) {                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s %s %s (%lld vs %lld)\n", \
                    __FILE__, __LINE__, #a, #op, #b, va_, vb_);             \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

#define CHECK_STR(a, b)                                                     \
    do {                                                                    \
        const char *sa_ = (a), *sb_ = (b);                                  \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {          \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)",       \
                    sb_ ? sb_ : "(null)");                                  \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* Substring check, for error messages and printed SDP. */
#define CHECK_CONTAINS(hay, needle)                                         \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                         \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", \
                    __FILE__, __LINE__, h_ ? h_ : "(null)", n_);            \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

int gw_test_main(int argc, char **argv, const gw_test_t *tests);

#endif

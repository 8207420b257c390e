/*
 * testlib.h - the unit tests' tiny harness.
 *
 * A test file defines functions `static void test_x(void)` and lists them
 * in a TESTS table; TEST_MAIN runs each, counts failed checks, prints one
 * line per failure with file and line, and closes with
 * "N passed, N failed". Checks do not abort the test, so a table-driven
 * test reports every failing row at once.
 *
 *   static void test_basic(void) { CHECK(1 + 1 == 2); }
 *   TEST_MAIN({ "basic", test_basic })
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct testlib_case {
  const char *name;
  void (*fn)(void);
};

static int testlib_failures;     /* failed checks in the current test */
static const char *testlib_name; /* the running test's name */

static int testlib_fail(const char *file, int line, const char *what)
{
  fprintf(stderr, "%s:%d: %s: check failed: %s\n", file, line, testlib_name,
          what);
  testlib_failures++;
  return 0;
}

#define CHECK(cond) ((cond) ? 1 : testlib_fail(__FILE__, __LINE__, #cond))

/* Integer equality with both values printed. */
#define CHECK_INT(a, b)                                                       \
  do {                                                                        \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);           \
    if (check_a_ != check_b_) {                                               \
      fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n",         \
              __FILE__, __LINE__, testlib_name, #a, check_a_, #b, check_b_);  \
      testlib_failures++;                                                     \
    }                                                                         \
  } while (0)

/* String equality (NULL-safe) with both values printed. */
#define CHECK_STR(a, b)                                                       \
  do {                                                                        \
    const char *check_a_ = (a), *check_b_ = (b);                              \
    if (check_a_ == NULL || check_b_ == NULL ?                                \
            check_a_ != check_b_ :                                            \
            strcmp(check_a_, check_b_) != 0) {                                \
      fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, \
              __LINE__, testlib_name, #a, check_a_ ? check_a_ : "(null)",     \
              check_b_ ? check_b_ : "(null)");                                \
      testlib_failures++;                                                     \
    }                                                                         \
  } while (0)

/* Prefix the failures of a table row with its index. */
#define CHECK_ROW(cond, row)                                                  \
  ((cond) ? 1 : (fprintf(stderr, "  row %d:\n", (int)(row)),                  \
                 testlib_fail(__FILE__, __LINE__, #cond)))

static int testlib_run(const struct testlib_case *cases)
{
  int passed = 0, failed = 0;
  const struct testlib_case *c;

  for (c = cases; c->name != NULL; c++) {
    testlib_name = c->name;
    testlib_failures = 0;
    c->fn();
    if (testlib_failures == 0) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "FAIL %s (%d checks)\n", c->name, testlib_failures);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define TEST_MAIN(...)                                                        \
  int main(void)                                                              \
  {                                                                           \
    static const struct testlib_case cases[] = { __VA_ARGS__,                 \
                                                 { NULL, NULL } };            \
    return testlib_run(cases);                                                \
  }

#endif /* TESTLIB_H */

/* sigd drop bookkeeping (drops.c): the first drop of a source is logged
 * at once, later ones within the period only counted and summarised once
 * when it ends, a quiet source is forgotten, sources and reasons are kept
 * apart, and a full table folds the rest into one line per reason. */
#include "drops.h"
#include "runner.h"

#include <stdio.h>

typedef struct {
    int lines;
    uint64_t more;
    sig_drop_reason_t reason;
    char src[64], last[64];
    int64_t period;
} emitted_t;

static void emit(void *arg, sig_drop_reason_t r, const char *src, uint64_t more,
                 int64_t period_ms, const char *last)
{
    emitted_t *e = arg;

    e->lines++;
    e->more += more;
    e->reason = r;
    e->period = period_ms;
    snprintf(e->src, sizeof e->src, "%s", src);
    snprintf(e->last, sizeof e->last, "%s", last);
}

TEST(drops_first_logged_rest_summarised)
{
    sig_drops_t *d = sig__drops_new();
    emitted_t e = { 0 };
    char detail[32];

    CHECK(d != NULL);
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.7", 0, "INVITE"), ==, 1);
    for (int i = 1; i <= 99; i++) {
        snprintf(detail, sizeof detail, "BYE %d", i);
        CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.7", i * 90, detail), ==, 0);
    }
    sig__drops_flush(d, 9999, 0, emit, &e);
    CHECK_INT(e.lines, ==, 0);                 /* the period is not over */
    sig__drops_flush(d, 10000, 0, emit, &e);
    CHECK_INT(e.lines, ==, 1);
    CHECK_INT(e.more, ==, 99);
    CHECK_INT(e.period, ==, 10000);
    CHECK_STR(e.src, "192.0.2.7");
    CHECK_STR(e.last, "BYE 99");
    CHECK_INT(e.reason, ==, SIG_DROP_RATE);
    CHECK_INT(sig__drops_total(d, SIG_DROP_RATE), ==, 100);
    CHECK_INT(sig__drops_total(d, SIG_DROP_BANNED), ==, 0);
    /* A new period began with the summary: drops in it wait for the next. */
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.7", 12000, "OPTIONS"), ==, 0);
    sig__drops_flush(d, 15000, 0, emit, &e);
    CHECK_INT(e.lines, ==, 1);
    sig__drops_flush(d, 20000, 0, emit, &e);
    CHECK_INT(e.lines, ==, 2);
    CHECK_INT(e.more, ==, 100);
    sig__drops_free(d);
}

TEST(drops_quiet_source_forgotten)
{
    sig_drops_t *d = sig__drops_new();
    emitted_t e = { 0 };

    CHECK_INT(sig__drops_note(d, SIG_DROP_BANNED, "192.0.2.8", 0, "x"), ==, 1);
    sig__drops_flush(d, 10000, 0, emit, &e);
    CHECK_INT(e.lines, ==, 0);                 /* nothing pending: forgotten */
    CHECK_INT(sig__drops_note(d, SIG_DROP_BANNED, "192.0.2.8", 10500, "y"), ==, 1);
    sig__drops_free(d);
}

TEST(drops_sources_and_reasons_apart)
{
    sig_drops_t *d = sig__drops_new();

    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.1", 0, "a"), ==, 1);
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.2", 0, "a"), ==, 1);
    CHECK_INT(sig__drops_note(d, SIG_DROP_SCANNER, "192.0.2.1", 0, "a"), ==, 1);
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "192.0.2.1", 1, "a"), ==, 0);
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, NULL, 1, "a"), ==, 1);
    CHECK_INT(sig__drops_total(d, SIG_DROP_RATE), ==, 4);
    CHECK_INT(sig__drops_total(d, SIG_DROP_SCANNER), ==, 1);
    CHECK_STR(sig_drop_name(SIG_DROP_RATE), "rate");
    CHECK_STR(sig_drop_name(SIG_DROP_BANNED), "banned");
    CHECK_STR(sig_drop_name(SIG_DROP_SCANNER), "scanner");
    CHECK(sig_drop_name(SIG_DROP_NREASONS) == NULL);
    sig__drops_free(d);
}

TEST(drops_full_table_shares_a_line)
{
    sig_drops_t *d = sig__drops_new();
    emitted_t e = { 0 };
    char ip[32];
    int logged = 0;

    for (int i = 0; i < SIG_DROP_MAX_SOURCES + 500; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        logged += sig__drops_note(d, SIG_DROP_RATE, ip, 0, ip);
    }
    /* Every tracked source once, plus one line for all the others. */
    CHECK_INT(logged, ==, SIG_DROP_MAX_SOURCES + 1);
    sig__drops_flush(d, 10000, 0, emit, &e);
    CHECK_INT(e.lines, ==, 1);
    CHECK_INT(e.more, ==, 499);
    CHECK_STR(e.src, "other sources");
    sig__drops_flush(d, 20000, 0, emit, &e);   /* all quiet: all forgotten */
    CHECK_INT(e.lines, ==, 1);
    CHECK_INT(sig__drops_note(d, SIG_DROP_RATE, "10.0.0.1", 20001, "z"), ==, 1);
    sig__drops_free(d);
}

TEST(drops_flush_all_at_stop)
{
    sig_drops_t *d = sig__drops_new();
    emitted_t e = { 0 };

    sig__drops_note(d, SIG_DROP_SCANNER, "192.0.2.9", 0, "a");
    sig__drops_note(d, SIG_DROP_SCANNER, "192.0.2.9", 5, "b");
    sig__drops_flush(d, 100, 1, emit, &e);
    CHECK_INT(e.lines, ==, 1);
    CHECK_INT(e.more, ==, 1);
    CHECK_STR(e.last, "b");
    sig__drops_free(d);
}

static const gw_test_t tests[] = {
    T(drops_first_logged_rest_summarised),
    T(drops_quiet_source_forgotten),
    T(drops_sources_and_reasons_apart),
    T(drops_full_table_shares_a_line),
    T(drops_flush_all_at_stop),
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    return gw_test_main(argc, argv, tests);
}

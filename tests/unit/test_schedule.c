/*
 * Tests for schedule.c and tzfile.c: parsing a schedule's times, interval
 * due times, the retry backoff, and times of day in IANA zones with fixed
 * clocks on both sides of DST changes in Europe and America (a skipped
 * wall time fires when the clock jumps, a repeated one fires once).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "schedule.h"
#include "tzfile.h"

#define S 1000LL

static long long next_at(const char *tz, const char *times, long long now_s)
{
	struct buf why = BUF_INIT;
	long long out = 0;

	if (schedule_next_due(0, times, tz, 0, now_s * S, &out, &why))
		fail_msg("%s %s: %s", tz, times, buf_str(&why));
	buf_release(&why);
	return out / S;
}

static void test_times_parse(void **state)
{
	int m[SCHEDULE_TIMES_MAX], n = -1;
	struct buf why = BUF_INIT, out = BUF_INIT;
	static const char *const bad[] = {"",	   "8:00",  "24:00", "12:60",  "12:00,",
					  "12-00", "ab:cd", ",",     "12:00x", "12:00,,13:00"};
	size_t i;

	(void)state;
	assert_int_equal(schedule_times_parse(" 20:30, 08:00,08:00 ,00:00", m, &n, &why), ERR_OK);
	assert_int_equal(n, 3);
	schedule_times_format(m, n, &out);
	assert_string_equal(buf_str(&out), "00:00,08:00,20:30");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (schedule_times_parse(bad[i], m, &n, &why) != ERR_INVALID)
			fail_msg("accepted '%s'", bad[i]);
	buf_reset(&out);
	for (i = 0; i <= SCHEDULE_TIMES_MAX; i++)
		buf_addf(&out, "%s%02zu:00", i ? "," : "", i % 24);
	assert_int_equal(schedule_times_parse(buf_str(&out), m, &n, &why), ERR_INVALID);
	assert_int_equal(schedule_kind_check("refresh", &why), ERR_OK);
	assert_int_equal(schedule_kind_check("skus", &why), ERR_INVALID);
	assert_int_equal(schedule_interval_check(59, 60, &why), ERR_INVALID);
	assert_int_equal(schedule_interval_check(60, 60, &why), ERR_OK);
	assert_int_equal(schedule_interval_check(SCHEDULE_INTERVAL_MAX_S + 1, 1, &why),
			 ERR_INVALID);
	buf_release(&why);
	buf_release(&out);
}

static void test_interval_anchored(void **state)
{
	(void)state;
	assert_int_equal(schedule_next_interval(1000, 60, 1000), 61000);
	assert_int_equal(schedule_next_interval(1000, 60, 60999), 61000);
	assert_int_equal(schedule_next_interval(1000, 60, 61000), 121000);
	/* Late by several periods: the next one on the grid, not a burst. */
	assert_int_equal(schedule_next_interval(1000, 60, 200000), 241000);
	/* No anchor: one interval from now. */
	assert_int_equal(schedule_next_interval(0, 60, 5000), 65000);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(schedule_backoff_ms(1, 60000), 60000);
	assert_int_equal(schedule_backoff_ms(2, 60000), 120000);
	assert_int_equal(schedule_backoff_ms(3, 60000), 240000);
	assert_int_equal(schedule_backoff_ms(7, 60000), 60000LL << 6);
	assert_int_equal(schedule_backoff_ms(50, 60000), 60000LL << 6);
	assert_int_equal(schedule_backoff_ms(0, 1000), 1000);
}

static void test_zone_names(void **state)
{
	struct buf why = BUF_INIT;
	struct tzfile *z = NULL;

	(void)state;
	assert_true(tzfile_name_ok("Europe/Berlin"));
	assert_true(tzfile_name_ok("UTC"));
	assert_true(tzfile_name_ok("Etc/GMT+5"));
	assert_false(tzfile_name_ok(""));
	assert_false(tzfile_name_ok("../../etc/passwd"));
	assert_false(tzfile_name_ok("Europe/../../etc"));
	assert_false(tzfile_name_ok("/etc/passwd"));
	assert_false(tzfile_name_ok("a//b"));
	assert_false(tzfile_name_ok("Europe/Berlin/"));
	assert_false(tzfile_name_ok("Europe/Ber lin"));
	assert_int_equal(tzfile_load("Mars/Olympus_Mons", &z, &why), ERR_INVALID);
	assert_null(z);
	assert_int_equal(tzfile_load("../passwd", &z, &why), ERR_INVALID);
	assert_int_equal(tzfile_load("UTC", &z, &why), ERR_OK);
	assert_int_equal(tzfile_offset(z, 1774699200), 0);
	tzfile_free(z);
	assert_int_equal(tzfile_load("Europe/Berlin", &z, &why), ERR_OK);
	assert_int_equal(tzfile_offset(z, 1774699200), 3600);		      /* March 28: CET */
	assert_int_equal(tzfile_offset(z, 1774764000), 7200);		      /* March 29: CEST */
	assert_int_equal(tzfile_offset(z, 2082758400LL + 86400 * 200), 7200); /* July 2036 */
	tzfile_free(z);
	buf_release(&why);
}

static void test_berlin_dst(void **state)
{
	(void)state;
	/* 08:00 on Saturday is CET (07:00Z); on Sunday CEST (06:00Z). */
	assert_int_equal(next_at("Europe/Berlin", "08:00", 1774699200 - 6 * 3600), 1774681200);
	assert_int_equal(next_at("Europe/Berlin", "08:00", 1774699200), 1774764000);
	/* 02:30 does not exist on March 29: it fires at 03:30 CEST (01:30Z). */
	assert_int_equal(next_at("Europe/Berlin", "02:30", 1774738800), 1774747800);
	/* 02:30 happens twice on October 25: first at 00:30Z (CEST) ... */
	assert_int_equal(next_at("Europe/Berlin", "02:30", 1792882800), 1792888200);
	/* ... and not again at 01:30Z: the next is October 26, 02:30 CET. */
	assert_int_equal(next_at("Europe/Berlin", "02:30", 1792888200), 1792978200);
	assert_int_equal(next_at("Europe/Berlin", "02:30", 1792888200 + 1800), 1792978200);
}

static void test_new_york_dst(void **state)
{
	(void)state;
	/* After the fall back (06:00Z, November 1) 09:00 EST is 14:00Z. */
	assert_int_equal(next_at("America/New_York", "17:30,09:00", 1793534400), 1793541600);
	/* 01:30 on November 1: first 05:30Z (EDT), never 06:30Z (EST). */
	assert_int_equal(next_at("America/New_York", "01:30", 1793509200), 1793511000);
	assert_int_equal(next_at("America/New_York", "01:30", 1793511000 + 60), 1793514600 + 86400);
	/* 02:30 on March 8 is skipped: 03:30 EDT (07:30Z). */
	assert_int_equal(next_at("America/New_York", "02:30", 1772949600), 1772955000);
	/* Strictly after now: a due time equal to now is the next day's. */
	assert_int_equal(next_at("UTC", "12:00", 1793534400), 1793534400 + 86400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_times_parse), cmocka_unit_test(test_interval_anchored),
	    cmocka_unit_test(test_backoff),	cmocka_unit_test(test_zone_names),
	    cmocka_unit_test(test_berlin_dst),	cmocka_unit_test(test_new_york_dst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

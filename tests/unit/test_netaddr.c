/*
 * Tests for netaddr.c, the one listen-address parser of ebaysync serve and
 * ebaysync-sim: every accepted form gives the right family, address and
 * port (checked by formatting it back), and every malformed text is refused
 * with a message that names it and says which part is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

struct good {
	const char *text;
	int family;
	const char *formatted; /* netaddr_format() of the result */
};

static const struct good goods[] = {
    {"127.0.0.1:8080", AF_INET, "127.0.0.1:8080"},
    {"127.0.0.1:0", AF_INET, "127.0.0.1:0"}, /* 0: any free port */
    {"0.0.0.0:65535", AF_INET, "0.0.0.0:65535"},
    {"10.1.2.3:00080", AF_INET, "10.1.2.3:80"},
    {":8080", AF_INET, "0.0.0.0:8080"},
    {"localhost:0", AF_INET, "127.0.0.1:0"},
    {"localhost:443", AF_INET, "127.0.0.1:443"},
    {"[::1]:8080", AF_INET6, "[::1]:8080"},
    {"[::]:0", AF_INET6, "[::]:0"},
    {"[2001:db8::5]:443", AF_INET6, "[2001:db8::5]:443"},
    {"::1:8080", AF_INET6, "[::1]:8080"}, /* the last colon ends the address */
};

struct bad {
	const char *text;
	const char *reason; /* a part of the message */
};

static const struct bad bads[] = {
    {"", "must be IP:PORT"},
    {"garbage", "must be IP:PORT"},
    {"127.0.0.1", "must be IP:PORT"}, /* no port */
    {"[::1]", "must be IP:PORT"},
    {"[::1:80", "must be IP:PORT"},
    {"[::1]80", "must be IP:PORT"},
    {"[a]b]:80", "must be IP:PORT"},
    {"127.0.0.1:", "bad port"},
    {"127.0.0.1:65536", "bad port"},
    {"127.0.0.1:99999999999999999999", "bad port"},
    {"127.0.0.1:-1", "bad port"},
    {":+80", "bad port"},
    {"127.0.0.1: 80", "bad port"},
    {"127.0.0.1:80x", "bad port"},
    {"127.0.0.1:0x50", "bad port"},
    {"[::1]:", "bad port"},
    {"example.com:80", "bad host"}, /* no resolver */
    {"256.0.0.1:80", "bad host"},
    {"1.2.3:80", "bad host"},
    {" 127.0.0.1:80", "bad host"},
    {"[127.0.0.1]:80", "bad host"}, /* brackets are for IPv6 */
    {"[localhost]:80", "bad host"},
    {"[]:80", "bad host"},
    {"[fe80::1%eth0]:80", "bad host"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:80",
     "bad host"},
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		struct sockaddr_storage addr;
		struct buf why = BUF_INIT;
		char text[NETADDR_TEXT_MAX];
		socklen_t len;

		if (netaddr_parse(goods[i].text, &addr, &len, &why) != ERR_OK)
			fail_msg("'%s' refused: %s", goods[i].text, buf_str(&why));
		assert_int_equal(addr.ss_family, goods[i].family);
		assert_int_equal(len, goods[i].family == AF_INET ? sizeof(struct sockaddr_in)
								 : sizeof(struct sockaddr_in6));
		netaddr_format(&addr, text, sizeof(text));
		assert_string_equal(text, goods[i].formatted);
		assert_int_equal(why.len, 0);
		buf_release(&why);
	}
}

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct sockaddr_storage addr;
		struct buf why = BUF_INIT;
		socklen_t len = 1;
		char quoted[128];

		if (netaddr_parse(bads[i].text, &addr, &len, &why) != ERR_INVALID)
			fail_msg("'%s' accepted", bads[i].text);
		assert_int_equal(len, 0);
		if (!strstr(buf_str(&why), bads[i].reason))
			fail_msg("'%s': '%s' does not say '%s'", bads[i].text, buf_str(&why),
				 bads[i].reason);
		snprintf(quoted, sizeof(quoted), "'%s'", bads[i].text);
		assert_non_null(strstr(buf_str(&why), quoted));
		/* And how to write it. */
		assert_non_null(strstr(buf_str(&why), "e.g. 127.0.0.1:8080 or [::1]:8080"));
		buf_release(&why);
	}
}

/* The longest address that inet_ntop writes fits NETADDR_TEXT_MAX, uncut. */
static void test_format_longest(void **state)
{
	struct sockaddr_storage addr;
	struct buf why = BUF_INIT;
	char text[NETADDR_TEXT_MAX];
	socklen_t len;

	(void)state;
	assert_int_equal(
	    netaddr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", &addr, &len, &why),
	    ERR_OK);
	netaddr_format(&addr, text, sizeof(text));
	assert_string_equal(text, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_format_longest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

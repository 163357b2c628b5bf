/*
 * Listen addresses (see netaddr.h). The host part goes to inet_pton, which
 * takes only the strict dotted-quad and RFC 4291 text forms; the port is
 * read digit by digit so that signs, spaces and overlong numbers, which
 * strtol would let through, are refused.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

#define EXAMPLES "e.g. 127.0.0.1:8080 or [::1]:8080"

/* The port in s (decimal digits only, 0 to 65535), or -1. */
static long parse_port(const char *s)
{
	long port = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		port = port * 10 + (*s - '0');
		if (port > 65535)
			return -1;
	}
	return port;
}

enum error netaddr_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			 struct buf *why)
{
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	const char *host_s, *sep;
	size_t host_len;
	long port;

	memset(addr, 0, sizeof(*addr));
	*len = 0;
	if (text[0] == '[') {
		host_s = text + 1;
		sep = strstr(text, "]:");
		if (!sep || memchr(host_s, ']', (size_t)(sep - host_s)))
			goto bad_form;
		host_len = (size_t)(sep - host_s);
		sep++;
	} else {
		host_s = text;
		sep = strrchr(text, ':');
		if (!sep)
			goto bad_form;
		host_len = (size_t)(sep - host_s);
	}
	port = parse_port(sep + 1);
	if (port < 0) {
		buf_addf(why, "bad port in listen address '%s' (want 0 to 65535, %s)", text,
			 EXAMPLES);
		return ERR_INVALID;
	}
	if (host_len >= sizeof(host))
		goto bad_host;
	memcpy(host, host_s, host_len);
	host[host_len] = '\0';
	if (text[0] != '[') {
		if (!*host)
			snprintf(host, sizeof(host), "0.0.0.0");
		else if (!strcmp(host, "localhost"))
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			v4->sin_port = htons((uint16_t)port);
			*len = sizeof(*v4);
			return ERR_OK;
		}
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return ERR_OK;
	}
bad_host:
	memset(addr, 0, sizeof(*addr));
	buf_addf(why,
		 "bad host in listen address '%s' (want an IPv4 address, [IPv6] or localhost, %s)",
		 text, EXAMPLES);
	return ERR_INVALID;
bad_form:
	buf_addf(why, "listen address '%s' must be IP:PORT, %s", text, EXAMPLES);
	return ERR_INVALID;
}

void netaddr_format(const struct sockaddr_storage *addr, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;

		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(v6->sin6_port));
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;

		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(v4->sin_port));
	}
}

/*
 * Listen addresses, as both programs take them on their command line
 * (ebaysync serve --listen, ebaysync-sim --listen): one parser, so that the
 * product and the simulator accept the same text and say the same thing
 * about a mistake. The forms are
 *
 *   127.0.0.1:8080    an IPv4 address and a port
 *   [::1]:8080        an IPv6 address in brackets (without brackets too,
 *                     "::1:8080", the last colon ending the address)
 *   localhost:8080    127.0.0.1
 *   :8080             every IPv4 interface (0.0.0.0)
 *
 * with a port from 0 to 65535 in decimal digits, 0 asking the system for a
 * free one. Host names other than localhost are refused: a listen address
 * must not depend on a resolver.
 */
#ifndef NETADDR_H
#define NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "error.h"

/* Room for the longest netaddr_format() text: "[" IPv6 "]:65535" and NUL. */
#define NETADDR_TEXT_MAX 56

/*
 * Parses text (one of the forms above) into addr and its length into *len.
 * ERR_INVALID with a reason naming text in why when it is none of them.
 */
enum error netaddr_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			 struct buf *why);

/*
 * addr (AF_INET or AF_INET6) as a client writes it: "127.0.0.1:8080" or
 * "[::1]:8080", into out (NETADDR_TEXT_MAX bytes are always enough).
 */
void netaddr_format(const struct sockaddr_storage *addr, char *out, size_t size);

#endif

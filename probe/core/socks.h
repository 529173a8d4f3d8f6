/*
 * socks.h — the client side of SOCKS version 5 (RFC 1928) with
 * username/password authentication (RFC 1929): the proxy URL of --proxy,
 * the messages a client sends, and the proxy's answers parsed.
 *
 * Pure: no sockets, no allocation, no state between calls.  Builders
 * write at most the buffer given and say how much; parsers read at most
 * the bytes given, say when they need more, and take no length from the
 * proxy beyond the bounds of the message (SOCKS_REPLY_MAX).  Nothing
 * here ever copies a password anywhere but into the one buffer asked
 * for; the caller wipes it.
 */
#ifndef SMTPPROBE_SOCKS_H
#define SMTPPROBE_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCKS_VERSION		5	/* RFC 1928 §3 */
#define SOCKS_AUTH_VERSION	1	/* RFC 1929 §2 */
#define SOCKS_DEFAULT_PORT	1080	/* RFC 1928 §3 */

/* RFC 1928 §5 and RFC 1929 §2: one-octet lengths. */
#define SOCKS_NAME_MAX		255
#define SOCKS_USER_MAX		255
#define SOCKS_PASSWORD_MAX	255

/* The longest message each way: the method offer (VER NMETHODS and two
 * methods), the RFC 1929 request, a CONNECT request or reply with a
 * domain name (VER CMD/REP RSV ATYP LEN NAME PORT). */
#define SOCKS_HELLO_MAX		4
#define SOCKS_AUTH_MAX		(3 + SOCKS_USER_MAX + SOCKS_PASSWORD_MAX)
#define SOCKS_REQUEST_MAX	(5 + SOCKS_NAME_MAX + 2)
#define SOCKS_REPLY_MAX		(5 + SOCKS_NAME_MAX + 2)

/* Methods (RFC 1928 §3). */
#define SOCKS_METHOD_NONE	0x00
#define SOCKS_METHOD_USERPASS	0x02	/* RFC 1929 */
#define SOCKS_METHOD_REFUSED	0xff	/* no acceptable method */

/* Address types (RFC 1928 §5). */
#define SOCKS_ATYP_IPV4		1
#define SOCKS_ATYP_DOMAIN	3
#define SOCKS_ATYP_IPV6		4

/* Reply codes (RFC 1928 §6). */
enum socks_rep {
	SOCKS_REP_SUCCEEDED = 0,
	SOCKS_REP_GENERAL_FAILURE = 1,
	SOCKS_REP_NOT_ALLOWED = 2,
	SOCKS_REP_NET_UNREACHABLE = 3,
	SOCKS_REP_HOST_UNREACHABLE = 4,
	SOCKS_REP_REFUSED = 5,
	SOCKS_REP_TTL_EXPIRED = 6,
	SOCKS_REP_CMD_UNSUPPORTED = 7,
	SOCKS_REP_ATYP_UNSUPPORTED = 8
};

enum socks_status {
	SOCKS_BAD = -1,		/* not a SOCKS 5 answer (why says what) */
	SOCKS_MORE = 0,		/* the message is not complete yet */
	SOCKS_DONE = 1		/* parsed; *used bytes were read */
};

/* --proxy socks5://[user@]host[:port] or socks5h://... */
struct socks_url {
	bool	remote_dns;			/* socks5h: the proxy resolves */
	char	host[SOCKS_NAME_MAX + 1];	/* name or address, no brackets */
	int	port;
	char	user[SOCKS_USER_MAX + 1];	/* "" for none; %XX decoded */
};

/* Parse s; 0, or -1 with a message in err.  A password in the URL
 * ("user:password@") is refused: it would be visible to every user of
 * the host (ps), and the message says where to give it instead. */
int socks_url_parse(const char *s, struct socks_url *u, char *err,
    size_t errlen);

/* "socks5h://user@[2001:db8::1]:1080": the URL as it may be shown (it
 * never holds a password; the user name is not re-encoded). */
void socks_url_str(const struct socks_url *u, char *buf, size_t len);

/* The method offer: no authentication, and username/password when
 * userpass.  Bytes written, 0 when len is too small. */
size_t socks_hello(bool userpass, uint8_t *buf, size_t len);

/* The proxy's method choice; *method is SOCKS_METHOD_REFUSED when it
 * accepts none.  A method that was not offered is SOCKS_BAD. */
enum socks_status socks_hello_reply(const uint8_t *buf, size_t len,
    bool userpass, size_t *used, int *method, char *why, size_t whylen);

/* The RFC 1929 request; bytes written, or 0 when a field is empty or
 * too long or len is too small.  Holds the password: wipe buf after. */
size_t socks_auth(const char *user, const char *password, uint8_t *buf,
    size_t len);

/* The RFC 1929 answer: *status 0 is success, anything else failure. */
enum socks_status socks_auth_reply(const uint8_t *buf, size_t len,
    size_t *used, int *status, char *why, size_t whylen);

/* CONNECT to an address (its port in the sockaddr): ATYP IPv4 or IPv6.
 * Bytes written, 0 for another family or a short buffer. */
size_t socks_connect_addr(const struct sockaddr *sa, uint8_t *buf,
    size_t len);

/* CONNECT to a host name the proxy resolves (ATYP domain).  Bytes
 * written, 0 for an empty or too long name, a control byte in it, a
 * port out of range or a short buffer. */
size_t socks_connect_name(const char *host, int port, uint8_t *buf,
    size_t len);

/* The answer to CONNECT.  bound is the address (or name) the proxy
 * connected from, in text, and port its port. */
struct socks_reply {
	int	rep;				/* enum socks_rep, or another code */
	int	atyp;
	char	bound[SOCKS_NAME_MAX + 1];	/* control bytes replaced by '?' */
	int	port;
};
enum socks_status socks_connect_reply(const uint8_t *buf, size_t len,
    size_t *used, struct socks_reply *r, char *why, size_t whylen);

/* The reply code of a CONNECT answer cut short (some proxies send only
 * VER and REP before closing on a failure); false when buf does not
 * start like one. */
bool socks_reply_code(const uint8_t *buf, size_t len, int *rep);

/* RFC 1928 §6's words for a reply code ("connection not allowed by
 * ruleset"), and a word for programs ("not_allowed"); "unassigned" for
 * codes past 8. */
const char *socks_rep_text(int rep);
const char *socks_rep_name(int rep);

/* "none", "username_password", "no_acceptable_method" or "other". */
const char *socks_method_name(int method);

#endif

/*
 * http: shared helpers for the evhttp listeners.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "http.h"
#include "util.h"

int
http_listen(const char *hostport, int reuseport, char **cause)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *colon = strrchr(hostport, ':');
	char *host;
	int fd = -1, one = 1, rc;

	if (colon == NULL || colon[1] == '\0') {
		*cause = xasprintf("%s: expected host:port", hostport);
		return -1;
	}
	host = xstrndup(hostport, (size_t)(colon - hostport));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res)) != 0) {
		*cause = xasprintf("%s: %s", hostport, gai_strerror(rc));
		free(host);
		return -1;
	}
	free(host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		*cause = xasprintf("%s: %s", hostport, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd != -1) {
		free(*cause);
		*cause = NULL;
	} else if (*cause == NULL)
		*cause = xasprintf("%s: no usable address", hostport);
	return fd;
}

int
http_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

void
http_request_id(char out[HTTP_RID_LEN + 1])
{
	/* per-thread xorshift seeded from the OS: ids need to be unique, not secret */
	static __thread uint64_t state;
	unsigned char b[8];
	uint64_t x;
	int i;

	if (state == 0)
		util_random(&state, sizeof state);
	x = state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	state = x ? x : 1;
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(x >> (8 * i));
	util_hex(b, 8, out);
}

void
http_reply_json(struct evhttp_request *req, int code, const char *rid, const char *fields)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "application/json");
	if (rid != NULL)
		evhttp_add_header(h, "X-Request-Id", rid);
	evbuffer_add_printf(out, "{%s%s\"request_id\":\"%s\"}\n", fields ? fields : "",
	    fields && *fields ? "," : "", rid ? rid : "");
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
}

void
http_reply_error(struct evhttp_request *req, int code, const char *rid, const char *error,
    const char *reason)
{
	struct buf f;

	buf_init(&f);
	buf_adds(&f, "\"error\":");
	buf_add_json_str(&f, error);
	buf_adds(&f, ",\"reason\":");
	buf_add_json_str(&f, reason ? reason : "");
	http_reply_json(req, code, rid, f.data);
	buf_free(&f);
}

const char *
http_header(void *hctx, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(hctx), name);
}

const char *
http_method_name(int cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

/*
 * proxy_limits.h - every cap and default of the forwarding core, named.
 *
 * One place to read how much memory and time a connection may cost: the
 * read chunk and head buffers, the write high- and low-water marks that
 * drive backpressure, the DNS cache and upstream pool sizes, timeouts and
 * the bounds that option parsing enforces. Included by proxy.h (the
 * configuration arrays are sized here) and by the proxy_*.c files.
 */
#ifndef PROXY_LIMITS_H
#define PROXY_LIMITS_H

#include "http1.h"

/* Command line bounds. */
#define PROXY_MAX_LISTEN        16  /* --listen addresses */
#define PROXY_MAX_WORKERS       256 /* --workers */
#define PROXY_MAX_MAPS          64  /* --map entries */
#define PROXY_MAX_CONNECT_PORTS 64  /* ports in --connect-ports */
#define PROXY_MAX_CONNS_LIMIT   1000000u
#define PROXY_MAX_ALLOW         64     /* --allow networks */
#define PROXY_MAX_NO_PROXY      64     /* --upstream-no-proxy entries */
#define PROXY_TIMEOUT_MAX_S     86400u /* any --timeout-*: one day */
#define PROXY_PORT_MAX          65535u
#define PROXY_MAX_INTERCEPT     16 /* --intercept, --intercept-tls each */
/* Every listening address: --listen, --intercept, --intercept-tls. */
#define PROXY_MAX_LISTENERS (PROXY_MAX_LISTEN + 2 * PROXY_MAX_INTERCEPT)

/* Defaults. */
#define PROXY_DEFAULT_LISTEN             "127.0.0.1:3128"
#define PROXY_DEFAULT_PID_FILE           "/run/hstsproxy/hstsproxy.pid"
#define PROXY_DEFAULT_CONNECT_PORT       443u
#define PROXY_DEFAULT_MAX_CONNS          1024u
#define PROXY_DEFAULT_TIMEOUT_HEADER_S   30u  /* accept or first byte to head */
#define PROXY_DEFAULT_TIMEOUT_IDLE_S     60u  /* idle keep-alive, both sides */
#define PROXY_DEFAULT_TIMEOUT_CONNECT_S  10u  /* DNS plus TCP connect */
#define PROXY_DEFAULT_TIMEOUT_RESPONSE_S 60u  /* silence during an exchange */
#define PROXY_DEFAULT_TIMEOUT_TUNNEL_S   300u /* silence in a tunnel */
#define PROXY_DEFAULT_RETAIN_S           (90ull * 86400) /* --retain 90d */

/* Text sizes. */
#define PROXY_HOST_MAX        253 /* a DNS name, as hsts_host.h */
#define PROXY_ADDR_TEXT       64  /* "[v6 address]:65535" and NUL */
#define PROXY_KEY_MAX         (PROXY_HOST_MAX + 8)  /* "host:port" pool key */
#define PROXY_AUTHORITY_MAX   (PROXY_HOST_MAX + 10) /* "[host]:port" */
#define PROXY_ERROR_BODY_MAX  512  /* text of a proxy error answer */
#define PROXY_LOCAL_BODY_MAX  4096 /* status page and PAC file */
#define PROXY_ERROR_TEXT      256  /* one startup error message */
#define PROXY_LIST_NAME_MAX   32   /* a preload list's name */
#define PROXY_THREAD_NAME_MAX 16   /* a thread's name and NUL (TASK_COMM_LEN) */

/* GET /metrics: the families, and a CPU-time line per worker (57 bytes
 * up to 'worker 256"} ', 23 left for the seconds and the newline). */
#define PROXY_METRICS_MAX (8192 + PROXY_MAX_WORKERS * 80)

/* --upstream-proxy: "parent proxy HOST:PORT" (messages and the pool key)
 * and its "Basic <base64 of user:pass>" (user and pass at most 255
 * bytes each once decoded). */
#define PROXY_PARENT_NAME_MAX (PROXY_AUTHORITY_MAX + 16)
#define PROXY_PARENT_USER_MAX 255
#define PROXY_PARENT_AUTH_MAX 704

/* Listening. */
#define PROXY_BACKLOG 511

/* The store watch: how often the writer looks for other processes'
 * commits (a change takes effect within this plus a reload). */
#define PROXY_STORE_WATCH_MS 500u

/* Buffers. A head must be contiguous; body and tunnel bytes move in
 * chunks that each write request owns. */
#define PROXY_READ_CHUNK     65536 /* bytes per body or tunnel read */
#define PROXY_READ_CACHE_MAX 64    /* free read chunks kept per worker */
#define PROXY_HEAD_CACHE_MAX 256   /* free head buffers kept per worker */
#define PROXY_IN_INITIAL     4096  /* first size of a head buffer */
/* A head, and what may follow it before it is processed. */
#define PROXY_IN_MAX         (HTTP1_MAX_HEAD + PROXY_READ_CHUNK)
#define PROXY_HEAD_OUT_EXTRA 1024  /* bytes a rewritten head may add */
#define PROXY_BODY_INLINE    16384 /* body bytes sent with a response head */
#define PROXY_DISCARD_BUF    16384 /* per-worker scratch for discarded reads */
#define PROXY_AUTH_JOBS_MAX  16    /* credential checks in flight per worker */

/* Backpressure: past the high-water mark of bytes queued towards one
 * side, reading from the other side stops until the queue drains below
 * the low-water mark. */
#define PROXY_WRITE_HIGH_WATER (256u * 1024u)
#define PROXY_WRITE_LOW_WATER  (64u * 1024u)

/* Bulk bytes through pipes with splice(2) (proxy_splice.c): a response
 * body with at least PROXY_SPLICE_MIN bytes still to come, and tunnels.
 * Each direction's pipe holds PROXY_SPLICE_PIPE bytes (the bounded
 * buffer; the kernel's default when refused); one pump moves at most
 * PROXY_SPLICE_BURST bytes; empty pipes kept per worker. */
#define PROXY_SPLICE_MIN   (64u * 1024u)
#define PROXY_SPLICE_PIPE  (256u * 1024u)
#define PROXY_SPLICE_BURST (1024u * 1024u)
#define PROXY_SPLICE_CACHE 16

/* Upstream keep-alive pool, per worker: sized for the concurrency of
 * busy clients towards one origin (50 keep-alive clients on 2 workers
 * kept only 4 each and reconnected for most requests). Idle connections
 * hold no buffer, only their handles (about 1 KiB each). */
#define PROXY_POOL_PER_ORIGIN 64
#define PROXY_POOL_TOTAL      256

/* DNS cache, per worker. */
#define PROXY_DNS_CACHE_ENTRIES 256
#define PROXY_DNS_MAX_ADDRS     8      /* addresses kept per name */
#define PROXY_DNS_TTL_MS        60000u /* positive answers */
#define PROXY_DNS_NEG_TTL_MS    5000u  /* failures */

/* Connection lifetimes. */
#define PROXY_DRAIN_MS  10000u /* graceful shutdown: in-flight work */
#define PROXY_LINGER_MS 2000u  /* reading after our final answer */
/* At --max-conns a worker stops accepting; it retries this often, since
 * the slot that frees may be another worker's. */
#define PROXY_ACCEPT_RETRY_MS 50u
#define PROXY_DENY_LOG_MS     1000u /* ms between "refused" stderr lines */

/* The internal upgrade (proxy_upgrade.c). The 307 head goes out as this
 * many iovecs: libuv copies more than 4 into a malloc'd array. */
#define PROXY_UPGRADE_BUFS 4
/* Request body bytes read and discarded after a 307 so that keep-alive
 * continues; a longer body closes the connection instead. */
#define PROXY_DISCARD_BODY_MAX (64u * 1024u * 1024u)

/* Basic proxy authentication (proxy_auth.c). */
#define PROXY_AUTH_FILE_MAX  (1024 * 1024) /* bytes of an htpasswd file */
#define PROXY_AUTH_USERS_MAX 10000
#define PROXY_AUTH_CRED_MAX  1024 /* decoded "user:password" */

/* The TLS client (proxy_tls.c). */
#define PROXY_TLS_ERROR_MAX   512   /* bytes of a failure message */
#define PROXY_TLS_READ_CHUNK  17408 /* a TLS record (16 KiB) and framing */
#define PROXY_TLS_PLAIN_CHUNK 16384 /* plaintext per on_read */
#define PROXY_TLS_SHUTDOWN_MS 2000u /* close_notify and FIN, at most */
#define PROXY_TLS_VERSION_MAX 16    /* "TLSv1.3" and NUL */
/* Through a parent proxy: our CONNECT request, and its answer's head. */
#define PROXY_TLS_TUNNEL_REQ_MAX  1280
#define PROXY_TLS_TUNNEL_HEAD_MAX 4096

/* Probes (proxy_probe.c): `probe` and those `run` starts by itself
 * (proxy_learn.c). */
#define PROXY_PROBE_PORT           443u   /* default port */
#define PROXY_PROBE_TIMEOUT_S      10u    /* default --timeout */
#define PROXY_PROBE_RUN_TIMEOUT_MS 10000u /* DNS, connect, TLS, head */
#define PROXY_PROBE_GLOBAL_MAX     16u    /* in flight, all workers */
#define PROXY_PROBE_WORKER_MAX     8u     /* in flight, one worker */
#define PROXY_PROBE_FRESH_SLOTS    1024u  /* host -> next probe time */
#define PROXY_PROBE_QUEUE_MAX      64u    /* learned, not yet published */
#define PROXY_PROBE_FRESH_NONE_S   86400  /* after no (valid) header */
#define PROXY_PROBE_FRESH_ERROR_S  3600   /* after a failed probe */
#define PROXY_PROBE_FRESH_MIN_S    60     /* at least, after a policy */

/* The HTTPS fetch behind `preload update` (proxy_fetch.c). */
#define PROXY_FETCH_BODY_MAX   (64u << 20) /* bytes received, framing too */
#define PROXY_FETCH_TIMEOUT_MS 30000u      /* connect; then read silence */
#define PROXY_FETCH_ERROR_MAX  (PROXY_TLS_ERROR_MAX + 256)
#define PROXY_FETCH_URL_MAX    8192 /* bytes of a URL it accepts */

/* Whole networks (proxy_intercept.c). The firewall mark of the proxy's
 * own outgoing connections ("HS"), set when interception is on. */
#define PROXY_DEFAULT_OUTGOING_MARK 0x4853u
/* Bytes of a redirected TLS connection held while its ClientHello is
 * read for the SNI (a hello is one or more records; 16 KiB of handshake
 * and the record headers); a longer one passes through unnamed. */
#define PROXY_HELLO_MAX (16384 + 5 * 4)

/* The stderr debug log (proxy_debug.c): bytes of one line. */
#define PROXY_DEBUG_LINE_MAX 1024

/* The hop log (proxy_log.c): per-worker scratch for the NUL-terminated
 * copies of a hop's strings (each truncated to store_writer.h's field caps,
 * which add up to less). */
#define PROXY_HOP_SCRATCH 32768

/* The console (proxy_console*.c). */
#define PROXY_CONSOLE_TOKEN_BYTES  32     /* the CSRF token: 64 hex digits */
#define PROXY_CONSOLE_FEED_SLOTS   1024   /* committed hops kept for streams */
#define PROXY_CONSOLE_EDITS_MAX    64     /* policy edits waiting to publish */
#define PROXY_CONSOLE_JOBS_MAX     32     /* store jobs at once, all workers */
#define PROXY_CONSOLE_BODY_MAX     4096   /* bytes of a POST body */
#define PROXY_CONSOLE_PUBLISH_MS   2000u  /* wait for every worker to adopt */
#define PROXY_CONSOLE_HOPS_DEFAULT 100u   /* GET /api/hops without limit */
#define PROXY_CONSOLE_HOPS_MAX     5000u  /* its largest limit */
#define PROXY_CONSOLE_POLL_MS      150u   /* a stream looks for new hops */
#define PROXY_CONSOLE_PING_MS      15000u /* a silent stream's comment */
#define PROXY_CONSOLE_STREAM_CHUNK (256u * 1024u) /* bytes per poll */

#endif /* PROXY_LIMITS_H */

/*
 * proxy.h - the forwarding core: `hstsproxy run`.
 *
 * A forward proxy for HTTP/1.0 and HTTP/1.1 clients (RFC 9110, RFC 9112):
 * absolute-form requests are forwarded to their origin in origin-form,
 * CONNECT opens a tunnel to an allowed port, origin-form requests are
 * answered by the proxy itself (a status page and a PAC file). N worker
 * threads each run their own libuv loop with their own listening socket
 * per address (SO_REUSEPORT); the calling thread handles signals.
 *
 * Plain-HTTP requests to HSTS hosts (the store's preload list and learned
 * or manual policies, RFC 6797 section 8.3) are not forwarded: the proxy
 * answers them itself with an internal 307 to https (proxy_upgrade.c).
 * Each such upgrade, each redirect an origin sends, and a traffic count
 * per request go to the store's hop log writer (store_writer.h).
 *
 * The caller fills a struct proxy_config (proxy_config_init() sets the
 * defaults; the proxy_config_* parsers take option values as typed on the
 * command line) and calls proxy_run(), which returns when a SIGINT or
 * SIGTERM has been handled, in-flight exchanges have finished and the hop
 * log is committed.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "proxy_limits.h"

/* One --map HOST[:PORT]=ADDR[:PORT]. */
struct proxy_map {
  char host[PROXY_HOST_MAX + 1]; /* normalized: lowercase, no final dot */
  unsigned port;                 /* 0: any port */
  struct sockaddr_storage addr;  /* the literal to connect to */
  unsigned to_port;              /* 0: the request's port */
};

/* One --allow CIDR: the first `prefix` bits of addr (IPv4 in 4 bytes). */
struct proxy_cidr {
  unsigned char addr[16]; /* network byte order, host bits zero */
  unsigned prefix;        /* 0-32 (IPv4) or 0-128 (IPv6) */
  int v6;
};

/* The numbers the announce line shows about the store. */
struct proxy_store_counts {
  const char *preload_name; /* active list name, or NULL: "none" */
  size_t preload_hosts;
  size_t learned;         /* live learned policies */
  size_t manual;          /* live manual policies */
  int preload_stale_days; /* the list's age past 70 days (stale), or 0 */
};

struct proxy_auth; /* proxy_auth.c: the users of --auth-file */

/* --upstream-proxy http://[user:pass@]HOST:PORT (proxy_parent.c). */
struct proxy_parent {
  char host[PROXY_HOST_MAX + 1];    /* normalized; IPv6 without brackets */
  unsigned port;                    /* 1-65535 */
  char name[PROXY_PARENT_NAME_MAX]; /* "parent proxy HOST:PORT" */
  char auth[PROXY_PARENT_AUTH_MAX]; /* "Basic ..." or "" (no user) */
};

/* --upstream-no-proxy LIST: where requests go direct (as curl's
 * NO_PROXY): every host ("*"), names (and their subdomains), networks
 * (IP-literal targets only: no name is resolved to decide). */
struct proxy_no_proxy {
  int all;
  char names[PROXY_MAX_NO_PROXY][PROXY_HOST_MAX + 1];
  size_t nnames;
  struct proxy_cidr nets[PROXY_MAX_NO_PROXY];
  size_t nnets;
};

/*
 * The console's store work that the CLI provides (proxy_console_api.c
 * calls it on the thread pool), so that each report has one renderer:
 * `policy query --json` for host, and the audit's HTML report for the
 * window [since_ms, until_ms). Each opens the store at db_path read-only,
 * writes to f and returns 0; 1 when the input is at fault (a 400: err
 * says why); -1 when the store failed (err names the file and cause).
 */
struct proxy_console_ops {
  int (*policy_json)(const char *db_path, const char *host, FILE *f, char *err,
                     size_t errsz);
  int (*audit_html)(const char *db_path, int64_t since_ms, int64_t until_ms,
                    FILE *f, char *err, size_t errsz);
};

struct proxy_config {
  struct sockaddr_storage listen[PROXY_MAX_LISTEN]; /* port 0: ephemeral */
  size_t nlisten;
  unsigned workers; /* 1..PROXY_MAX_WORKERS */
  struct proxy_map maps[PROXY_MAX_MAPS];
  size_t nmaps;
  unsigned connect_ports[PROXY_MAX_CONNECT_PORTS];
  size_t nconnect_ports;
  unsigned max_conns; /* client connections, all workers together */
  unsigned timeout_header_s;
  unsigned timeout_idle_s;
  unsigned timeout_connect_s;
  unsigned timeout_response_s;
  unsigned timeout_tunnel_s;
  int verbose;          /* one stderr line per closed connection */
  const char *db_path;  /* the store; required (not owned) */
  const char *log_json; /* --log-json: NULL none, "-" stdout, else a file */
  const char *ca_file;  /* --ca-file: NULL the system's store (not owned) */
  int no_probe;         /* --probe off: never probe hosts (proxy_learn.c) */
  struct proxy_cidr allow[PROXY_MAX_ALLOW]; /* none: loopback only */
  size_t nallow;
  const char *auth_file;   /* --auth-file: NULL none (not owned) */
  struct proxy_auth *auth; /* its users (proxy_auth_open), or NULL */
  /* proxy_refresh.c: --preload-refresh (0: off) and --preload-url (NULL:
   * PROXY_PRELOAD_URL_DEFAULT, not owned). */
  uint64_t preload_refresh_ms;
  const char *preload_url;
  /* Whole networks (proxy_intercept.c): listeners for connections the
   * network redirected to the proxy, plain HTTP and TLS, and the mark of
   * the proxy's own connections (used with interception, or when given). */
  struct sockaddr_storage intercept[PROXY_MAX_INTERCEPT];
  size_t nintercept;
  struct sockaddr_storage intercept_tls[PROXY_MAX_INTERCEPT];
  size_t nintercept_tls;
  unsigned outgoing_mark;  /* SO_MARK value; 0: none */
  int outgoing_mark_given; /* --outgoing-mark: a failure to set it is fatal */
  const char *pid_file;    /* --pid-file: NULL none (not owned) */
  int has_parent;          /* --upstream-proxy given */
  struct proxy_parent parent;
  struct proxy_no_proxy no_proxy; /* --upstream-no-proxy */
  /* --access-log: NULL none, "-" stdout, else a file (not owned), and
   * --access-log-format: 0 squid, 1 combined, 2 json (proxy_alog.h). */
  const char *access_log;
  int access_log_format;
  /* --retain: hop, probe and per-day rows older than this many seconds
   * are deleted by the writer; 0: off. */
  unsigned long long retain_s;
  /* The console (proxy_console.c): --console-allow CIDRs (none: loopback
   * only) and the CLI's renderers (NULL: the console has no policy query
   * nor audit report). */
  struct proxy_cidr console_allow[PROXY_MAX_ALLOW];
  size_t nconsole_allow;
  const struct proxy_console_ops *console_ops;
};

/* Chromium's list as gitiles serves it (base64 with ?format=TEXT). */
#define PROXY_PRELOAD_URL_DEFAULT                                   \
  "https://chromium.googlesource.com/chromium/src/+/main/net/http/" \
  "transport_security_state_static.json?format=TEXT"
#define PROXY_PRELOAD_REFRESH_DEFAULT_MS (24u * 3600u * 1000u) /* 24h */

/* A startup failure: printed as "hstsproxy run: <what>: <why>". */
struct proxy_error {
  char what[PROXY_ERROR_TEXT];
  char why[PROXY_ERROR_TEXT];
};

/* Sets the defaults of proxy_limits.h: no listen address yet (proxy_run
 * then uses PROXY_DEFAULT_LISTEN), workers = available CPUs, connect port
 * 443, no maps. */
void proxy_config_init(struct proxy_config *cfg);

/*
 * Option parsers. Each validates `arg` completely (rejecting, never
 * repairing) and stores it in cfg; on failure it returns -1, leaves cfg
 * unchanged and points *why at a static English reason.
 *
 * proxy_config_add_listen: "A.B.C.D:PORT" or "[IPv6]:PORT", PORT 0-65535,
 *   or "NAME:PORT": a host name resolved at once (blocking: main thread,
 *   before proxy_run), every address it has added (duplicates once).
 * proxy_config_add_map: "HOST[:PORT]=ADDR[:PORT]", ADDR an IP literal
 *   (IPv6 in brackets); the first matching map wins.
 * proxy_config_set_connect_ports: "443,8443", ports 1-65535; replaces.
 */
int proxy_config_add_listen(struct proxy_config *cfg, const char *arg,
                            const char **why);
int proxy_config_add_map(struct proxy_config *cfg, const char *arg,
                         const char **why);
int proxy_config_set_connect_ports(struct proxy_config *cfg, const char *arg,
                                   const char **why);
/* proxy_config_set_access_log_format: "squid", "combined" or "json". */
int proxy_config_set_access_log_format(struct proxy_config *cfg,
                                       const char *arg, const char **why);

/*
 * Whole networks. proxy_config_add_intercept: "ADDR:PORT" as for
 * --listen, for --intercept (tls 0) or --intercept-tls (tls 1).
 * proxy_config_set_outgoing_mark: decimal or 0x-hex, 0-0xffffffff.
 */
int proxy_config_add_intercept(struct proxy_config *cfg, const char *arg,
                               int tls, const char **why);
int proxy_config_set_outgoing_mark(struct proxy_config *cfg, const char *arg,
                                   const char **why);

/*
 * proxy_access.c. proxy_config_add_allow: "A.B.C.D[/N]" or "V6[/N]" (no
 * brackets), host bits must be zero; a bare address is /32 or /128.
 * proxy_config_check_open: returns -1 with what/why filled (what names
 * the --listen or --intercept address) when one is not loopback and no
 * --allow was given (an open proxy); 0 otherwise. Call after parsing.
 */
int proxy_config_add_allow(struct proxy_config *cfg, const char *arg,
                           const char **why);
/* The same for --console-allow: who may use the console. */
int proxy_config_add_console_allow(struct proxy_config *cfg, const char *arg,
                                   const char **why);
int proxy_config_check_open(const struct proxy_config *cfg,
                            struct proxy_error *err);

/*
 * proxy_auth.c. CONSTRUCTOR: reads the htpasswd file at path (user:hash
 * lines; hashes $5$, $6$, $apr1$, {SHA}; '#' comments) into *out. path
 * is not copied: it must outlive the object (SIGHUP re-reads it). On a
 * missing, unreadable or malformed file returns -1 with err naming the
 * file and the cause (the line number for a bad line), *out NULL.
 * DESTRUCTOR proxy_auth_close: NULL accepted; sets *auth to NULL; only
 * after proxy_run() has returned.
 */
int proxy_auth_open(struct proxy_auth **out, const char *path,
                    struct proxy_error *err);
void proxy_auth_close(struct proxy_auth **auth);

/*
 * proxy_pidfile.c. Whether --pid-file PATH can be written: an existing
 * file opened for writing, or a missing one created and removed again.
 * Returns 0, or -1 with err naming the path and the cause. Leaves no
 * file behind; proxy_run() writes it once listening and removes it at
 * exit.
 */
int proxy_pid_file_check(const char *path, struct proxy_error *err);

/*
 * proxy_parent.c. proxy_config_set_parent: "http://[user:pass@]HOST:PORT"
 * (an optional final "/"; user and pass percent-decoded; HOST a name, an
 * IPv4 literal or [IPv6]); anything but http:// is refused. Replaces.
 * proxy_config_set_no_proxy: a comma- or blank-separated list of host
 * names (a leading dot ignored: the name and its subdomains), IP
 * addresses or CIDR networks, or "*"; an empty list goes direct nowhere.
 * Replaces.
 */
int proxy_config_set_parent(struct proxy_config *cfg, const char *arg,
                            const char **why);
int proxy_config_set_no_proxy(struct proxy_config *cfg, const char *arg,
                              const char **why);
/* The parent a connection to host (normalized; IPv6 without brackets)
 * goes through: cfg->parent, or NULL (none, or in --upstream-no-proxy). */
const struct proxy_parent *
proxy_config_parent_for(const struct proxy_config *cfg, const char *host);
/* Writes the CONNECT request head for authority ("host:port") to p into
 * buf. Returns its length, or -1 when size is too small. */
int proxy_parent_connect_request(const struct proxy_parent *p,
                                 const char *authority, char *buf, size_t size);

/* Parses decimal digits only (no sign, no space) into *out within
 * [min, max]. Returns 0, or -1 with *why set. */
int proxy_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out,
                     const char **why);

/* Writes "127.0.0.1:3128" or "[::1]:3128" for sa into buf (at least
 * PROXY_ADDR_TEXT bytes). Returns buf. */
char *proxy_addr_format(const struct sockaddr *sa, char *buf, size_t size);

/*
 * Runs the proxy until SIGINT or SIGTERM. Opens the store at cfg->db_path
 * (created if missing), loads the preload list and the dynamic policies,
 * opens the hop log writer (and cfg->log_json), binds every listener (all
 * workers, all addresses), then prints the announce line to stderr with
 * the store's counts; serves (SIGHUP reloads the policies), drains for at
 * most PROXY_DRAIN_MS after the signal, commits the hop log and returns 0.
 * On a startup failure (the store, the log file, an address in use,
 * thread creation) returns a negative libuv error with *err filled, and
 * nothing is left open. cfg is only read and must outlive the call.
 */
int proxy_run(const struct proxy_config *cfg, struct proxy_error *err);

#endif /* PROXY_H */

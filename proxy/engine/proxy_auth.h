/*
 * proxy_auth.h - Basic proxy authentication from an htpasswd file
 * (proxy_auth.c), and the auth phase a request waits in meanwhile.
 */
#ifndef PROXY_AUTH_H
#define PROXY_AUTH_H

#include <stddef.h>
#include <uv.h>

#include "proxy.h"
#include "proxy_conn.h"

#define PROXY_APR1_TEXT 40 /* "$apr1$" salt(8) "$" hash(22), NUL */

/*
 * The auth stage of a parsed request head: PROXY_NEXT to go on (no
 * --auth-file, a request for the proxy's own pages, or the credentials
 * this connection already proved); PROXY_DONE when the request was
 * answered (407, or 503 when the worker has PROXY_AUTH_JOBS_MAX checks
 * in flight); PROXY_PENDING when the check went to the thread pool: the
 * conn is then in the auth phase (reads nothing), and cb(conn) runs from
 * the loop once the credentials are proved (a refusal is answered 407
 * here, and cb does not run).
 */
enum proxy_next proxy__auth_check(struct proxy_conn *conn, proxy__conn_cb cb);
/* The same for the console (proxy_console.c), which a browser talks to as
 * an origin: the credentials are in Authorization, a refusal is a 401
 * with WWW-Authenticate; checked for every request, origin-form too. */
enum proxy_next proxy__auth_check_console(struct proxy_conn *conn,
                                          proxy__conn_cb cb);
/* The connection of a check in flight is closing: the check's answer is
 * dropped, and a check still queued is cancelled. */
void proxy__auth_detach(struct proxy_auth_job *job);
/* The user name of the request's Proxy-Authorization when this
 * connection proved it (--auth-file), copied to out (cap bytes, no NUL);
 * returns its length, 0 when there is none. For the access log. */
size_t proxy__auth_user(const struct proxy_conn *conn, char *out, size_t cap);
/* Main thread, SIGHUP: re-reads the file on loop's thread pool and swaps
 * the users in; a bad file keeps the old ones (said on stderr). NULL a:
 * nothing. */
void proxy__auth_reload(struct proxy_auth *a, uv_loop_t *loop);
/* Whether pw[0..pwlen) matches the stored hash (any accepted kind);
 * constant-time comparison. Pure but for crypt_r's CPU time. */
int proxy__auth_verify(const char *hash, const char *pw, size_t pwlen);
/* Apache's APR1-MD5 of pw with salt (8 characters used at most) into
 * out as "$apr1$salt$hash". Returns 0, or -1 when OpenSSL fails. */
int proxy__auth_apr1(const char *pw, size_t pwlen, const char *salt,
                     size_t slen, char out[PROXY_APR1_TEXT]);

#endif /* PROXY_AUTH_H */

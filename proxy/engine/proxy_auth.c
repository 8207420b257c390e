/*
 * proxy_auth.c - Basic proxy authentication (RFC 9110 section 11.7.1,
 * RFC 7617) from an htpasswd file, as nginx reads one.
 *
 * The file has one `user:hash` line per user (a third `:comment` field is
 * ignored, as nginx does); empty lines and lines starting with '#' are
 * skipped. Hashes: crypt(3) SHA-256 and SHA-512 (`$5$`, `$6$`, from
 * `openssl passwd -5/-6`, checked with libcrypt's crypt_r), Apache's
 * `$apr1$` (MD5-based, implemented here from its published description
 * with OpenSSL's MD5) and `{SHA}` (base64 of the SHA-1 of the password).
 * Anything else (plain text, DES, `$1$`, bcrypt) is rejected with the
 * line number, as are duplicate users: a file is taken whole or not at
 * all. Comparisons use CRYPTO_memcmp (constant time).
 *
 * Concurrency: a hash like `$6$` costs milliseconds of CPU, so it never
 * runs on an event loop. A worker decodes the credentials, takes a
 * reference to the current table (under the read side of a rwlock, held
 * for that pointer copy only) and hands the check to the thread pool; the
 * connection reads nothing until the answer comes back (the auth phase),
 * then the request goes on through the caller's continuation.
 * At most PROXY_AUTH_JOBS_MAX checks per worker are in flight: past that
 * the request is answered 503 (a flood of guesses cannot queue unbounded
 * work in front of DNS lookups, which share the pool). An unknown user
 * costs the same hash as a wrong password (checked against the first
 * user's hash), so the answer's timing does not tell which names exist.
 * SIGHUP re-reads the file on the thread pool and swaps the table under
 * the write side; a table lives until its last in-flight check is done. A
 * bad file on reload keeps the previous users (and says why on stderr).
 * Proxy-Authorization itself is a hop-by-hop field (proxy_forward.c), never
 * forwarded. Requests for the proxy's own pages (origin-form: the status page,
 * the PAC file) need no credentials: browsers fetch a PAC file without them.
 * The console (proxy_console.c) does: a browser sees it as an origin, so
 * its check reads Authorization and refuses with 401 (the same table,
 * cache and thread-pool check).
 */
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_auth.h"
#include "proxy_conn.h"
#include "proxy_server.h"

#define SHA1_LEN        20
#define SHA1_B64_LEN    28
#define MD5_LEN         16
#define APR1_SALT_MAX   8
#define APR1_ROUNDS     1000
#define APR1_HASH_LEN   22
#define SHA256_HASH_LEN 43
#define SHA512_HASH_LEN 86
#define CRYPT_SALT_MAX  16
#define ITOA_BITS       6
#define ITOA_MASK       0x3fu
#define ROUND_ODD       2 /* APR1: alternate on even and odd rounds */
#define ROUND_SALT      3 /* ... add the salt unless divisible by 3 */
#define ROUND_PW        7 /* ... add the password unless divisible by 7 */
#define MD5_BLOCK       16
#define DEL_CHAR        0x7f

static const char itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char basic_prefix[] = "Basic ";
static const char apr1_magic[] = "$apr1$";
static const char sha_prefix[] = "{SHA}";

enum auth_kind { AUTH_CRYPT, AUTH_APR1, AUTH_SHA };

struct auth_user {
  const char *name; /* view into table->text */
  size_t name_len;
  const char *hash; /* view into table->text, NUL-terminated */
  enum auth_kind kind;
};

struct auth_table {
  atomic_uint refs;        /* the proxy_auth's one, plus checks in flight */
  uint64_t gen;            /* 1, 2, ... per load: connections' cached checks */
  char *text;              /* owned: the file, split in place */
  struct auth_user *users; /* owned */
  size_t n;
};

struct proxy_auth {
  const char *path; /* not owned: the --auth-file argument */
  uv_rwlock_t lock;
  struct auth_table *table; /* owned; replaced under the write lock */
  uv_work_t req;            /* a reload on the thread pool */
  struct auth_table *fresh; /* built by the reload, or NULL */
  uint64_t gen;             /* of the newest table */
  char err[PROXY_ERROR_TEXT];
  int busy, again;
};

/* A check on the thread pool: owned by the worker's loop from queueing to
 * on_check_done; the connection only points at it (detached on close). */
struct proxy_auth_job {
  uv_work_t req;
  struct proxy_conn *conn; /* NULL once the connection closed */
  proxy__conn_cb cb;       /* the request goes on */
  struct proxy_worker *worker;
  struct auth_table *table;       /* a reference */
  char cred[PROXY_AUTH_CRED_MAX]; /* decoded "user:password" */
  size_t len;
  unsigned char digest[PROXY_AUTH_DIGEST]; /* of the field's value */
  int ok;
  int origin; /* the console's Authorization: a refusal is a 401 */
};

/* Drops one reference; the last frees the table. */
static void table_free(struct auth_table **t)
{
  if (*t == NULL)
    return;
  if (atomic_fetch_sub_explicit(&(*t)->refs, 1, memory_order_acq_rel) != 1) {
    *t = NULL;
    return;
  }
  free((*t)->text);
  free((*t)->users);
  free(*t);
  *t = NULL;
}

/* Base64 of SHA1_LEN bytes: 27 characters and one '='. */
static int b64_text_ok(const char *s)
{
  return proxy__base64_decode(s, SHA1_B64_LEN, 0, NULL, 0) == SHA1_LEN;
}

static int in_itoa64(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    if (s[i] == '\0' || strchr(itoa64, s[i]) == NULL)
      return 0;
  return 1;
}

/* "$5$[rounds=N$]salt$hash" or "$6$...": the shape crypt(3) writes. */
static int crypt_shape_ok(const char *h)
{
  size_t want = h[1] == '5' ? SHA256_HASH_LEN : SHA512_HASH_LEN;
  const char *salt = h + 3, *end;

  if (strncmp(salt, "rounds=", strlen("rounds=")) == 0) {
    salt = strchr(salt, '$');
    if (salt == NULL)
      return 0;
    salt++;
  }
  end = strchr(salt, '$');
  if (end == NULL || end == salt || end - salt > CRYPT_SALT_MAX)
    return 0;
  return strlen(end + 1) == want && in_itoa64(end + 1, want);
}

/* Which kind of hash h is; -1 when it is none we accept. */
static int hash_kind(const char *h)
{
  const char *salt, *end;

  if ((strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) &&
      crypt_shape_ok(h))
    return AUTH_CRYPT;
  if (strncmp(h, apr1_magic, strlen(apr1_magic)) == 0) {
    salt = h + strlen(apr1_magic);
    end = strchr(salt, '$');
    if (end != NULL && end > salt && end - salt <= APR1_SALT_MAX &&
        strlen(end + 1) == APR1_HASH_LEN && in_itoa64(end + 1, APR1_HASH_LEN))
      return AUTH_APR1;
    return -1;
  }
  if (strncmp(h, sha_prefix, strlen(sha_prefix)) == 0 &&
      strlen(h) == strlen(sha_prefix) + SHA1_B64_LEN &&
      b64_text_ok(h + strlen(sha_prefix)))
    return AUTH_SHA;
  return -1;
}

/* Parses one non-comment line (NUL-terminated, in place) into *u. */
static const char *parse_line(char *line, struct auth_user *u)
{
  char *colon = strchr(line, ':'), *end;
  int kind;

  if (colon == NULL || colon == line)
    return colon == NULL ? "expected user:hash" : "empty user name";
  *colon = '\0';
  end = strchr(colon + 1, ':'); /* user:hash:comment */
  if (end != NULL)
    *end = '\0';
  kind = hash_kind(colon + 1);
  if (kind < 0)
    return "unsupported or malformed hash (use $6$, $5$, $apr1$ or {SHA})";
  u->name = line;
  u->name_len = (size_t)(colon - line);
  u->hash = colon + 1;
  u->kind = (enum auth_kind)kind;
  return NULL;
}

static const char *add_line(struct auth_table *t, char *line)
{
  size_t len = strlen(line), i;
  struct auth_user u;
  const char *why;

  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0'; /* CRLF files; a CR elsewhere is rejected */
  if (line[0] == '\0' || line[0] == '#')
    return NULL;
  for (i = 0; i < len; i++)
    if ((unsigned char)line[i] < ' ' || line[i] == DEL_CHAR)
      return "control character in the line";
  why = parse_line(line, &u);
  if (why != NULL)
    return why;
  for (i = 0; i < t->n; i++)
    if (t->users[i].name_len == u.name_len &&
        memcmp(t->users[i].name, u.name, u.name_len) == 0)
      return "duplicate user";
  if (t->n >= PROXY_AUTH_USERS_MAX)
    return "too many users";
  t->users[t->n++] = u;
  return NULL;
}

/* Reads the whole file (at most PROXY_AUTH_FILE_MAX bytes) into t->text. */
static int read_file(const char *path, struct auth_table *t, char *err,
                     size_t errsz)
{
  FILE *f = fopen(path, "rb");
  size_t n;

  if (f == NULL) {
    snprintf(err, errsz, "%s", strerror(errno));
    return -1;
  }
  t->text = malloc(PROXY_AUTH_FILE_MAX + 1);
  n = t->text != NULL ? fread(t->text, 1, PROXY_AUTH_FILE_MAX + 1, f) : 0;
  if (t->text == NULL || ferror(f) || n > PROXY_AUTH_FILE_MAX) {
    snprintf(err, errsz, "%s",
             t->text == NULL ? "out of memory"
             : ferror(f)     ? "read error"
                             : "file too large (1 MiB at most)");
    fclose(f);
    return -1;
  }
  fclose(f);
  t->text[n] = '\0';
  if (memchr(t->text, '\0', n) != NULL) {
    snprintf(err, errsz, "a NUL byte in the file");
    return -1;
  }
  return 0;
}

/* CONSTRUCTOR: parses the file at path; err says why not (line N). */
static struct auth_table *table_load(const char *path, char *err, size_t errsz)
{
  struct auth_table *t = calloc(1, sizeof(*t));
  char *line, *next;
  unsigned lineno = 0;
  const char *why;

  if (t == NULL) {
    snprintf(err, errsz, "out of memory");
    return NULL;
  }
  atomic_init(&t->refs, 1);
  if (read_file(path, t, err, errsz) < 0)
    goto fail;
  t->users = calloc(PROXY_AUTH_USERS_MAX, sizeof(*t->users));
  if (t->users == NULL) {
    snprintf(err, errsz, "out of memory");
    goto fail;
  }
  for (line = t->text; line != NULL; line = next) {
    lineno++;
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    why = add_line(t, line);
    if (why != NULL) {
      snprintf(err, errsz, "line %u: %s", lineno, why);
      goto fail;
    }
  }
  if (t->n == 0) {
    snprintf(err, errsz, "no users in the file");
    goto fail;
  }
  return t;
fail:
  if (t == NULL)
    snprintf(err, errsz, "out of memory");
  table_free(&t);
  return NULL;
}

/* ---- hash checks ---- */

static void to64(char **p, unsigned long v, int n)
{
  while (n-- > 0) {
    *(*p)++ = itoa64[v & ITOA_MASK];
    v >>= ITOA_BITS;
  }
}

static int md5_of(const void *parts[], const size_t lens[], size_t n,
                  unsigned char out[MD5_LEN])
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
  size_t i;

  for (i = 0; ok && i < n; i++)
    ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? 0 : -1;
}

/* The initial digest of APR1: password, magic, salt, then the
 * password-length-driven mix of an alternate digest. */
static int apr1_initial(const char *pw, size_t pwlen, const char *salt,
                        size_t slen, unsigned char out[MD5_LEN])
{
  unsigned char alt[MD5_LEN];
  const void *ap[] = { pw, salt, pw };
  const size_t al[] = { pwlen, slen, pwlen };
  EVP_MD_CTX *ctx;
  size_t i;
  int ok;

  if (md5_of(ap, al, 3, alt) < 0)
    return -1;
  ctx = EVP_MD_CTX_new();
  ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
       EVP_DigestUpdate(ctx, pw, pwlen) == 1 &&
       EVP_DigestUpdate(ctx, apr1_magic, strlen(apr1_magic)) == 1 &&
       EVP_DigestUpdate(ctx, salt, slen) == 1;
  for (i = pwlen; ok && i > 0; i -= i > MD5_BLOCK ? MD5_BLOCK : i)
    ok = EVP_DigestUpdate(ctx, alt, i > MD5_BLOCK ? MD5_BLOCK : i) == 1;
  for (i = pwlen; ok && i > 0; i >>= 1)
    ok = EVP_DigestUpdate(ctx, (i & 1) ? "" : pw, 1) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? 0 : -1;
}

int proxy__auth_apr1(const char *pw, size_t pwlen, const char *salt,
                     size_t slen, char out[PROXY_APR1_TEXT])
{
  static const unsigned char order[][3] = {
    { 0, 6, 12 }, { 1, 7, 13 }, { 2, 8, 14 }, { 3, 9, 15 }, { 4, 10, 5 }
  };
  unsigned char d[MD5_LEN];
  unsigned r;
  size_t i;
  char *p;

  if (slen > APR1_SALT_MAX)
    slen = APR1_SALT_MAX; /* as Apache: the salt is 8 characters at most */
  if (apr1_initial(pw, pwlen, salt, slen, d) < 0)
    return -1;
  for (r = 0; r < APR1_ROUNDS; r++) {
    const void *parts[4];
    size_t lens[4], n = 0;

    parts[n] = r % ROUND_ODD ? (const void *)pw : d;
    lens[n++] = r % ROUND_ODD ? pwlen : MD5_LEN;
    if (r % ROUND_SALT) {
      parts[n] = salt;
      lens[n++] = slen;
    }
    if (r % ROUND_PW) {
      parts[n] = pw;
      lens[n++] = pwlen;
    }
    parts[n] = r % ROUND_ODD ? (const void *)d : pw;
    lens[n++] = r % ROUND_ODD ? MD5_LEN : pwlen;
    if (md5_of(parts, lens, n, d) < 0)
      return -1;
  }
  p = out +
      snprintf(out, PROXY_APR1_TEXT, "%s%.*s$", apr1_magic, (int)slen, salt);
  for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    to64(&p,
         ((unsigned long)d[order[i][0]] << 16) |
             ((unsigned long)d[order[i][1]] << 8) | d[order[i][2]],
         4);
  to64(&p, d[11], 2);
  *p = '\0';
  return 0;
}

/* Compares what a hash function produced with the stored hash. */
static int same(const char *made, const char *stored)
{
  size_t n = strlen(stored);

  return made != NULL && strlen(made) == n &&
         CRYPTO_memcmp(made, stored, n) == 0;
}

int proxy__auth_verify(const char *hash, const char *pw, size_t pwlen)
{
  char text[PROXY_APR1_TEXT], pwz[PROXY_AUTH_CRED_MAX + 1];
  unsigned char sha[SHA1_LEN];
  unsigned int shalen = 0;
  struct crypt_data *cd;
  const char *salt;
  int ok = 0;

  if (pwlen > PROXY_AUTH_CRED_MAX || memchr(pw, '\0', pwlen) != NULL)
    return 0;
  switch (hash_kind(hash)) {
  case AUTH_CRYPT:
    memcpy(pwz, pw, pwlen);
    pwz[pwlen] = '\0';
    cd = calloc(1, sizeof(*cd));
    ok = cd != NULL && same(crypt_r(pwz, hash, cd), hash);
    free(cd);
    OPENSSL_cleanse(pwz, sizeof(pwz));
    return ok;
  case AUTH_APR1:
    salt = hash + strlen(apr1_magic);
    return proxy__auth_apr1(pw, pwlen, salt, (size_t)(strchr(salt, '$') - salt),
                            text) == 0 &&
           same(text, hash);
  case AUTH_SHA:
    if (EVP_Digest(pw, pwlen, sha, &shalen, EVP_sha1(), NULL) != 1)
      return 0;
    EVP_EncodeBlock((unsigned char *)text, sha, SHA1_LEN);
    return same(text, hash + strlen(sha_prefix));
  default:
    return 0;
  }
}

/* ---- the request check ---- */

/* The one field named name (Proxy-Authorization, or Authorization for
 * the console), or NULL (none, or several). */
static const struct http1_field *
credentials_field(const struct http1_request *r, const char *name)
{
  const struct http1_field *found = NULL;
  size_t i;

  for (i = 0; i < r->nfields; i++) {
    if (!http1_token_eq(r->fields[i].name, r->fields[i].name_len, name))
      continue;
    if (found != NULL)
      return NULL;
    found = &r->fields[i];
  }
  return found;
}

/* Decodes the Basic credentials of f into cred ("user:password");
 * returns their length, or -1 when f is not well-formed Basic. */
static ssize_t credentials_decode(const struct http1_field *f,
                                  char cred[PROXY_AUTH_CRED_MAX])
{
  size_t plen = strlen(basic_prefix), len;
  const char *v;
  ssize_t n;

  if (f == NULL || f->value_len <= plen ||
      strncasecmp(f->value, basic_prefix, plen) != 0)
    return -1;
  v = f->value + plen;
  len = f->value_len - plen;
  while (len > 0 && *v == ' ') {
    v++;
    len--;
  }
  n = proxy__base64_decode(v, len, 0, cred, PROXY_AUTH_CRED_MAX);
  if (n < 0 || memchr(cred, ':', (size_t)n) == NULL)
    return -1;
  return n;
}

/* Whether cred[0..len) ("user:password") names a user of t with that
 * password. An unknown user is hashed against the first user's hash all
 * the same, so both failures cost the same time. */
static int credentials_ok(const struct auth_table *t, const char *cred,
                          size_t len)
{
  const char *colon = memchr(cred, ':', len);
  size_t name_len = (size_t)(colon - cred), i;
  const char *pw = colon + 1;
  size_t pwlen = len - name_len - 1;

  for (i = 0; i < t->n; i++) {
    const struct auth_user *u = &t->users[i];

    if (u->name_len == name_len && memcmp(u->name, cred, name_len) == 0)
      return proxy__auth_verify(u->hash, pw, pwlen);
  }
  (void)proxy__auth_verify(t->users[0].hash, pw, pwlen);
  return 0;
}

/* The auth phase: nothing is read; the check always ends. */
static const struct proxy_phase phase_auth = { .name = "auth" };

/* The current table with a reference taken (the caller drops it). */
static struct auth_table *table_ref(struct proxy_auth *a)
{
  struct auth_table *t;

  uv_rwlock_rdlock(&a->lock);
  t = a->table;
  atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
  uv_rwlock_rdunlock(&a->lock);
  return t;
}

static void on_check_work(uv_work_t *req)
{
  struct proxy_auth_job *job = req->data;

  job->ok = credentials_ok(job->table, job->cred, job->len);
}

static void job_free(struct proxy_auth_job *job)
{
  job->worker->auth_jobs--;
  table_free(&job->table);
  OPENSSL_cleanse(job->cred, sizeof(job->cred));
  free(job);
}

/* 407 for the proxy, 401 for the console (an origin to the browser). */
static void refuse(struct proxy_conn *conn, int origin)
{
  if (origin)
    proxy__answer_401(conn);
  else
    proxy__answer_407(conn);
}

static void on_check_done(uv_work_t *req, int status)
{
  struct proxy_auth_job *job = req->data;
  struct proxy_conn *conn = job->conn;
  int origin;

  if (conn == NULL) {
    job_free(job);
    return;
  }
  conn->auth_job = NULL;
  if (status == 0 && job->ok) {
    proxy__conn_cb cb = job->cb;

    conn->auth_gen = job->table->gen;
    memcpy(conn->auth_digest, job->digest, sizeof(job->digest));
    job_free(job);
    cb(conn);
    return;
  }
  origin = job->origin;
  job_free(job);
  refuse(conn, origin);
}

/* Queues the check of cred[0..len) for conn; -1 when it cannot (the
 * worker's checks are all taken, or out of memory). */
static int check_queue(struct proxy_conn *conn, struct proxy_auth *a,
                       const char *cred, size_t len,
                       const unsigned char digest[PROXY_AUTH_DIGEST],
                       proxy__conn_cb cb, int origin)
{
  struct proxy_worker *w = conn->worker;
  struct proxy_auth_job *job;

  if (w->auth_jobs >= PROXY_AUTH_JOBS_MAX)
    return -1;
  job = calloc(1, sizeof(*job));
  if (job == NULL)
    return -1;
  job->req.data = job;
  job->conn = conn;
  job->cb = cb;
  job->worker = w;
  job->table = table_ref(a);
  job->origin = origin;
  memcpy(job->cred, cred, len);
  job->len = len;
  memcpy(job->digest, digest, PROXY_AUTH_DIGEST);
  w->auth_jobs++;
  if (uv_queue_work(&w->loop, &job->req, on_check_work, on_check_done) < 0) {
    job_free(job);
    return -1;
  }
  conn->auth_job = job;
  proxy__conn_enter(conn, &phase_auth, 0);
  return 0;
}

/*
 * A connection remembers the SHA-256 of the value it last proved (and the
 * table it proved it against): the same value on its next requests is
 * checked here, with one SHA-256 and a constant-time comparison. Anything
 * else well-formed goes to the thread pool (check_queue).
 */
static enum proxy_next auth_check(struct proxy_conn *conn, proxy__conn_cb cb,
                                  int origin)
{
  struct proxy_auth *a = conn->worker->server->cfg->auth;
  const struct http1_field *f;
  unsigned char d[PROXY_AUTH_DIGEST];
  char cred[PROXY_AUTH_CRED_MAX];
  ssize_t len;
  int ok, rc;

  if (a == NULL || (!origin && conn->req.form == HTTP1_FORM_ORIGIN))
    return PROXY_NEXT;
  f = credentials_field(&conn->req,
                        origin ? "authorization" : "proxy-authorization");
  if (f == NULL ||
      EVP_Digest(f->value, f->value_len, d, NULL, EVP_sha256(), NULL) != 1)
    goto refuse;
  uv_rwlock_rdlock(&a->lock);
  ok = conn->auth_gen == a->table->gen &&
       CRYPTO_memcmp(d, conn->auth_digest, sizeof(d)) == 0;
  uv_rwlock_rdunlock(&a->lock);
  if (ok)
    return PROXY_NEXT;
  len = credentials_decode(f, cred);
  if (len < 0)
    goto refuse;
  rc = check_queue(conn, a, cred, (size_t)len, d, cb, origin);
  OPENSSL_cleanse(cred, sizeof(cred));
  if (rc == 0)
    return PROXY_PENDING;
  proxy__conn_error(conn, 503, 1,
                    "%u credential checks already in flight; try again",
                    PROXY_AUTH_JOBS_MAX);
  return PROXY_DONE;
refuse:
  refuse(conn, origin);
  return PROXY_DONE;
}

size_t proxy__auth_user(const struct proxy_conn *conn, char *out, size_t cap)
{
  char cred[PROXY_AUTH_CRED_MAX];
  ssize_t n;
  size_t len;

  if (conn->worker->server->cfg->auth == NULL || conn->auth_gen == 0)
    return 0;
  n = credentials_decode(
      credentials_field(&conn->req, conn->req.form == HTTP1_FORM_ORIGIN
                                        ? "authorization" /* the console */
                                        : "proxy-authorization"),
      cred);
  if (n < 0)
    return 0;
  len = (size_t)((const char *)memchr(cred, ':', (size_t)n) - cred);
  if (len >= cap)
    len = cap - 1;
  memcpy(out, cred, len);
  OPENSSL_cleanse(cred, sizeof(cred));
  return len;
}

enum proxy_next proxy__auth_check(struct proxy_conn *conn, proxy__conn_cb cb)
{
  return auth_check(conn, cb, 0);
}

enum proxy_next proxy__auth_check_console(struct proxy_conn *conn,
                                          proxy__conn_cb cb)
{
  return auth_check(conn, cb, 1);
}

void proxy__auth_detach(struct proxy_auth_job *job)
{
  job->conn = NULL;
  /* Not started yet: dropped from the pool's queue (on_check_done then
   * runs with UV_ECANCELED); running: it finishes, unseen. */
  (void)uv_cancel((uv_req_t *)&job->req);
}

/* ---- open, reload, close ---- */

int proxy_auth_open(struct proxy_auth **out, const char *path,
                    struct proxy_error *err)
{
  struct proxy_auth *a = calloc(1, sizeof(*a));

  *out = NULL;
  snprintf(err->what, sizeof(err->what), "--auth-file %s", path);
  if (a == NULL) {
    snprintf(err->why, sizeof(err->why), "out of memory");
    return -1;
  }
  a->path = path;
  a->table = table_load(path, err->why, sizeof(err->why));
  if (a->table != NULL)
    a->table->gen = a->gen = 1;
  if (a->table == NULL || uv_rwlock_init(&a->lock) != 0) {
    if (a->table != NULL)
      snprintf(err->why, sizeof(err->why), "cannot create a lock");
    table_free(&a->table);
    free(a);
    return -1;
  }
  *out = a;
  return 0;
}

void proxy_auth_close(struct proxy_auth **auth)
{
  struct proxy_auth *a = *auth;

  if (a == NULL)
    return;
  table_free(&a->table);
  table_free(&a->fresh);
  uv_rwlock_destroy(&a->lock);
  free(a);
  *auth = NULL;
}

static void on_reload_work(uv_work_t *req)
{
  struct proxy_auth *a = req->data;

  a->err[0] = '\0';
  a->fresh = table_load(a->path, a->err, sizeof(a->err));
}

static void on_reload_done(uv_work_t *req, int status)
{
  struct proxy_auth *a = req->data;
  struct auth_table *old;

  a->busy = 0;
  if (status == 0 && a->fresh != NULL) {
    a->fresh->gen = ++a->gen;
    uv_rwlock_wrlock(&a->lock);
    old = a->table;
    a->table = a->fresh;
    uv_rwlock_wrunlock(&a->lock);
    a->fresh = NULL;
    table_free(&old);
    fprintf(stderr, "hstsproxy: --auth-file %s: reloaded, %zu users\n", a->path,
            a->table->n);
  } else {
    fprintf(stderr,
            "hstsproxy: --auth-file %s: %s; keeping the previous users\n",
            a->path, status < 0 ? uv_strerror(status) : a->err);
  }
  if (a->again) {
    a->again = 0;
    proxy__auth_reload(a, req->loop);
  }
}

void proxy__auth_reload(struct proxy_auth *a, uv_loop_t *loop)
{
  if (a == NULL)
    return;
  if (a->busy) {
    a->again = 1;
    return;
  }
  a->req.data = a;
  if (uv_queue_work(loop, &a->req, on_reload_work, on_reload_done) == 0)
    a->busy = 1;
}

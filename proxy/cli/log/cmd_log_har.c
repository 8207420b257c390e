/*
 * cmd_log_har.c - `hstsproxy log --har`: the hops as one HAR 1.2 document.
 *
 * HAR 1.2 (the W3C Web Performance WG draft that browsers' developer
 * tools read): log.version, log.creator, log.pages (empty), log.entries[]
 * with every required member. What a hop did not record is given as HAR
 * says: -1 for unknown sizes, "" for an absent redirectURL, empty lists.
 * time = timings.wait = the hop's duration (send and receive 0), so the
 * sum rule holds. response.redirectURL is the resolved Location; comment
 * names the kind and the policy ("hsts-upgrade: preload a.test,
 * subdomains"; "upstream-redirect, no HSTS policy: upstream 192.0.2.1,
 * bootstrap": the proxy forwards only hosts without one); custom fields start
 * with "_" as the format allows: _request_id, _chain_id, _hop, _client, _kind,
 * _bootstrap. Written by hand (numbers with decimals), strings through
 * cli_json_escape().
 */
#include <inttypes.h>
#include <string.h>

#include "cli_json.h"
#include "cmd_log.h"

#define HAR_VERSION     "1.2"
#define DEFAULT_VERSION "HTTP/1.1"
#define US_PER_MS       1000.0

static void str(FILE *f, const char *s)
{
  if (s == NULL) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  cli_json_escape(f, s, strlen(s));
  fputc('"', f);
}

static void str_len(FILE *f, const char *s, size_t n)
{
  fputc('"', f);
  cli_json_escape(f, s, n);
  fputc('"', f);
}

static void header(FILE *f, int *first, const char *name, const char *value)
{
  if (value == NULL)
    return;
  fputs(*first ? "{\"name\":" : ",{\"name\":", f);
  str(f, name);
  fputs(",\"value\":", f);
  str(f, value);
  fputc('}', f);
  *first = 0;
}

/* queryString: name=value pairs of the URL's query, as sent. */
static void query_string(FILE *f, const char *url)
{
  const char *q = url != NULL ? strchr(url, '?') : NULL;
  int first = 1;

  fputc('[', f);
  while (q != NULL && *q != '\0') {
    size_t len, name_len;
    const char *eq;

    q++;
    len = strcspn(q, "&#");
    if (len > 0) {
      eq = memchr(q, '=', len);
      name_len = eq != NULL ? (size_t)(eq - q) : len;
      fputs(first ? "{\"name\":" : ",{\"name\":", f);
      str_len(f, q, name_len);
      fputs(",\"value\":", f);
      if (eq != NULL)
        str_len(f, eq + 1, len - name_len - 1);
      else
        fputs("\"\"", f);
      fputc('}', f);
      first = 0;
    }
    q += len;
    if (*q != '&')
      break;
  }
  fputc(']', f);
}

static void request(FILE *f, const struct store_log_row *r)
{
  int first = 1;

  fputs("\"request\":{\"method\":", f);
  str(f, r->method != NULL ? r->method : "");
  fputs(",\"url\":", f);
  str(f, r->url != NULL ? r->url : "");
  fputs(",\"httpVersion\":", f);
  str(f, r->http_version != NULL ? r->http_version : DEFAULT_VERSION);
  fputs(",\"cookies\":[],\"headers\":[", f);
  header(f, &first, "User-Agent", r->user_agent);
  fputs("],\"queryString\":", f);
  query_string(f, r->url);
  fputs(",\"headersSize\":-1,\"bodySize\":-1}", f);
}

static void response(FILE *f, const struct store_log_row *r, int ours)
{
  int first = 1;

  fprintf(f, ",\"response\":{\"status\":%d,\"statusText\":", r->status);
  str(f, r->reason != NULL ? r->reason : "");
  fputs(",\"httpVersion\":", f);
  str(f, r->http_version != NULL ? r->http_version : DEFAULT_VERSION);
  fputs(",\"cookies\":[],\"headers\":[", f);
  header(f, &first, "Location", r->location);
  if (ours)
    header(f, &first, "Non-Authoritative-Reason", "HSTS");
  header(f, &first, "Strict-Transport-Security", r->sts_header);
  fputs("],\"content\":{\"size\":0,\"mimeType\":\"\"},\"redirectURL\":", f);
  str(f, r->location != NULL ? r->location : "");
  fprintf(f, ",\"headersSize\":-1,\"bodySize\":%d}", ours ? 0 : -1);
}

void cmd_log__har_begin(FILE *f)
{
  fputs("{\"log\":{\"version\":\"" HAR_VERSION "\",\"creator\":{\"name\":"
        "\"hstsproxy\",\"version\":\"" HSTSPROXY_VERSION "\"},"
        "\"pages\":[],\"entries\":[",
        f);
}

void cmd_log__har_entry(FILE *f, const struct store_log_row *r, int first)
{
  char t[CMD_LOG_TIME_MAX], why[CMD_LOG_WHY_MAX];
  double ms = (double)r->duration_us / US_PER_MS;
  int ours = r->kind != NULL && strcmp(r->kind, "hsts-upgrade") == 0;

  cmd_log__time(r->time_ms, t);
  cmd_log__describe(r, why, sizeof(why));
  fputs(first ? "\n{" : ",\n{", f);
  fputs("\"startedDateTime\":", f);
  str(f, t);
  fprintf(f, ",\"time\":%.3f,", ms);
  request(f, r);
  response(f, r, ours);
  fprintf(f,
          ",\"cache\":{},\"timings\":{\"send\":0,\"wait\":%.3f,"
          "\"receive\":0}",
          ms);
  if (r->upstream_ip != NULL) {
    fputs(",\"serverIPAddress\":", f);
    str(f, r->upstream_ip);
  }
  fputs(",\"comment\":\"", f);
  cli_json_escape(f, r->kind, strlen(r->kind));
  fputs(ours ? ": " : ", no HSTS policy: ", f);
  cli_json_escape(f, why, strlen(why));
  fputc('"', f);
  fputs(",\"_request_id\":", f);
  str(f, r->request_id);
  fputs(",\"_chain_id\":", f);
  str(f, r->chain_id);
  fprintf(f, ",\"_hop\":%d,\"_client\":", r->hop);
  str(f, r->client);
  fputs(",\"_kind\":", f);
  str(f, r->kind);
  fprintf(f, ",\"_bootstrap\":%s}", r->bootstrap ? "true" : "false");
}

void cmd_log__har_end(FILE *f)
{
  fputs("\n]}}\n", f);
}

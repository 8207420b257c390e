/*
 * proxy_debug.h - the stderr debug log of `run --verbose` (proxy_debug.c).
 *
 * Not the hop log (proxy_log.h writes hop and traffic records to the
 * store): these are human lines about connections, origins and probes,
 * printed only with --verbose.
 */
#ifndef PROXY_DEBUG_H
#define PROXY_DEBUG_H

struct proxy_worker;

/* One line "hstsproxy: worker N: <fmt>" on stderr, written whole, when
 * the configuration asks for --verbose; nothing otherwise. */
void proxy__debug(struct proxy_worker *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* PROXY_DEBUG_H */

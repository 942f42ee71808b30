/*
 * nullfilter: the do-nothing milter of `make bench`, the harness's ceiling.
 * It negotiates no reply for every step it can, receives everything (so the
 * MTA side still sends headers and body), does nothing and accepts at end
 * of message. Usage: nullfilter SOCKET (unix:/path or inet:PORT@HOST).
 */
#include <stdio.h>
#include <stdlib.h>
#include <libmilter/mfapi.h>

static sfsistat
nr(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat cb_connect(SMFICTX *ctx, char *h, _SOCK_ADDR *a) { (void)h; (void)a; return nr(ctx); }
static sfsistat cb_helo(SMFICTX *ctx, char *h) { (void)h; return nr(ctx); }
static sfsistat cb_env(SMFICTX *ctx, char **argv) { (void)argv; return nr(ctx); }
static sfsistat cb_header(SMFICTX *ctx, char *n, char *v) { (void)n; (void)v; return nr(ctx); }
static sfsistat cb_body(SMFICTX *ctx, unsigned char *p, size_t n) { (void)p; (void)n; return nr(ctx); }
static sfsistat cb_eom(SMFICTX *ctx) { (void)ctx; return SMFIS_ACCEPT; }
static sfsistat cb_abort(SMFICTX *ctx) { (void)ctx; return SMFIS_CONTINUE; }

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	unsigned long nr_all = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
	    SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;

	(void)ctx; (void)f0; (void)f2; (void)f3; (void)pf2; (void)pf3;
	*pf0 = 0;
	*pf1 |= ((nr_all | SMFIP_NODATA | SMFIP_NOUNKNOWN) & f1);
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "nullfilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_env,
	.xxfi_envrcpt = cb_env,
	.xxfi_header = cb_header,
	.xxfi_eoh = nr,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_negotiate = cb_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nullfilter SOCKET\n");
		return 2;
	}
	if (smfi_register(desc) != MI_SUCCESS || smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullfilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

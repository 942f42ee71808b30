/*
 * keyserver.h: a DNS server on 127.0.0.1 (a thread of the fuzz target)
 * that answers every question with one TXT key record, so that the DKIM
 * and ARC verifiers get past the key lookup to the header hash (h=
 * selection, canonicalisation) and the signature check on whatever
 * message the fuzzer makes. The keys are made at the start of each run and
 * their private halves thrown away: no input can carry a good signature,
 * so a pass is a verifier bug. The selector's first letter picks the key:
 * 'e' an Ed25519 key, 's' an RSA key with t=s, 'n' no record (NXDOMAIN),
 * anything else an RSA key (1024 bits, the least the verifier accepts).
 * ks_resolver() starts it and returns a resolver that asks it. Included by
 * fuzz_dkim_verify.c (so fuzz_dkim_opendkim.c) and fuzz_arc.c only.
 */
#ifndef FUZZ_KEYSERVER_H
#define FUZZ_KEYSERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dns.h"

static char ks_rsa[600], ks_rsa_strict[620], ks_ed[120];
static int ks_fd = -1;

static void
ks_b64(const unsigned char *p, int n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, n);
}

static void
ks_make_keys(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der = NULL, raw[32];
	size_t rawlen = sizeof raw;
	char b64[400];
	int n;

	if (rsa == NULL || ed == NULL || (n = i2d_PUBKEY(rsa, &der)) <= 0 || n > 290 ||
	    EVP_PKEY_get_raw_public_key(ed, raw, &rawlen) != 1)
		abort();
	ks_b64(der, n, b64);
	snprintf(ks_rsa, sizeof ks_rsa, "v=DKIM1; k=rsa; p=%s", b64);
	snprintf(ks_rsa_strict, sizeof ks_rsa_strict, "v=DKIM1; k=rsa; t=s; p=%s", b64);
	ks_b64(raw, (int)rawlen, b64);
	snprintf(ks_ed, sizeof ks_ed, "v=DKIM1; k=ed25519; p=%s", b64);
	OPENSSL_free(der);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* The reply to query q (n octets) in r; its length, or 0 to send nothing. */
static size_t
ks_reply(const unsigned char *q, size_t n, unsigned char *r, size_t cap)
{
	size_t i = 12, o, len;
	const char *txt;

	if (n < 12 || (q[2] & 0x80) != 0 || q[4] != 0 || q[5] != 1)
		return 0;
	while (i < n && q[i] != 0 && q[i] < 64)
		i += (size_t)q[i] + 1;
	if (i + 5 > n || q[i] != 0)
		return 0;
	i += 5;			/* root label, QTYPE, QCLASS */
	if (q[13] == 'e' || q[13] == 'E')
		txt = ks_ed;
	else if (q[13] == 's' || q[13] == 'S')
		txt = ks_rsa_strict;
	else
		txt = ks_rsa;
	len = strlen(txt);
	if (i + 12 + len + len / 255 + 1 > cap)
		return 0;
	memcpy(r, q, i);
	r[2] = (unsigned char)(0x84 | (q[2] & 0x01));	/* QR, AA, RD as asked */
	r[3] = 0x80;					/* RA, NOERROR */
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	if (q[13] == 'n' || q[13] == 'N' || q[i - 4] != 0 || q[i - 3] != 16) {
		r[3] |= (q[13] == 'n' || q[13] == 'N') ? 3 : 0;	/* NXDOMAIN, or no data */
		return i;
	}
	r[7] = 1;
	o = i;
	memcpy(r + o, "\xc0\x0c\x00\x10\x00\x01\x00\x00\x01\x2c", 10);
	o += 12;
	for (size_t k = 0; k < len; k += 255) {
		size_t c = len - k < 255 ? len - k : 255;

		r[o++] = (unsigned char)c;
		memcpy(r + o, txt + k, c);
		o += c;
	}
	r[i + 10] = (unsigned char)((o - i - 12) >> 8);
	r[i + 11] = (unsigned char)(o - i - 12);
	return o;
}

static void *
ks_loop(void *arg)
{
	unsigned char q[1500], r[1500];

	(void)arg;
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t k = recvfrom(ks_fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		size_t n;

		if (k > 0 && (n = ks_reply(q, (size_t)k, r, sizeof r)) > 0)
			(void)sendto(ks_fd, r, n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

/*
 * The server and a resolver that asks it. Their threads (the server's and
 * the resolver's I/O thread, started here by a first question) are made
 * with every signal blocked: libFuzzer's -timeout alarm is ignored by any
 * thread but the fuzzing one, so an alarm taken by them would let a slow
 * input run on unseen.
 */
static struct dns_resolver *
ks_resolver(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	sigset_t all, old;
	pthread_t t;
	struct dns_server srv;
	struct dns_resolver *r;
	struct dns_ctx ctx;
	struct dns_result res;
	char spec[40], err[160];

	ks_make_keys();
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((ks_fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(ks_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(ks_fd, (struct sockaddr *)&a, &al) < 0 ||
	    pthread_create(&t, NULL, ks_loop, NULL) != 0)
		abort();
	pthread_detach(t);
	snprintf(spec, sizeof spec, "127.0.0.1:%u", ntohs(a.sin_port));
	if (dns_parse_server(spec, &srv, err, sizeof err) < 0 ||
	    (r = dns_resolver_new(&srv, 1, 0, err, sizeof err)) == NULL)
		abort();
	dns_ctx_init(&ctx, r, 2000);
	dns_query(&ctx, "r._domainkey.example.com", DNS_T_TXT, &res);
	if (res.status != DNS_OK)
		abort();
	dns_result_free(&res);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

#endif

/*
 * dnsdelay: the benchmark's DNS latency: a UDP forwarder on loopback that
 * holds every answer D ms before passing it on, in front of the bench's
 * unbound, as a remote authoritative server would make a filter wait.
 *
 *   dnsdelay -u UPSTREAM_PORT -d MS -l ADDR:PORT [-l ADDR:PORT]...
 *
 * Each -l is a UDP address to serve (the bench gives 127.0.0.1:PORT and
 * ADDR:53 for the filters that can only ask port 53). Queries go to
 * 127.0.0.1:UPSTREAM_PORT with an ID of our own; each reply gets the
 * client's ID back and is sent MS ms after it came (a FIFO: the delay is
 * the same for all). Prints "ready" on stdout when listening, runs until
 * SIGTERM. UDP only (the bench's answers fit in 1232 octets). One thread,
 * one poll() loop: tens of thousands of answers a second.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN	4
#define MAX_PKT		4096
#define QUEUE_MAX	65536

struct pending {		/* a query upstream, by our ID */
	int used;
	int lidx;
	uint16_t client_id;
	struct sockaddr_in client;
};

struct held {			/* a reply waiting out its delay */
	long long send_at;
	int lidx;
	struct sockaddr_in client;
	size_t len;
	unsigned char *data;
};

static struct pending pend[65536];
static struct held queue[QUEUE_MAX];
static size_t qhead, qlen;
static volatile sig_atomic_t stop;

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in a;
	int fd;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	int lfd[MAX_LISTEN], nl = 0, up, opt, k, n;
	long long delay_us = 0;
	unsigned upstream_port = 0;
	uint16_t next_id = 1;
	struct sockaddr_in ua;
	struct pollfd pfd[MAX_LISTEN + 1];
	unsigned char buf[MAX_PKT];

	while ((opt = getopt(argc, argv, "u:d:l:")) != -1) {
		switch (opt) {
		case 'u': upstream_port = (unsigned)atoi(optarg); break;
		case 'd': delay_us = atoll(optarg) * 1000; break;
		case 'l':
			if (nl == MAX_LISTEN || (lfd[nl++] = listen_on(optarg)) < 0) {
				fprintf(stderr, "dnsdelay: cannot listen on %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: dnsdelay -u UPSTREAM_PORT -d MS -l ADDR:PORT...\n");
			return 2;
		}
	}
	if (nl == 0 || upstream_port == 0) {
		fprintf(stderr, "usage: dnsdelay -u UPSTREAM_PORT -d MS -l ADDR:PORT...\n");
		return 2;
	}
	memset(&ua, 0, sizeof(ua));
	ua.sin_family = AF_INET;
	ua.sin_port = htons((uint16_t)upstream_port);
	ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	up = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (up < 0 || connect(up, (struct sockaddr *)&ua, sizeof(ua)) < 0) {
		perror("dnsdelay: upstream");
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		long long t = now_us(), wait_ms = 1000;

		/* send what has waited long enough */
		while (qlen > 0 && queue[qhead].send_at <= t) {
			struct held *h = &queue[qhead];

			sendto(lfd[h->lidx], h->data, h->len, 0, (struct sockaddr *)&h->client,
			    sizeof(h->client));
			free(h->data);
			qhead = (qhead + 1) % QUEUE_MAX;
			qlen--;
		}
		if (qlen > 0)
			wait_ms = (queue[qhead].send_at - t + 999) / 1000;
		for (k = 0; k < nl; k++) {
			pfd[k].fd = lfd[k];
			pfd[k].events = POLLIN;
		}
		pfd[nl].fd = up;
		pfd[nl].events = POLLIN;
		if (poll(pfd, (nfds_t)nl + 1, (int)wait_ms) <= 0)
			continue;
		for (k = 0; k < nl; k++) {
			struct sockaddr_in from;
			socklen_t flen;

			if (!pfd[k].revents)
				continue;
			for (;;) {		/* queries: pass on with our ID */
				flen = sizeof(from);
				n = (int)recvfrom(lfd[k], buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
				if (n < 12)
					break;
				if (++next_id == 0)
					next_id = 1;
				pend[next_id].used = 1;
				pend[next_id].lidx = k;
				pend[next_id].client = from;
				memcpy(&pend[next_id].client_id, buf, 2);
				buf[0] = (unsigned char)(next_id >> 8);
				buf[1] = (unsigned char)next_id;
				send(up, buf, (size_t)n, 0);
			}
		}
		if (pfd[nl].revents) {
			for (;;) {		/* replies: hold them */
				uint16_t id;
				struct held *h;

				n = (int)recv(up, buf, sizeof(buf), 0);
				if (n < 12)
					break;
				id = (uint16_t)((buf[0] << 8) | buf[1]);
				if (!pend[id].used || qlen == QUEUE_MAX)
					continue;
				pend[id].used = 0;
				memcpy(buf, &pend[id].client_id, 2);
				h = &queue[(qhead + qlen) % QUEUE_MAX];
				if ((h->data = malloc((size_t)n)) == NULL)
					continue;
				memcpy(h->data, buf, (size_t)n);
				h->len = (size_t)n;
				h->lidx = pend[id].lidx;
				h->client = pend[id].client;
				h->send_at = now_us() + delay_us;
				qlen++;
			}
		}
	}
	return 0;
}

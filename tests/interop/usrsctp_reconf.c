/*
 * A usrsctp peer for the RE-CONFIG (RFC 6525) and I-DATA (RFC 8260) interop tests.
 *
 * Written for sctpx's tests against libusrsctp's public API (usrsctp.h). Built at test
 * time by tests/interop/usrsctp.py (gcc ... -lusrsctp -lpthread); never installed.
 *
 * usage: usrsctp_reconf -E LOCAL_ENCAPS -U REMOTE_ENCAPS -L LOCAL_IP -p PORT
 *                       [-c PEER_IP] [-e ENABLE_BITS] [-i] [-x]
 *
 *   -c PEER_IP  connect to PEER_IP:PORT (else listen on LOCAL_IP:PORT, accept one)
 *   -e BITS     SCTP_ENABLE_STREAM_RESET assoc_value (default 7: every request type)
 *   -i          offer I-DATA: SCTP_FRAGMENT_INTERLEAVE 2, then SCTP_INTERLEAVING_SUPPORTED
 *   -x          echo every message back on its stream
 *
 * One association. Every line it prints is one event (stdout, flushed at once):
 *
 *   READY                                           (listening or about to connect)
 *   UP in=N out=N assoc=ID supports=PR,RECONFIG,IDATA,...
 *   MSG sid=S ssn=N ppid=P len=L fnv=HEX head=TEXT   (a whole message; TEXT: first 40 bytes)
 *   STREAM_RESET flags=0xF streams=1,2 (or "all")
 *   ASSOC_RESET flags=0xF local_tsn=T remote_tsn=T
 *   STREAM_CHANGE flags=0xF in=N out=N
 *   SHUTDOWN / DOWN state=N
 *   OK CMD / ERR CMD errno=N                         (the outcome of each command)
 *   STATUS in=N out=N
 *
 * Commands, one a line on stdin:
 *
 *   send SID COUNT SIZE TAG   COUNT messages on SID: "TAG-000001:" padded with '.' to SIZE
 *   reset out|in|both [SID ...]   SCTP_RESET_STREAMS (no SID: all streams)
 *   add out|in N              SCTP_ADD_STREAMS
 *   assoc                     SCTP_RESET_ASSOC
 *   status                    SCTP_STATUS stream counts
 *   close                     graceful shutdown, then exit once the association is down
 *
 * SCTP_INTERLEAVING_SUPPORTED is not in this usrsctp.h (0.9.5.0) although the library
 * has it: 0x00001206 is the value of FreeBSD's netinet/sctp.h, which usrsctp shares.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usrsctp.h>

#ifndef SCTP_INTERLEAVING_SUPPORTED
#define SCTP_INTERLEAVING_SUPPORTED 0x00001206
#endif

#define MAX_STREAMS 1024
#define MAX_MSG (4 << 20)

static struct socket *conn;
static sctp_assoc_t assoc_id;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int down;
static int echo_mode;

/* Per stream: the message being joined from partial deliveries (parts of messages on
 * different streams may alternate when fragment interleave is 2). */
static struct {
	char *buf;
	size_t len;
} part[MAX_STREAMS];

static void
say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static uint32_t
fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= (uint8_t)*p++;
		h *= 16777619u;
	}
	return h;
}

static void
fill_addr(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
		fprintf(stderr, "bad IPv4 address %s\n", ip);
		exit(2);
	}
}

static void
on_notification(const union sctp_notification *n, size_t len)
{
	char list[1024];
	size_t k, count, off = 0;

	(void)len;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE: {
		const struct sctp_assoc_change *ac = &n->sn_assoc_change;
		char sup[128] = "";
		size_t nsup = ac->sac_length - sizeof(*ac);

		if (ac->sac_state == SCTP_COMM_UP || ac->sac_state == SCTP_RESTART) {
			assoc_id = ac->sac_assoc_id;
			for (k = 0; k < nsup; k++) {
				const char *name = NULL;

				switch (ac->sac_info[k]) {
				case SCTP_ASSOC_SUPPORTS_PR: name = "PR"; break;
				case SCTP_ASSOC_SUPPORTS_AUTH: name = "AUTH"; break;
				case SCTP_ASSOC_SUPPORTS_ASCONF: name = "ASCONF"; break;
				case SCTP_ASSOC_SUPPORTS_MULTIBUF: name = "MULTIBUF"; break;
				case SCTP_ASSOC_SUPPORTS_RE_CONFIG: name = "RECONFIG"; break;
				case SCTP_ASSOC_SUPPORTS_INTERLEAVING: name = "IDATA"; break;
				}
				if (name != NULL && strlen(sup) + strlen(name) + 2 < sizeof(sup)) {
					if (sup[0])
						strcat(sup, ",");
					strcat(sup, name);
				}
			}
			say("UP in=%u out=%u assoc=%u supports=%s", ac->sac_inbound_streams,
			    ac->sac_outbound_streams, (unsigned)ac->sac_assoc_id, sup);
		} else {
			say("DOWN state=%u error=%u", ac->sac_state, ac->sac_error);
			down = 1;
		}
		break;
	}
	case SCTP_SHUTDOWN_EVENT:
		say("SHUTDOWN");
		break;
	case SCTP_STREAM_RESET_EVENT: {
		const struct sctp_stream_reset_event *e = &n->sn_strreset_event;

		count = (e->strreset_length - sizeof(*e)) / sizeof(uint16_t);
		list[0] = '\0';
		for (k = 0; k < count && off + 8 < sizeof(list); k++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%u", k ? "," : "",
			    e->strreset_stream_list[k]);
		say("STREAM_RESET flags=0x%x streams=%s", e->strreset_flags, count ? list : "all");
		break;
	}
	case SCTP_ASSOC_RESET_EVENT: {
		const struct sctp_assoc_reset_event *e = &n->sn_assocreset_event;

		say("ASSOC_RESET flags=0x%x local_tsn=%u remote_tsn=%u", e->assocreset_flags,
		    e->assocreset_local_tsn, e->assocreset_remote_tsn);
		break;
	}
	case SCTP_STREAM_CHANGE_EVENT: {
		const struct sctp_stream_change_event *e = &n->sn_strchange_event;

		say("STREAM_CHANGE flags=0x%x in=%u out=%u", e->strchange_flags, e->strchange_instrms,
		    e->strchange_outstrms);
		break;
	}
	default:
		say("NOTIFICATION type=0x%x", n->sn_header.sn_type);
	}
}

static void
send_message(uint16_t sid, const char *data, size_t len)
{
	struct sctp_sndinfo snd;

	memset(&snd, 0, sizeof(snd));
	snd.snd_sid = sid;
	snd.snd_assoc_id = assoc_id;
	if (usrsctp_sendv(conn, data, len, NULL, 0, &snd, sizeof(snd), SCTP_SENDV_SNDINFO, 0) < 0)
		say("SEND_ERROR sid=%u errno=%d", sid, errno);
}

static void *
reader(void *arg)
{
	static char buf[1 << 16];
	struct sctp_rcvinfo rcv;
	struct sockaddr_storage from;

	(void)arg;
	while (!down) {
		socklen_t fromlen = sizeof(from), infolen = sizeof(rcv);
		unsigned int infotype = 0;
		int flags = 0;
		ssize_t n;

		memset(&rcv, 0, sizeof(rcv));
		n = usrsctp_recvv(conn, buf, sizeof(buf), (struct sockaddr *)&from, &fromlen, &rcv,
		    &infolen, &infotype, &flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			say("DOWN recv errno=%d", errno);
			break;
		}
		if (n == 0) {
			say("DOWN eof");
			break;
		}
		if (flags & MSG_NOTIFICATION) {
			on_notification((const union sctp_notification *)buf, (size_t)n);
			continue;
		}
		if (infotype != SCTP_RECVV_RCVINFO || rcv.rcv_sid >= MAX_STREAMS) {
			say("MSG_WITHOUT_INFO len=%zd", n);
			continue;
		}
		uint16_t sid = rcv.rcv_sid;
		if (part[sid].len + (size_t)n > MAX_MSG) {
			say("MSG_TOO_LONG sid=%u", sid);
			part[sid].len = 0;
			continue;
		}
		if (part[sid].buf == NULL)
			part[sid].buf = malloc(MAX_MSG);
		memcpy(part[sid].buf + part[sid].len, buf, (size_t)n);
		part[sid].len += (size_t)n;
		if (!(flags & MSG_EOR))
			continue;
		size_t len = part[sid].len, head = len < 40 ? len : 40, k;
		char text[41];

		for (k = 0; k < head; k++) {
			char c = part[sid].buf[k];
			text[k] = (c > ' ' && c < 127) ? c : '_';
		}
		text[head] = '\0';
		say("MSG sid=%u ssn=%u ppid=%u len=%zu fnv=%08x head=%s", sid, rcv.rcv_ssn,
		    ntohl(rcv.rcv_ppid), len, fnv1a(part[sid].buf, len), text);
		if (echo_mode)
			send_message(sid, part[sid].buf, len);
		part[sid].len = 0;
	}
	down = 1;
	return NULL;
}

static void
result(const char *cmd, int rc)
{
	if (rc < 0)
		say("ERR %s errno=%d", cmd, errno);
	else
		say("OK %s", cmd);
}

static void
command(char *line)
{
	char *words[64];
	int n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(line, " \t\r\n", &save); w != NULL && n < 64;
	    w = strtok_r(NULL, " \t\r\n", &save))
		words[n++] = w;
	if (n == 0)
		return;
	if (strcmp(words[0], "send") == 0 && n == 5) {
		unsigned sid = (unsigned)atoi(words[1]);
		long count = atol(words[2]), size = atol(words[3]), i;
		char *msg = malloc((size_t)size + 64);

		for (i = 1; i <= count; i++) {
			int k = snprintf(msg, 64, "%s-%06ld:", words[4], i);
			memset(msg + k, '.', (size_t)(size > k ? size - k : 0));
			send_message((uint16_t)sid, msg, (size_t)(size > k ? size : k));
		}
		free(msg);
		say("OK send");
	} else if (strcmp(words[0], "reset") == 0 && n >= 2) {
		int count = n - 2, k;
		size_t sz = sizeof(struct sctp_reset_streams) + (size_t)count * sizeof(uint16_t);
		struct sctp_reset_streams *srs = calloc(1, sz);

		srs->srs_assoc_id = assoc_id;
		if (strcmp(words[1], "out") == 0)
			srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
		else if (strcmp(words[1], "in") == 0)
			srs->srs_flags = SCTP_STREAM_RESET_INCOMING;
		else
			srs->srs_flags = SCTP_STREAM_RESET_INCOMING | SCTP_STREAM_RESET_OUTGOING;
		srs->srs_number_streams = (uint16_t)count;
		for (k = 0; k < count; k++)
			srs->srs_stream_list[k] = (uint16_t)atoi(words[2 + k]);
		result("reset", usrsctp_setsockopt(conn, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs,
		    (socklen_t)sz));
		free(srs);
	} else if (strcmp(words[0], "add") == 0 && n == 3) {
		struct sctp_add_streams sas;

		memset(&sas, 0, sizeof(sas));
		sas.sas_assoc_id = assoc_id;
		if (strcmp(words[1], "in") == 0)
			sas.sas_instrms = (uint16_t)atoi(words[2]);
		else
			sas.sas_outstrms = (uint16_t)atoi(words[2]);
		result("add", usrsctp_setsockopt(conn, IPPROTO_SCTP, SCTP_ADD_STREAMS, &sas,
		    sizeof(sas)));
	} else if (strcmp(words[0], "assoc") == 0) {
		sctp_assoc_t id = assoc_id;

		result("assoc", usrsctp_setsockopt(conn, IPPROTO_SCTP, SCTP_RESET_ASSOC, &id,
		    sizeof(id)));
	} else if (strcmp(words[0], "status") == 0) {
		struct sctp_status st;
		socklen_t len = sizeof(st);

		memset(&st, 0, sizeof(st));
		st.sstat_assoc_id = assoc_id;
		if (usrsctp_getsockopt(conn, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0)
			result("status", -1);
		else
			say("STATUS in=%u out=%u", st.sstat_instrms, st.sstat_outstrms);
	} else if (strcmp(words[0], "close") == 0) {
		result("close", usrsctp_shutdown(conn, SHUT_WR));
	} else {
		say("ERR unknown command %s", words[0]);
	}
}

static void
setopt(struct socket *s, int level, int name, const void *val, socklen_t len, const char *what)
{
	if (usrsctp_setsockopt(s, level, name, val, len) < 0) {
		fprintf(stderr, "setsockopt %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	uint16_t lencaps = 0, rencaps = 0, port = 0;
	const char *local = NULL, *peer = NULL;
	uint32_t enable = SCTP_ENABLE_VALUE_MASK;
	int opt, idata = 0, on = 1, bufsize = 2 << 20;
	struct socket *sock;
	struct sockaddr_in addr;
	struct sctp_udpencaps encaps;
	struct sctp_assoc_value av;
	struct sctp_event ev;
	struct sctp_initmsg init;
	uint16_t types[] = {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT, SCTP_STREAM_RESET_EVENT,
	    SCTP_ASSOC_RESET_EVENT, SCTP_STREAM_CHANGE_EVENT};
	pthread_t thread;
	char line[4096];
	size_t k;

	while ((opt = getopt(argc, argv, "E:U:L:p:c:e:ix")) != -1) {
		switch (opt) {
		case 'E': lencaps = (uint16_t)atoi(optarg); break;
		case 'U': rencaps = (uint16_t)atoi(optarg); break;
		case 'L': local = optarg; break;
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'c': peer = optarg; break;
		case 'e': enable = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'i': idata = 1; break;
		case 'x': echo_mode = 1; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of usrsctp_reconf.c\n");
			return 2;
		}
	}
	if (!lencaps || !rencaps || local == NULL || !port)
		return 2;
	usrsctp_init(lencaps, NULL, NULL); /* no debug output */
	sock = usrsctp_socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (sock == NULL) {
		perror("usrsctp_socket");
		return 1;
	}
	memset(&encaps, 0, sizeof(encaps));
	encaps.sue_address.ss_family = AF_INET;
	encaps.sue_port = htons(rencaps);
	setopt(sock, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps, sizeof(encaps), "encaps");
	memset(&av, 0, sizeof(av));
	av.assoc_id = SCTP_FUTURE_ASSOC;
	av.assoc_value = 1;
	setopt(sock, IPPROTO_SCTP, SCTP_RECONFIG_SUPPORTED, &av, sizeof(av), "reconfig supported");
	av.assoc_value = enable;
	setopt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av), "enable reset");
	if (idata) {
		int level = 2;

		setopt(sock, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof(level),
		    "fragment interleave");
		av.assoc_value = 1;
		setopt(sock, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &av, sizeof(av),
		    "interleaving supported");
	}
	memset(&init, 0, sizeof(init));
	init.sinit_num_ostreams = 10;
	init.sinit_max_instreams = 64;
	setopt(sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "initmsg");
	setopt(sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "recvrcvinfo");
	setopt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "nodelay");
	setopt(sock, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize), "sndbuf");
	setopt(sock, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize), "rcvbuf");
	memset(&ev, 0, sizeof(ev));
	ev.se_assoc_id = SCTP_FUTURE_ASSOC;
	ev.se_on = 1;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		ev.se_type = types[k];
		setopt(sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "event");
	}
	fill_addr(&addr, local, peer == NULL ? port : 0);
	if (usrsctp_bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("usrsctp_bind");
		return 1;
	}
	if (peer == NULL) {
		if (usrsctp_listen(sock, 1) < 0) {
			perror("usrsctp_listen");
			return 1;
		}
		say("READY");
		conn = usrsctp_accept(sock, NULL, NULL);
		if (conn == NULL) {
			perror("usrsctp_accept");
			return 1;
		}
	} else {
		say("READY");
		fill_addr(&addr, peer, port);
		if (usrsctp_connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			say("DOWN connect errno=%d", errno);
			return 1;
		}
		conn = sock;
	}
	/* The COMM_UP notification is read by the reader: wait for it before commands. */
	pthread_create(&thread, NULL, reader, NULL);
	while (fgets(line, sizeof(line), stdin) != NULL && !down) {
		while (assoc_id == 0 && !down)
			usleep(1000);
		command(line);
	}
	if (!down)
		usrsctp_shutdown(conn, SHUT_WR);
	for (k = 0; k < 1000 && !down; k++)
		usleep(10000);
	say("EXIT");
	usrsctp_close(conn);
	if (conn != sock)
		usrsctp_close(sock);
	for (k = 0; k < 300 && usrsctp_finish() != 0; k++)
		usleep(10000);
	return 0;
}

/*
 * RTP load generator for bench/rtp_bench.ts: both ends of many RTP streams through a relay.
 *
 *   rtp_load FLOWS RATE SECONDS SIZE RUN
 *
 * FLOWS has one line per stream end: "local_ip local_port remote_ip remote_port [SEND ARRIVE]".
 * Each end sends SIZE-byte RTP packets from its local address to remote at RATE packets/s for
 * SECONDS; sends are spread evenly in time over all ends. Ends with the same local address share
 * one socket (the relay tells streams apart by its own port, so the phone side can be one socket,
 * as can the PBX side), which keeps the generator's own cost low: sendmmsg and recvmmsg in
 * batches.
 *
 * SRTP (RFC 3711, AES_CM_128_HMAC_SHA1_80; bench/rtp_load_srtp.h): SEND and ARRIVE are master keys
 * (key || salt, 30 bytes, in hex) or "-". SEND: this end protects what it sends with that key (a
 * phone that speaks SRTP; SIZE + 10 bytes on the wire). ARRIVE: what this end sends reaches the
 * other end encrypted with that key (the relay's key towards the phone), and the receiver
 * unprotects it before reading the payload. A packet that fails is counted in srtpFailures, one
 * that arrives with its payload in clear (the relay did not encrypt) in srtpClear, and neither is
 * received. The SSRC of line L in run R is R << 16 | L: the receiver finds the sender, and with it
 * the key, in the clear header, and every run is a fresh stream for the relay's replay check. The
 * time spent in SRTP during the timed run is reported (srtpUs), as is the generator's own CPU time
 * while it sends (cpuUs, getrusage, over elapsedUs): both show how much of its core the generator
 * needs.
 *
 * Each payload carries the send time (CLOCK_MONOTONIC ns), the sender's line number and RUN, so
 * the receive side measures the latency the relay adds (plus two loopback hops) and ignores
 * stragglers of an earlier run. A packet more than LATE_MS late counts as late (a phone's jitter
 * buffer would have dropped it). Prints one JSON line.
 *
 * Before the timed run every end sends 3 priming packets (not counted) so the relay latches.
 * Single thread; between sends it sleeps in ppoll until the next send is due or a packet arrives
 * (busy polling would starve ksoftirqd, which delivers loopback packets on the same core).
 * Bounded: SECONDS <= 120.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtp_load_srtp.h"

#define MAX_FLOWS 65536
#define MAX_SOCKETS 64
#define BATCH 64
#define HIST_US 200000 /* 1 us buckets up to 200 ms; above goes to the last bucket */
#define LATE_MS 100
#define MAGIC 0x52544c44u

struct flow {
  int sock; /* index into socks */
  struct sockaddr_in dst;
  uint16_t seq;
  uint32_t ssrc;
  struct srtp_stream *send;   /* protects what this end sends; NULL: plain RTP */
  struct srtp_stream *arrive; /* unprotects what this end sent, at the receiver; NULL: plain */
};

struct sock {
  int fd;
  struct sockaddr_in local;
  /* pending sends */
  int n;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  _Alignas(16) uint8_t bufs[BATCH][1500];
};

static struct flow flows[MAX_FLOWS];
static struct sock socks[MAX_SOCKETS];
static int nsocks = 0;
static uint32_t hist[HIST_US + 1];
static uint64_t *received_by_flow;
static uint32_t run_id;
static int size;
static uint64_t got = 0, late = 0, foreign = 0, stale = 0, send_errors = 0;
static uint64_t srtp_sent = 0, srtp_received = 0, srtp_failures = 0, srtp_clear = 0;
static uint64_t srtp_ns = 0;
static int timed = 0; /* the timed run: count time spent in SRTP */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill(uint8_t *p, uint32_t id, uint16_t seq, uint32_t ssrc, uint64_t t,
                 uint32_t counted) {
  memset(p, 0, (size_t)size);
  p[0] = 0x80; /* RTP v2 */
  p[1] = 8;    /* PCMA */
  p[2] = (uint8_t)(seq >> 8);
  p[3] = (uint8_t)seq;
  uint32_t ssrc_be = htonl(ssrc);
  memcpy(p + 8, &ssrc_be, 4);
  uint32_t magic = MAGIC;
  memcpy(p + 12, &magic, 4);
  memcpy(p + 16, &id, 4);
  memcpy(p + 20, &t, 8);
  memcpy(p + 28, &counted, 4);
  memcpy(p + 32, &run_id, 4);
}

static void flush(struct sock *s) {
  int off = 0;
  while (off < s->n) {
    int r = sendmmsg(s->fd, s->msgs + off, (unsigned)(s->n - off), MSG_DONTWAIT);
    if (r <= 0) {
      send_errors += (uint64_t)(s->n - off);
      break;
    }
    off += r;
  }
  s->n = 0;
}

static void queue(int i, uint64_t t, uint32_t counted) {
  struct flow *f = &flows[i];
  struct sock *s = &socks[f->sock];
  if (s->n == BATCH) flush(s);
  int k = s->n;
  fill(s->bufs[k], (uint32_t)i, f->seq++, f->ssrc, t, counted);
  int len = size;
  if (f->send != NULL) {
    uint64_t t1 = timed ? now_ns() : 0;
    len = srtp_stream_protect(f->send, s->bufs[k], len);
    if (timed) srtp_ns += now_ns() - t1;
    if (len < 0) {
      send_errors++;
      return;
    }
    srtp_sent++;
  }
  s->n++;
  s->iov[k].iov_base = s->bufs[k];
  s->iov[k].iov_len = (size_t)len;
  memset(&s->msgs[k].msg_hdr, 0, sizeof s->msgs[k].msg_hdr);
  s->msgs[k].msg_hdr.msg_name = &f->dst;
  s->msgs[k].msg_hdr.msg_namelen = sizeof f->dst;
  s->msgs[k].msg_hdr.msg_iov = &s->iov[k];
  s->msgs[k].msg_hdr.msg_iovlen = 1;
}

static void receive_all(int nflows) {
  static struct mmsghdr msgs[BATCH];
  static struct iovec iov[BATCH];
  static _Alignas(16) uint8_t bufs[BATCH][2048];
  for (int s = 0; s < nsocks; s++) {
    for (int rounds = 0; rounds < 16; rounds++) {
      for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int r = recvmmsg(socks[s].fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      if (r <= 0) break;
      uint64_t t = now_ns();
      for (int i = 0; i < r; i++) {
        uint8_t *p = bufs[i];
        uint32_t magic, id, counted, run, ssrc;
        uint64_t sent;
        int len = (int)msgs[i].msg_len;
        if (len < 12) { foreign++; continue; }
        memcpy(&ssrc, p + 8, 4);
        ssrc = ntohl(ssrc);
        uint32_t from = ssrc & 0xffff;
        if (from < (uint32_t)nflows && flows[from].arrive != NULL) {
          if (ssrc >> 16 != (run_id & 0xffff)) { stale++; continue; }
          memcpy(&magic, p + 12, 4);
          if (len >= 16 && magic == MAGIC) { srtp_clear++; continue; }
          uint64_t t1 = timed ? now_ns() : 0;
          len = srtp_stream_unprotect(flows[from].arrive, p, len);
          if (timed) srtp_ns += now_ns() - t1;
          if (len < 0) { srtp_failures++; continue; }
          srtp_received++;
        }
        if (len < 36) { foreign++; continue; }
        memcpy(&magic, p + 12, 4);
        memcpy(&id, p + 16, 4);
        memcpy(&sent, p + 20, 8);
        memcpy(&counted, p + 28, 4);
        memcpy(&run, p + 32, 4);
        if (magic == MAGIC && run != run_id) { stale++; continue; }
        if (magic != MAGIC || id >= (uint32_t)nflows) { foreign++; continue; }
        if (!counted) continue;
        got++;
        received_by_flow[id]++;
        uint64_t us = (t - sent) / 1000;
        if (us > LATE_MS * 1000) late++;
        hist[us > HIST_US ? HIST_US : us]++;
      }
      if (r < BATCH) break;
    }
  }
}

static double percentile(double q) {
  uint64_t total = 0, acc = 0;
  for (int i = 0; i <= HIST_US; i++) total += hist[i];
  if (total == 0) return -1;
  uint64_t want = (uint64_t)(q * (double)total);
  if (want >= total) want = total - 1;
  for (int i = 0; i <= HIST_US; i++) {
    acc += hist[i];
    if (acc > want) return i + 0.5;
  }
  return HIST_US;
}

/* Sleeps until `due` (CLOCK_MONOTONIC ns) or until a socket is readable. */
static void wait_until(uint64_t due) {
  static struct pollfd fds[MAX_SOCKETS];
  uint64_t t = now_ns();
  if (due <= t) return;
  for (int s = 0; s < nsocks; s++) {
    fds[s].fd = socks[s].fd;
    fds[s].events = POLLIN;
  }
  struct timespec ts = {.tv_sec = (time_t)((due - t) / 1000000000ull),
                        .tv_nsec = (long)((due - t) % 1000000000ull)};
  ppoll(fds, (nfds_t)nsocks, &ts, NULL);
}

/* 60 hex digits to 30 bytes; 0 when `hex` is not that */
static int parse_key(const char *hex, uint8_t key[SRTP_MASTER_LEN]) {
  if (strlen(hex) != 2 * SRTP_MASTER_LEN) return 0;
  for (int i = 0; i < SRTP_MASTER_LEN; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
    key[i] = (uint8_t)v;
  }
  return 1;
}

/* An SRTP stream for a master key in hex, or NULL for "-"; exits on a bad key. */
static struct srtp_stream *srtp_for(const char *hex, int line) {
  if (strcmp(hex, "-") == 0) return NULL;
  uint8_t key[SRTP_MASTER_LEN];
  if (!parse_key(hex, key)) {
    fprintf(stderr, "line %d: key is not 60 hex digits\n", line + 1);
    exit(1);
  }
  struct srtp_stream *s = srtp_stream_new(key);
  if (s == NULL) {
    fprintf(stderr, "line %d: cannot set up SRTP\n", line + 1);
    exit(1);
  }
  return s;
}

static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int socket_for(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  for (int s = 0; s < nsocks; s++) {
    if (socks[s].local.sin_port == a.sin_port && socks[s].local.sin_addr.s_addr == a.sin_addr.s_addr)
      return s;
  }
  if (nsocks == MAX_SOCKETS) {
    fprintf(stderr, "more than %d local addresses\n", MAX_SOCKETS);
    exit(1);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int big = 64 << 20;
  /* FORCE needs CAP_NET_ADMIN; fall back to what rmem_max allows */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "bind %s:%d: %s\n", ip, port, strerror(errno));
    exit(1);
  }
  socks[nsocks].fd = fd;
  socks[nsocks].local = a;
  return nsocks++;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: rtp_load FLOWS RATE SECONDS SIZE RUN\n");
    return 2;
  }
  double rate = atof(argv[2]);
  double seconds = atof(argv[3]);
  size = atoi(argv[4]);
  run_id = (uint32_t)strtoul(argv[5], NULL, 10);
  if (size < 36 || size > 1400 || rate <= 0 || seconds <= 0 || seconds > 120) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror("flows"); return 1; }
  if (!srtp_self_check()) {
    fprintf(stderr, "SRTP self-check against libsrtp failed\n");
    return 1;
  }
  int nflows = 0;
  char line[512], lip[64], rip[64], send_key[72], arrive_key[72];
  int lport, rport;
  while (nflows < MAX_FLOWS && fgets(line, sizeof line, f) != NULL) {
    int n = sscanf(line, "%63s %d %63s %d %71s %71s", lip, &lport, rip, &rport, send_key,
                   arrive_key);
    if (n <= 0) continue;
    if (n != 4 && n != 6) {
      fprintf(stderr, "line %d: want 4 or 6 fields\n", nflows + 1);
      return 1;
    }
    struct flow *fl = &flows[nflows];
    fl->sock = socket_for(lip, lport);
    fl->dst.sin_family = AF_INET;
    fl->dst.sin_port = htons((uint16_t)rport);
    inet_pton(AF_INET, rip, &fl->dst.sin_addr);
    fl->ssrc = (run_id & 0xffff) << 16 | (uint32_t)nflows;
    fl->send = n == 6 ? srtp_for(send_key, nflows) : NULL;
    fl->arrive = n == 6 ? srtp_for(arrive_key, nflows) : NULL;
    nflows++;
  }
  fclose(f);
  if (nflows == 0) { fprintf(stderr, "no flows\n"); return 1; }
  received_by_flow = calloc((size_t)nflows, sizeof *received_by_flow);
  prctl(PR_SET_TIMERSLACK, 1000UL); /* wake within 1 us of the due time, not 50 us */

  /* priming: latch the relay on every source, then discard what comes back */
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < nflows; i++) queue(i, now_ns(), 0);
    for (int s = 0; s < nsocks; s++) flush(&socks[s]);
    uint64_t until = now_ns() + 100000000ull;
    while (now_ns() < until) {
      receive_all(nflows);
      wait_until(now_ns() + 1000000);
    }
  }
  send_errors = 0;
  srtp_sent = srtp_received = srtp_failures = srtp_clear = 0;
  timed = 1;
  uint64_t cpu0 = cpu_us();

  double interval = 1e9 / (rate * nflows); /* ns between two sends, all flows together */
  uint64_t total = (uint64_t)(rate * seconds * nflows);
  uint64_t sent = 0, max_lag = 0, lag_over_1ms = 0;
  uint64_t t0 = now_ns() + 1000000;
  uint64_t started = now_ns();
  while (sent < total) {
    uint64_t t = now_ns();
    while (sent < total && t0 + (uint64_t)(sent * interval) <= t) {
      uint64_t lag = t - (t0 + (uint64_t)(sent * interval));
      if (lag > max_lag) max_lag = lag;
      if (lag > 1000000) lag_over_1ms++;
      queue((int)(sent % (uint64_t)nflows), t, 1);
      sent++;
    }
    for (int s = 0; s < nsocks; s++) if (socks[s].n) flush(&socks[s]);
    receive_all(nflows);
    if (sent < total) wait_until(t0 + (uint64_t)(sent * interval));
  }
  uint64_t cpu = cpu_us() - cpu0;
  uint64_t elapsed_us = (now_ns() - started) / 1000;
  uint64_t until = now_ns() + 500000000ull;
  while (now_ns() < until) {
    receive_all(nflows);
    wait_until(now_ns() + 1000000);
  }

  int silent = 0;
  for (int i = 0; i < nflows; i++) if (received_by_flow[i] == 0) silent++;
  printf("{\"flows\":%d,\"sent\":%llu,\"received\":%llu,\"late\":%llu,\"sendErrors\":%llu,"
         "\"foreign\":%llu,\"stale\":%llu,\"silentFlows\":%d,\"p50us\":%.1f,\"p99us\":%.1f,"
         "\"p999us\":%.1f,\"maxLagUs\":%.1f,\"lagOver1ms\":%llu,\"cpuUs\":%llu,"
         "\"elapsedUs\":%llu,\"srtpUs\":%llu,\"srtpSent\":%llu,\"srtpReceived\":%llu,"
         "\"srtpFailures\":%llu,\"srtpClear\":%llu}\n",
         nflows, (unsigned long long)sent, (unsigned long long)got, (unsigned long long)late,
         (unsigned long long)send_errors, (unsigned long long)foreign,
         (unsigned long long)stale, silent, percentile(0.5), percentile(0.99), percentile(0.999),
         max_lag / 1000.0, (unsigned long long)lag_over_1ms, (unsigned long long)cpu,
         (unsigned long long)elapsed_us, (unsigned long long)(srtp_ns / 1000),
         (unsigned long long)srtp_sent, (unsigned long long)srtp_received,
         (unsigned long long)srtp_failures, (unsigned long long)srtp_clear);
  return 0;
}

/*
 * SRTP for the load generator (bench/rtp_load.c): AES_CM_128_HMAC_SHA1_80 (RFC 3711) for one
 * stream per key, on OpenSSL's libcrypto: AES-128-CTR through EVP (AES-NI), HMAC-SHA1 from the
 * two SHA-1 states after the pads, computed once per key.
 *
 * Why not libsrtp for every packet: Debian's libsrtp2 is built on NSS, and its cost per packet
 * grows with the number of sessions the process holds (NSS looks every key object up per packet):
 * 5 µs per protect with one session, 40 µs with 1000, 100 µs with 2000 on the bench machine. A
 * generator holding one session per call would fall over long before any relay does. libsrtp
 * still checks this code at start (srtp_self_check): the same packets protected by both must be
 * byte for byte the same, across a sequence number wrap.
 *
 * Sender: the index is ROC << 16 | SEQ, the ROC counted up when SEQ wraps. Receiver: the index is
 * estimated from the highest one seen (RFC 3711 Appendix A); no replay check (loss is counted by
 * the generator, and a replay would show up as more received than sent).
 */
#ifndef RTP_LOAD_SRTP_H
#define RTP_LOAD_SRTP_H

#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init and friends: the HMAC states are copied */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRTP_MASTER_LEN 30 /* 16-byte key, 14-byte salt */
#define SRTP_TAG_LEN 10

struct srtp_stream {
  EVP_CIPHER_CTX *aes; /* AES-128-CTR with the session encryption key */
  uint8_t salt[14];    /* session salt */
  SHA_CTX inner;       /* SHA-1 after (auth key ^ ipad) */
  SHA_CTX outer;       /* SHA-1 after (auth key ^ opad) */
  uint32_t roc;
  uint16_t top; /* highest sequence number sent or received */
  int started;
};

/* AES-CM keystream (RFC 3711 §4.1.1) of `n` bytes under `key` from the counter block `iv`. */
static int aes_cm(EVP_CIPHER_CTX *c, const uint8_t *key, const uint8_t iv[16], const uint8_t *in,
                  uint8_t *out, int n) {
  int len = 0;
  return EVP_EncryptInit_ex(c, key == NULL ? NULL : EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
         EVP_EncryptUpdate(c, out, &len, in, n) == 1 && len == n;
}

/* RFC 3711 §4.3.1 with key_derivation_rate 0: the session key with `label`, `n` bytes long. */
static int derive(const uint8_t master[SRTP_MASTER_LEN], uint8_t label, uint8_t *out, int n) {
  uint8_t iv[16] = {0};
  uint8_t zeros[32] = {0};
  memcpy(iv, master + 16, 14);
  iv[7] ^= label; /* key_id = label || r (r = 0) XOR the salt, 112 bits, then * 2^16 */
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int ok = c != NULL && aes_cm(c, master, iv, zeros, out, n);
  EVP_CIPHER_CTX_free(c);
  return ok;
}

/* A stream for a master key (key || salt), or NULL. */
static struct srtp_stream *srtp_stream_new(const uint8_t master[SRTP_MASTER_LEN]) {
  uint8_t enc[16], auth[20], pad[64];
  struct srtp_stream *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->aes = EVP_CIPHER_CTX_new();
  uint8_t iv[16] = {0}, in[1] = {0}, out[1];
  if (s->aes == NULL || !derive(master, 0x00, enc, 16) || !derive(master, 0x01, auth, 20) ||
      !derive(master, 0x02, s->salt, 14) || !aes_cm(s->aes, enc, iv, in, out, 1)) {
    EVP_CIPHER_CTX_free(s->aes);
    free(s);
    return NULL;
  }
  for (int i = 0; i < 64; i++) pad[i] = (uint8_t)((i < 20 ? auth[i] : 0) ^ 0x36);
  SHA1_Init(&s->inner);
  SHA1_Update(&s->inner, pad, 64);
  for (int i = 0; i < 64; i++) pad[i] = (uint8_t)((i < 20 ? auth[i] : 0) ^ 0x5c);
  SHA1_Init(&s->outer);
  SHA1_Update(&s->outer, pad, 64);
  return s;
}

/* Header length of an RTP packet (CSRCs and extension included), or -1. */
static int rtp_header_len(const uint8_t *p, int len) {
  if (len < 12 || (p[0] >> 6) != 2) return -1;
  int n = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (len < n + 4) return -1;
    n += 4 + 4 * ((p[n + 2] << 8) | p[n + 3]);
  }
  return n <= len ? n : -1;
}

/* Encrypts the payload of `p` (header `h` bytes, `len` in all) at packet index `index`. */
static int srtp_crypt(struct srtp_stream *s, uint8_t *p, int h, int len, uint64_t index) {
  uint8_t iv[16] = {0};
  memcpy(iv, s->salt, 14);
  for (int i = 0; i < 4; i++) iv[4 + i] ^= p[8 + i]; /* SSRC * 2^64 */
  for (int i = 0; i < 6; i++) iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i)); /* i * 2^16 */
  return aes_cm(s->aes, NULL, iv, p + h, p + h, len - h);
}

/* The 80-bit tag over the first `len` bytes and the ROC (§4.2), into `tag`. */
static void srtp_tag(struct srtp_stream *s, const uint8_t *p, int len, uint32_t roc,
                     uint8_t tag[SRTP_TAG_LEN]) {
  uint8_t digest[20];
  uint32_t roc_be = htonl(roc);
  SHA_CTX c = s->inner;
  SHA1_Update(&c, p, (size_t)len);
  SHA1_Update(&c, &roc_be, 4);
  SHA1_Final(digest, &c);
  c = s->outer;
  SHA1_Update(&c, digest, 20);
  SHA1_Final(digest, &c);
  memcpy(tag, digest, SRTP_TAG_LEN);
}

/* Protects an RTP packet in place (room for the tag past `len`); the new length, or -1. */
static int srtp_stream_protect(struct srtp_stream *s, uint8_t *p, int len) {
  int h = rtp_header_len(p, len);
  if (h < 0) return -1;
  uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
  if (s->started && seq < s->top && s->top - seq > 0x8000) s->roc++;
  if (!s->started || seq > s->top || s->top - seq > 0x8000) s->top = seq;
  s->started = 1;
  if (!srtp_crypt(s, p, h, len, (uint64_t)s->roc << 16 | seq)) return -1;
  srtp_tag(s, p, len, s->roc, p + len);
  return len + SRTP_TAG_LEN;
}

/* Checks and decrypts an SRTP packet in place; the RTP length, or -1 (authentication failed). */
static int srtp_stream_unprotect(struct srtp_stream *s, uint8_t *p, int len) {
  int h = rtp_header_len(p, len - SRTP_TAG_LEN);
  if (h < 0) return -1;
  len -= SRTP_TAG_LEN;
  uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
  uint32_t v = s->roc; /* RFC 3711 Appendix A: the ROC that puts seq nearest the highest */
  if (s->started) {
    if (s->top < 0x8000) {
      if (seq - s->top > 0x8000 && s->roc > 0) v = s->roc - 1;
    } else if (s->top - 0x8000 > seq) {
      v = s->roc + 1;
    }
  }
  uint8_t tag[SRTP_TAG_LEN];
  srtp_tag(s, p, len, v, tag);
  if (memcmp(tag, p + len, SRTP_TAG_LEN) != 0) return -1;
  if (!srtp_crypt(s, p, h, len, (uint64_t)v << 16 | seq)) return -1;
  if (!s->started || v > s->roc || (v == s->roc && seq > s->top)) {
    s->roc = v;
    s->top = seq;
  }
  s->started = 1;
  return len;
}

/*
 * Protects the same packets with libsrtp and with srtp_stream_protect, sequence numbers 65534,
 * 65535, 0, 1 (a ROC step), and unprotects libsrtp's with srtp_stream_unprotect: 1 when all
 * agree.
 */
static int srtp_self_check(void) {
  uint8_t master[SRTP_MASTER_LEN];
  for (int i = 0; i < SRTP_MASTER_LEN; i++) master[i] = (uint8_t)(i * 7 + 3);
  if (srtp_init() != srtp_err_status_ok) return 0;
  srtp_policy_t policy;
  memset(&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  policy.ssrc.type = ssrc_any_outbound;
  policy.key = master;
  policy.window_size = 128;
  srtp_t ref;
  if (srtp_create(&ref, &policy) != srtp_err_status_ok) return 0;
  struct srtp_stream *tx = srtp_stream_new(master), *rx = srtp_stream_new(master);
  int ok = tx != NULL && rx != NULL;
  for (int k = 0; ok && k < 4; k++) {
    _Alignas(16) uint8_t a[256], b[256];
    uint16_t seq = (uint16_t)(65534 + k);
    memset(a, 0, sizeof a);
    a[0] = 0x80;
    a[1] = 8;
    a[2] = (uint8_t)(seq >> 8);
    a[3] = (uint8_t)seq;
    a[8] = 0x12;
    a[11] = 0x34;
    for (int i = 12; i < 172; i++) a[i] = (uint8_t)i;
    memcpy(b, a, sizeof a);
    int la = 172;
    ok = srtp_protect(ref, a, &la) == srtp_err_status_ok;
    int lb = srtp_stream_protect(tx, b, 172);
    ok = ok && la == lb && memcmp(a, b, (size_t)la) == 0;
    ok = ok && srtp_stream_unprotect(rx, a, la) == 172 && a[12] == 12 && a[171] == 171;
  }
  srtp_dealloc(ref);
  return ok;
}

#endif

package main

import "crypto/sha256"

// hmacSHA256 is HMAC-SHA256 (RFC 2104) for the hash and fpe strategies,
// with the key's inner and outer pad blocks compressed once. It exists
// for speed in Go's Wasm code (see sha256Block); TestSHA256 checks it
// against crypto/hmac. It is not safe for concurrent use.
type hmacSHA256 struct {
	ipad, opad [8]uint32 // the states after the key's pad blocks
	inner      sha256State
}

// sha256State is a SHA-256 computation after a whole number of blocks.
type sha256State struct {
	h   [8]uint32
	buf [64]byte
	nb  int    // bytes in buf
	len uint64 // bytes written, the key's pad block included
}

var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

func newHMACSHA256(key []byte) *hmacSHA256 {
	if len(key) > 64 {
		k := sha256.Sum256(key)
		key = k[:]
	}
	m := &hmacSHA256{ipad: sha256IV, opad: sha256IV}
	var pad [64]byte
	for i := range pad {
		pad[i] = 0x36
		if i < len(key) {
			pad[i] ^= key[i]
		}
	}
	sha256Block(&m.ipad, pad[:])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	sha256Block(&m.opad, pad[:])
	m.Reset()
	return m
}

// Reset starts a new message.
func (m *hmacSHA256) Reset() {
	m.inner.h = m.ipad
	m.inner.nb = 0
	m.inner.len = 64
}

// Write adds p to the message.
func (m *hmacSHA256) Write(p []byte) { m.inner.write(p) }

// Sum appends the MAC of the message to b; the message is consumed (call
// Reset before the next one).
func (m *hmacSHA256) Sum(b []byte) []byte {
	var s [32]byte
	m.inner.finish(&s)
	o := &m.inner // reused for the outer hash
	o.h = m.opad
	o.nb = 0
	o.len = 64
	o.write(s[:])
	o.finish(&s)
	m.Reset()
	return append(b, s[:]...)
}

func (d *sha256State) write(p []byte) {
	d.len += uint64(len(p))
	if d.nb > 0 {
		n := copy(d.buf[d.nb:], p)
		d.nb += n
		p = p[n:]
		if d.nb < 64 {
			return
		}
		sha256Block(&d.h, d.buf[:])
		d.nb = 0
	}
	if n := len(p) &^ 63; n > 0 {
		sha256Block(&d.h, p[:n])
		p = p[n:]
	}
	d.nb = copy(d.buf[:], p)
}

// finish pads the message and writes the digest to s.
func (d *sha256State) finish(s *[32]byte) {
	bitLen := d.len << 3
	d.buf[d.nb] = 0x80
	clear(d.buf[d.nb+1:])
	if d.nb >= 56 {
		sha256Block(&d.h, d.buf[:])
		clear(d.buf[:56])
	}
	for i := range 8 {
		d.buf[56+i] = byte(bitLen >> (56 - 8*i))
	}
	sha256Block(&d.h, d.buf[:])
	for i, x := range d.h {
		s[4*i], s[4*i+1], s[4*i+2], s[4*i+3] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
	}
}

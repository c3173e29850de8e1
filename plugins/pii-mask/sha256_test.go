package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// TestSHA256 compares hmacSHA256 (and so sha256Block) with crypto/hmac on
// keys and messages of every length around the block boundaries, written
// in one piece and in several.
func TestSHA256(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, kl := range []int{0, 1, 10, 32, 63, 64, 65, 100, 200} {
		key := data[:kl]
		m := newHMACSHA256(key)
		ref := hmac.New(sha256.New, key)
		var sum []byte
		for ml := 0; ml <= 200; ml++ {
			msg := data[100 : 100+ml]
			ref.Reset()
			ref.Write(msg)
			want := ref.Sum(nil)
			m.Reset()
			m.Write(msg)
			if sum = m.Sum(sum[:0]); !bytes.Equal(sum, want) {
				t.Fatalf("key %d bytes, message %d bytes: %x, want %x", kl, ml, sum, want)
			}
			// In pieces, as the fpe keystream writes a counter and a value.
			m.Reset()
			for rest := msg; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(70))
				m.Write(rest[:n])
				rest = rest[n:]
			}
			if sum = m.Sum(sum[:0]); !bytes.Equal(sum, want) {
				t.Fatalf("key %d bytes, message %d bytes in pieces: %x, want %x", kl, ml, sum, want)
			}
		}
	}
	s := sha256State{h: sha256IV}
	s.write(data[:130])
	var got [32]byte
	s.finish(&got)
	if want := sha256.Sum256(data[:130]); got != want {
		t.Fatalf("sha256: %x, want %x", got, want)
	}
}

// Package demo is the built-in upstream behind `make run`: a small HTTP
// API serving fake customer records as JSON, NDJSON, CSV and text, so a
// newcomer with only Go installed can watch sluice mask, block and hold
// requests with curl. Every record is generated from a fixed seed: the
// same on every machine. None of it is real data.
//
// Routes:
//
//	GET    /customers            JSON array
//	GET    /customers.ndjson     one JSON object per line
//	GET    /customers.csv        CSV with a header
//	GET    /customers/{id}       one JSON object
//	DELETE /customers/{id}       {"deleted": id}
//	GET    /logs                 text lines, as a CI job's log
//	GET    /admin/...            an "admin" area the demo config blocks
//
// Handler is safe for concurrent use.
package demo

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Customer is one fake record.
type Customer struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Card  string `json:"card"`
	Plan  string `json:"plan"`
}

var (
	first = []string{"Ann", "Bob", "Chloé", "Dawid", "Eve", "Farid", "Grace", "Hiro"}
	last  = []string{"Smith", "Jones", "Durand", "Kowalski", "Adams", "Haddad", "Hopper", "Tanaka"}
	plans = []string{"free", "pro", "enterprise"}
	// Test card numbers that pass the Luhn check.
	cards = []string{"4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009", "6011 0000 0000 0004"}
)

// Customers returns n fake customers, the same every time.
func Customers(n int) []Customer {
	out := make([]Customer, n)
	for i := range out {
		f, l := first[i%len(first)], last[(i/len(first))%len(last)]
		out[i] = Customer{
			ID: 1000 + i, Name: f + " " + l,
			Email: fmt.Sprintf("%s.%s%d@example.com", lower(f), lower(l), i),
			Phone: fmt.Sprintf("+1 415 555 %04d", 100+i*37%9000),
			Card:  cards[i%len(cards)],
			Plan:  plans[i%len(plans)],
		}
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Handler serves the demo API with n customers.
func Handler(n int) http.Handler {
	cs := Customers(n)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(cs)
	})
	mux.HandleFunc("GET /customers.ndjson", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, c := range cs {
			enc.Encode(c)
		}
	})
	mux.HandleFunc("GET /customers.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "name", "email", "phone", "card", "plan"})
		for _, c := range cs {
			cw.Write([]string{strconv.Itoa(c.ID), c.Name, c.Email, c.Phone, c.Card, c.Plan})
		}
		cw.Flush()
	})
	find := func(w http.ResponseWriter, r *http.Request) (Customer, bool) {
		id, err := strconv.Atoi(r.PathValue("id"))
		for _, c := range cs {
			if err == nil && c.ID == id {
				return c, true
			}
		}
		http.Error(w, `{"error":"no such customer"}`, http.StatusNotFound)
		return Customer{}, false
	}
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c, ok := find(w, r); ok {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(c)
		}
	})
	mux.HandleFunc("DELETE /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c, ok := find(w, r); ok {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"deleted\": %d}\n", c.ID)
		}
	})
	mux.HandleFunc("GET /logs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for i, c := range cs[:min(len(cs), 5)] {
			fmt.Fprintf(w, "2026-11-29T12:00:%02dZ INFO deploy: notified %s <%s> (card %s)\n", i, c.Name, c.Email, c.Card)
		}
	})
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"admin": "you should not see this through sluice"}`)
	})
	return mux
}

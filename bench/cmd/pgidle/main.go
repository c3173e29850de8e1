// Command pgidle opens N idle PostgreSQL connections and holds them until
// it is interrupted, for bench/pg.sh's memory-per-idle-connection figure:
// the script reads the server's RSS before and after.
//
//	pgidle -n 100 -dsn 'host=127.0.0.1 port=6432 user=bench dbname=plain sslmode=disable'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func main() {
	n := flag.Int("n", 100, "connections to open")
	dsn := flag.String("dsn", "", "libpq connection string (the password from PGPASSWORD)")
	flag.Parse()
	if *dsn == "" {
		fmt.Fprintln(os.Stderr, "pgidle: -dsn is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var conns []*pgconn.PgConn
	for i := range *n {
		c, err := pgconn.Connect(ctx, *dsn)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgidle: connection %d: %v\n", i, err)
			os.Exit(1)
		}
		if err := c.Exec(ctx, "SELECT 1").Close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgidle: connection %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	cancel()
	fmt.Println("ready", len(conns))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	for _, c := range conns {
		c.Close(context.Background())
	}
}

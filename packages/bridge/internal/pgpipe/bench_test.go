package pgpipe

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/santokit/santokit/internal/testpg"
)

// BenchmarkReads compares 32 concurrent callers reading one row by primary
// key through the batcher with the same callers on the pool directly, 4
// connections each (the batcher pipelines on 2 of them, as in the Bridge).
func BenchmarkReads(b *testing.B) {
	url := testpg.New(b)
	batcher, pool := open(b, url, 4, Config{Runners: 2})
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE items (id int8 PRIMARY KEY, name text, qty int4);
		INSERT INTO items SELECT g, 'item ' || g, g % 100 FROM generate_series(1, 10000) g`); err != nil {
		b.Fatal(err)
	}
	const sql = "SELECT id, name, qty FROM items WHERE id = $1"
	read := func(rr *pgconn.ResultReader) error {
		for rr.NextRow() {
			_ = rr.Values()
		}
		return nil
	}
	b.Run("pipelined", func(b *testing.B) {
		parallel(b, func(id int64) error { return batcher.Query(ctx, sql, []any{id}, read) })
		st := batcher.Stats()
		b.ReportMetric(float64(st.Statements)/float64(max(st.Pipelines, 1)), "stmts/pipeline")
	})
	b.Run("pool", func(b *testing.B) {
		parallel(b, func(id int64) error {
			rows, err := pool.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode}, id)
			if err != nil {
				return err
			}
			for rows.Next() {
				_ = rows.RawValues()
			}
			rows.Close()
			return rows.Err()
		})
	})
}

// parallel runs read from 16 goroutines per CPU over the table's ids.
func parallel(b *testing.B, read func(id int64) error) {
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		id := int64(1)
		for pb.Next() {
			id = id%10000 + 1
			if err := read(id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

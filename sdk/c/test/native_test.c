/* native_test.c: unit tests of sluice.h's parsers and writers over plain
 * buffers, compiled for the build machine (run.sh runs it with cc). The
 * wasm-only parts, the arena and the log import, are covered by the
 * vectors instead.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I sdk/c sdk/c/test/native_test.c -o /tmp/t && /tmp/t
 */
#include <stdio.h>
#include <string.h>

#define SLUICE_IMPLEMENTATION
#include "sluice.h"

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static void put(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* build: 2 columns "a","b"; 2 records: ["hello", NULL], ["xy", "z"];
 * one finding on field 0 [1,3). Returns the length. */
static uint32_t build(uint8_t *buf) {
    memset(buf, 0, 512);
    const uint32_t nc = 2, nr = 2, nf = 4, nx = 1;
    uint32_t tables = 32 + 16 * nc + 8 * nr + 16 * nf + 16 * nx;
    uint32_t doff = (tables + 7) & ~7u;
    const char data[] = "abhelloxyz";
    put(buf, SLUICE_BATCH_MAGIC);
    put(buf + 4, nc), put(buf + 8, nr), put(buf + 12, nf), put(buf + 16, nx);
    put(buf + 20, doff), put(buf + 24, sizeof data - 1);
    uint8_t *c = buf + 32;
    put(c, 0), put(c + 4, 1), put(c + 8, SLUICE_TYPE_TEXT), put(c + 12, 25);
    put(c + 16, 1), put(c + 20, 1), put(c + 24, SLUICE_TYPE_INT), put(c + 28, 23);
    uint8_t *r = c + 32;
    put(r, 0), put(r + 4, 2), put(r + 8, 2), put(r + 12, 2);
    uint8_t *f = r + 16;
    put(f, 0), put(f + 4, 2), put(f + 8, 5), put(f + 12, SLUICE_KIND_STRING);
    put(f + 16, 1), put(f + 20, 0), put(f + 24, 0), put(f + 28, SLUICE_KIND_NULL | SLUICE_FIELD_NULL);
    put(f + 32, 0), put(f + 36, 7), put(f + 40, 2), put(f + 44, SLUICE_KIND_STRING);
    put(f + 48, 1), put(f + 52, 9), put(f + 56, 1), put(f + 60, SLUICE_KIND_NUMBER);
    uint8_t *x = f + 64;
    put(x, 0), put(x + 4, 1), put(x + 8, 3), put(x + 12, SLUICE_DETECT_EMAIL);
    memcpy(buf + doff, data, sizeof data - 1);
    return doff + sizeof data - 1;
}

static void test_batch(void) {
    static uint8_t buf[512];
    sluice_batch b;
    uint32_t n = build(buf);
    CHECK(sluice_batch_parse(&b, buf, n) == SLUICE_OK);
    CHECK(b.n_columns == 2 && b.n_records == 2 && b.n_fields == 4 && b.n_findings == 1);
    sluice_column c = sluice_batch_column(&b, 1);
    CHECK(sluice_bytes_eq(c.name, "b") && c.type == SLUICE_TYPE_INT && c.source_type == 23);
    CHECK(sluice_batch_column_index(&b, "b") == 1 && sluice_batch_column_index(&b, "c") == -1);
    sluice_record r = sluice_batch_record(&b, 1);
    CHECK(r.first_field == 2 && r.n_fields == 2);
    sluice_field f = sluice_record_field(&b, &r, 1);
    CHECK(f.index == 3 && f.kind == SLUICE_KIND_NUMBER && !f.is_null && f.len == 1 && f.value[0] == 'z');
    f = sluice_batch_field(&b, 1);
    CHECK(f.is_null && f.len == 0 && f.kind == SLUICE_KIND_NULL);
    CHECK(sluice_record_field_by_name(&b, &r, "b", &f) && f.index == 3);
    CHECK(!sluice_record_field_by_name(&b, &r, "c", &f));
    CHECK(sluice_field_record(&b, 0) == 0 && sluice_field_record(&b, 1) == 0 &&
          sluice_field_record(&b, 2) == 1 && sluice_field_record(&b, 3) == 1);
    sluice_finding x = sluice_batch_finding(&b, 0);
    CHECK(x.field == 0 && x.off == 1 && x.len == 3 && x.detector == SLUICE_DETECT_EMAIL);

    /* malformed batches are BAD_INPUT */
    struct {
        uint32_t at, value;
    } bad[] = {
        {0, 0x12345678},        /* magic */
        {4, 1u << 27},          /* count too large */
        {20, 36},               /* data_off inside the tables */
        {20, 204},              /* data_off not a multiple of 8 */
        {24, 400},              /* data_len past the end */
        {32 + 4, 11},           /* column name past the data */
        {64 + 8, 3},            /* record 1 not contiguous */
        {64 + 12, 1},           /* records do not cover the fields */
        {80 + 0, 2},            /* field column out of range */
        {80 + 8, 9},            /* value out of range */
        {80 + 12, 9},           /* unknown kind */
        {80 + 24, 1},           /* NULL field with a value */
        {144 + 0, 4},           /* finding field out of range */
        {144 + 8, 5},           /* finding span out of range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        build(buf);
        put(buf + bad[i].at, bad[i].value);
        if (sluice_batch_parse(&b, buf, n) != SLUICE_BAD_INPUT) {
            fprintf(stderr, "bad batch %zu (offset %u) accepted\n", i, bad[i].at);
            failures++;
        }
    }
    build(buf);
    CHECK(sluice_batch_parse(&b, buf, 31) == SLUICE_BAD_INPUT);
    CHECK(sluice_batch_parse(&b, buf, 150) == SLUICE_BAD_INPUT); /* truncated tables */
}

static void test_edits(void) {
    static uint8_t buf[512], out[256];
    sluice_batch b;
    sluice_edits e;
    uint32_t n = build(buf);
    CHECK(sluice_batch_parse(&b, buf, n) == SLUICE_OK);
    sluice_field f0 = sluice_batch_field(&b, 0), f3 = sluice_batch_field(&b, 3);

    sluice_edits_init(&e, &b, out, sizeof out);
    CHECK(sluice_edit_mask(&e, &f0, 1, 3, '*'));
    CHECK(memcmp(f0.value, "hello", 5) == 0); /* deferred */
    CHECK(sluice_edit_replace_range(&e, &f3, 0, 1, "abc", 3));
    CHECK(sluice_edit_replace_str(&e, &f3, "R"));
    CHECK(sluice_edit_nullify(&e, &f3));
    CHECK(sluice_edit_drop(&e, 1));
    CHECK(sluice_edit_in_place(&e, &f0, 0, 1));
    CHECK(!sluice_edit_mask(&e, &f0, 0, 0, '*')); /* empty: nothing */
    CHECK(e.n == 6 && !e.full && !e.error);
    uint32_t len = sluice_edits_finish(&e);
    CHECK(memcmp(f0.value, "h***o", 5) == 0);
    CHECK(len == 8 + 24 + (24 + 8) + (24 + 8) + 24 + 24 + 24);
    CHECK(sluice__u32(out) == 6);
    CHECK(sluice__u32(out + 8) == SLUICE_EDIT_IN_PLACE);
    CHECK(sluice__u32(out + 8 + 20) == 0); /* reserved cleared */
    CHECK(sluice__u32(out + 32 + 16) == 3); /* replace range data_len */
    CHECK(memcmp(out + 32 + 24, "abc\0\0\0\0\0", 8) == 0);
    CHECK(sluice__u32(out + 32 + 32) == SLUICE_EDIT_REPLACE);
    CHECK(sluice__u32(out + 96) == SLUICE_EDIT_NULLIFY);
    CHECK(sluice__u32(out + 120) == SLUICE_EDIT_DROP);
    CHECK(sluice__u32(out + 124) == 1);

    /* full: a pending mask is never applied */
    n = build(buf);
    CHECK(sluice_batch_parse(&b, buf, n) == SLUICE_OK);
    f0 = sluice_batch_field(&b, 0);
    sluice_edits_init(&e, &b, out, 8 + 24 + 10);
    CHECK(sluice_edit_mask(&e, &f0, 0, 1, '*'));
    CHECK(!sluice_edits_room(&e, 0));
    CHECK(!sluice_edit_mask(&e, &f0, 1, 1, '*'));
    CHECK(e.full && e.n == 1);
    CHECK(memcmp(f0.value, "hello", 5) == 0);

    /* invalid edits set error, write nothing more */
    sluice_edits_init(&e, &b, out, sizeof out);
    CHECK(!sluice_edit_mask(&e, &f0, 3, 3, '*'));
    CHECK(e.error != 0 && e.n == 0);
    CHECK(!sluice_edit_nullify(&e, &f0));
    sluice_edits_init(&e, &b, out, sizeof out);
    CHECK(!sluice_edit_drop(&e, 2) && e.error);
    sluice_edits_init(&e, &b, out, sizeof out);
    sluice_field bogus = f0;
    bogus.index = 4;
    CHECK(!sluice_edit_replace_str(&e, &bogus, "x") && e.error);
}

static void test_command(void) {
    static uint8_t buf[256];
    sluice_command c;
    const char strs[] = "DROP TABLE tannprodtagDROP TABLEwherefalse";
    memset(buf, 0, sizeof buf);
    put(buf, SLUICE_COMMAND_MAGIC), put(buf + 4, SLUICE_CMD_SQL);
    uint32_t s = 80; /* strings after 2 facts */
    put(buf + 8, s), put(buf + 12, 12);        /* text */
    put(buf + 16, s + 12), put(buf + 20, 3);   /* identity */
    put(buf + 24, s + 15), put(buf + 28, 4);   /* target */
    put(buf + 32, 2), put(buf + 36, 40);       /* facts */
    put(buf + 40, 0), put(buf + 44, s + 19), put(buf + 48, 3), put(buf + 52, s + 22), put(buf + 56, 10);
    put(buf + 60, 1), put(buf + 64, s + 32), put(buf + 68, 5), put(buf + 72, s + 37), put(buf + 76, 5);
    memcpy(buf + s, strs, sizeof strs - 1);
    uint32_t n = s + sizeof strs - 1;
    CHECK(sluice_command_parse(&c, buf, n) == SLUICE_OK);
    CHECK(c.kind == SLUICE_CMD_SQL && sluice_bytes_eq(c.text, "DROP TABLE t"));
    CHECK(sluice_bytes_eq(c.identity, "ann") && sluice_bytes_eq(c.target, "prod"));
    sluice_bytes v;
    CHECK(sluice_command_lookup(&c, -1, "tag", &v) && sluice_bytes_eq(v, "DROP TABLE"));
    CHECK(sluice_command_lookup(&c, 0, "tag", &v) && !sluice_command_lookup(&c, 1, "tag", &v));
    CHECK(sluice_command_has(&c, "where", "false") && !sluice_command_has(&c, "where", "true"));
    sluice_fact f = sluice_command_fact(&c, 1);
    CHECK(f.stmt == 1 && sluice_bytes_eq(f.key, "where"));
    put(buf + 4, 4);
    CHECK(sluice_command_parse(&c, buf, n) == SLUICE_BAD_INPUT);
    put(buf + 4, 1), put(buf + 12, 200);
    CHECK(sluice_command_parse(&c, buf, n) == SLUICE_BAD_INPUT);
    put(buf + 12, 12), put(buf + 76, 50);
    CHECK(sluice_command_parse(&c, buf, n) == SLUICE_BAD_INPUT);
    put(buf + 76, 5), put(buf + 32, 9);
    CHECK(sluice_command_parse(&c, buf, n) == SLUICE_BAD_INPUT);
    CHECK(sluice_command_parse(&c, buf, 39) == SLUICE_BAD_INPUT);

    uint8_t out[16];
    CHECK(sluice_verdict_put(out, sizeof out, sluice_block("12345678")) == 16);
    CHECK(sluice_verdict_put(out, sizeof out, sluice_block("123456789")) == -1);
    CHECK(sluice_verdict_put(out, sizeof out, sluice_allow()) == 8);
}

static void test_bytes(void) {
    sluice_bytes b = {(const uint8_t *)"abcabc", 6};
    CHECK(sluice_bytes_find(b, 0, "bc") == 1 && sluice_bytes_find(b, 2, "bc") == 4);
    CHECK(sluice_bytes_find(b, 5, "bc") == -1 && sluice_bytes_find(b, 6, "") == 6);
    CHECK(sluice_bytes_find(b, 7, "") == -1);
    CHECK(sluice_bytes_has_prefix(b, "") && !sluice_bytes_has_prefix(b, "abcabcd"));
    CHECK(sluice_cstr(0) == 0 && sluice_fail("x") == SLUICE_FAILED);
}

int main(void) {
    test_batch();
    test_edits();
    test_command();
    test_bytes();
    if (failures) {
        fprintf(stderr, "native_test: %d failures\n", failures);
        return 1;
    }
    printf("native_test: ok\n");
    return 0;
}

/* sdk_test.c: a plugin that exercises every part of sluice.h, driven by
 * the vectors in vectors/ (run.sh builds it to a temporary directory and
 * runs them). It is a test, not an example: its behaviour is whatever the
 * vectors need to reach each function.
 *
 * records, by column name:
 *   mask      mask the whole value with the config's mask byte ('*')
 *   head      mask the first 2 bytes with '#' (a range edit)
 *   replace   replace the value with "R"
 *   range     replace bytes [0, min(2, len)) with "<<>>" (length changes)
 *   null      nullify the field
 *   drop      drop the record when the value is "yes"
 *   email     mask every host finding in the value with 'x'
 *   kind*     replace the value with "KIND/TYPE[/null]" (field kind and
 *             column type names; checks that the record's field_by_name
 *             lookup of the column's name finds the same field)
 *   heap      malloc a copy of the value and 256 KiB more, check the value
 *             did not change, then mask it like "mask"
 *   fail      "boom" fails the hook with a message
 *   bad       "range" writes an out-of-range edit (a plugin failure)
 * plan: columns "ignored" and "redacted" are IGNORE and REDACT.
 * command: see decide().
 * init: {"refuse": ...} fails; "mask":"X" sets the mask byte; logs a line.
 */
#include <stdlib.h>
#include <string.h>

#define SLUICE_IMPLEMENTATION
#include "sluice.h"

/* This plugin links wasi-libc's malloc, so its arena is a malloc block
 * (the example's comes from memory.grow): the "heap" column checks the
 * two never overlap. */
static uint8_t mask_byte = '*';
static char *config_copy;

static int init(const uint8_t *config, uint32_t len) {
    sluice_bytes c = {config, len};
    sluice_log_str(SLUICE_LOG_INFO, "c-sdk-test: init");
    config_copy = malloc(len + 1); /* kept for the life of the instance */
    if (!config_copy) return sluice_fail("init: out of memory");
    memcpy(config_copy, config, len);
    config_copy[len] = 0;
    if (sluice_bytes_find(c, 0, "\"refuse\"") >= 0) return sluice_fail("init: config refused");
    int64_t at = sluice_bytes_find(c, 0, "\"mask\":\"");
    if (at >= 0) {
        uint32_t i = (uint32_t)at + 8;
        if (i >= len || config[i] == '"') return sluice_fail("init: empty mask");
        mask_byte = config[i]; /* copied: config aliases the arena */
    }
    return SLUICE_OK;
}
SLUICE_EXPORT_INIT(init)

static const char *kind_name(uint32_t k) {
    static const char *names[] = {"?", "string", "number", "bool", "null", "bytes"};
    return k <= SLUICE_KIND_BYTES ? names[k] : "?";
}

static const char *type_name(uint32_t t) {
    static const char *names[] = {"unknown", "text", "int",   "float",
                                  "bool",    "json", "bytes", "timestamp"};
    return t <= SLUICE_TYPE_TIMESTAMP ? names[t] : "?";
}

static uint32_t append(char *buf, uint32_t n, const char *s) {
    while (*s) buf[n++] = *s++;
    return n;
}

static char kind_buf[64], name_buf[64];

static int records(sluice_batch *b, sluice_edits *e) {
    for (uint32_t r = 0; r < b->n_records; r++) {
        sluice_record rec = sluice_batch_record(b, r);
        for (uint32_t j = 0; j < rec.n_fields; j++) {
            sluice_field f = sluice_record_field(b, &rec, j);
            sluice_column col = sluice_batch_column(b, f.column);
            sluice_bytes v = sluice_field_bytes(&f);
            if (sluice_field_record(b, f.index) != r) return sluice_fail("field_record disagrees");
            if (sluice_bytes_eq(col.name, "mask")) {
                sluice_edit_mask(e, &f, 0, f.len, mask_byte);
            } else if (sluice_bytes_eq(col.name, "head")) {
                sluice_edit_mask(e, &f, 0, f.len < 2 ? f.len : 2, '#');
            } else if (sluice_bytes_eq(col.name, "replace")) {
                sluice_edit_replace_str(e, &f, "R");
            } else if (sluice_bytes_eq(col.name, "range")) {
                sluice_edit_replace_range(e, &f, 0, f.len < 2 ? f.len : 2, "<<>>", 4);
            } else if (sluice_bytes_eq(col.name, "null")) {
                sluice_edit_nullify(e, &f);
            } else if (sluice_bytes_eq(col.name, "drop")) {
                if (sluice_bytes_eq(v, "yes")) sluice_edit_drop(e, rec.index);
            } else if (sluice_bytes_has_prefix(col.name, "kind") && col.name.len < sizeof name_buf) {
                sluice_field same;
                __builtin_memcpy(name_buf, col.name.ptr, col.name.len);
                name_buf[col.name.len] = 0;
                if (!sluice_record_field_by_name(b, &rec, name_buf, &same) || same.index != f.index)
                    return sluice_fail("field_by_name disagrees");
                uint32_t n = append(kind_buf, 0, kind_name(f.kind));
                n = append(kind_buf, n, "/");
                n = append(kind_buf, n, type_name(col.type));
                if (f.is_null) n = append(kind_buf, n, "/null");
                sluice_edit_replace(e, &f, kind_buf, n);
            } else if (sluice_bytes_eq(col.name, "heap")) {
                /* copy the value to the heap, grow the heap, compare */
                uint8_t *copy = malloc(f.len + 1);
                void *more = malloc(256 * 1024);
                if (!copy || !more) return sluice_fail("records: out of memory");
                memcpy(copy, f.value, f.len);
                memset(more, 0x55, 256 * 1024);
                int same = memcmp(copy, f.value, f.len) == 0;
                free(copy);
                free(more);
                if (!same) return sluice_fail("records: the heap overlaps the arena");
                sluice_edit_mask(e, &f, 0, f.len, mask_byte);
            } else if (sluice_bytes_eq(col.name, "fail")) {
                if (sluice_bytes_eq(v, "boom")) return sluice_fail("records: boom");
            } else if (sluice_bytes_eq(col.name, "bad")) {
                if (sluice_bytes_eq(v, "range")) sluice_edit_mask(e, &f, 1, f.len, 'x');
            }
        }
    }
    /* findings: host detector matches (manifest "detectors": ["email"]) */
    for (uint32_t i = 0; i < b->n_findings; i++) {
        sluice_finding x = sluice_batch_finding(b, i);
        sluice_field f = sluice_batch_field(b, x.field);
        if (x.detector == SLUICE_DETECT_EMAIL &&
            sluice_bytes_eq(sluice_batch_column(b, f.column).name, "email"))
            sluice_edit_mask(e, &f, x.off, x.len, 'x');
    }
    if (sluice_batch_column_index(b, "nosuch") != -1) return sluice_fail("column_index");
    return SLUICE_OK;
}
SLUICE_EXPORT_RECORDS(records)

static int plan(const sluice_batch *schema, const sluice_column *col) {
    if (schema->n_records != 0) return -1; /* a schema has no records */
    if (sluice_bytes_eq(col->name, "ignored")) return SLUICE_IGNORE;
    if (sluice_bytes_eq(col->name, "redacted")) return SLUICE_REDACT;
    return SLUICE_INSPECT;
}
SLUICE_EXPORT_PLAN(plan)

static char reason[128];

static sluice_verdict decide(const sluice_command *c) {
    sluice_bytes v;
    /* identity and target */
    if (sluice_bytes_eq(c->identity, "mallory")) return sluice_block("identity mallory is blocked");
    if (sluice_bytes_eq(c->target, "prod") && sluice_bytes_has_prefix(c->identity, "intern"))
        return sluice_require_approval("interns need approval on prod");
    switch (c->kind) {
    case SLUICE_CMD_SQL:
        if (sluice_command_has(c, "where", "false")) return sluice_block("DELETE or UPDATE without WHERE");
        /* statement-scoped lookup: a DROP in the second statement */
        if (sluice_command_lookup(c, 1, "tag", &v) && sluice_bytes_eq(v, "DROP TABLE"))
            return sluice_block("DROP TABLE in statement 1");
        break;
    case SLUICE_CMD_SHELL:
        if (sluice_command_lookup(c, -1, "argv0", &v) && sluice_bytes_eq(v, "rm")) {
            uint32_t n = 0;
            const char *p = "rm needs approval: ";
            while (*p) reason[n++] = *p++;
            for (uint32_t i = 0; i < c->text.len && n < sizeof reason; i++)
                reason[n++] = (char)c->text.ptr[i];
            return sluice_verdict_n(SLUICE_REQUIRE_APPROVAL, reason, n);
        }
        break;
    case SLUICE_CMD_HTTP:
        /* the reason points into the arena: the command's own text */
        if (sluice_command_lookup(c, 0, "method", &v) && sluice_bytes_eq(v, "DELETE"))
            return sluice_verdict_n(SLUICE_BLOCK, (const char *)c->text.ptr, c->text.len);
        break;
    }
    /* unknown fact keys are ignored; an "echo" fact becomes the reason */
    for (uint32_t i = 0; i < c->n_facts; i++) {
        sluice_fact f = sluice_command_fact(c, i);
        if (sluice_bytes_eq(f.key, "echo"))
            return sluice_verdict_n(SLUICE_BLOCK, (const char *)f.value.ptr, f.value.len);
    }
    return sluice_allow();
}
SLUICE_EXPORT_COMMAND(decide)

static int selftest(void) {
    sluice_bytes b = {(const uint8_t *)"abcabc", 6};
    if (sluice_bytes_find(b, 1, "abc") != 3 || sluice_bytes_find(b, 4, "abc") != -1)
        return sluice_fail("selftest: sluice_bytes_find");
    if (!sluice_bytes_has_prefix(b, "ab") || sluice_bytes_eq(b, "abc"))
        return sluice_fail("selftest: sluice_bytes_eq");
    return SLUICE_OK;
}
SLUICE_EXPORT_SELFTEST(selftest)

/* sluice.h: a single-header C SDK for sluice plugins (ABI v1).
 *
 * The normative ABI is abi/ABI.md; this header is a thin, allocation-free
 * layer over it: typed views over the batch and the command the host writes
 * into the arena, an edit writer and a verdict encoder for the output, the
 * arena itself, the log import, and one macro per hook that generates the
 * module's export.
 *
 * Use it from exactly one C file of the plugin:
 *
 *     #define SLUICE_IMPLEMENTATION       // defines sluice_abi_v1, sluice_arena
 *     #include "sluice.h"
 *
 *     static int records(sluice_batch *b, sluice_edits *e) {
 *         for (uint32_t i = 0; i < b->n_fields; i++) {
 *             sluice_field f = sluice_batch_field(b, i);
 *             if (!f.is_null && f.len > 0) sluice_edit_mask(e, &f, 0, f.len, '*');
 *         }
 *         return SLUICE_OK;
 *     }
 *     SLUICE_EXPORT_RECORDS(records)
 *
 * and build it as a WASI reactor (sdk/c/build.sh, README.md):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 \
 *           -Wl,--strip-all -o plugin.wasm plugin.c
 *     sluice plugin manifest set plugin.wasm manifest.json
 *
 * Hooks are plain C functions handed to the SLUICE_EXPORT_* macros:
 *
 *     SLUICE_EXPORT_INIT(fn)      int fn(const uint8_t *config, uint32_t len)
 *     SLUICE_EXPORT_COMMAND(fn)   sluice_verdict fn(const sluice_command *c)
 *     SLUICE_EXPORT_RECORDS(fn)   int fn(sluice_batch *b, sluice_edits *e)
 *     SLUICE_EXPORT_PLAN(fn)      int fn(const sluice_batch *schema,
 *                                        const sluice_column *col)   // action
 *     SLUICE_EXPORT_SELFTEST(fn)  int fn(void)
 *
 * Status-returning hooks return SLUICE_OK or SLUICE_FAILED (or
 * `return sluice_fail("message")`, which also sets the failure message).
 * The generated export checks the regions, parses and bounds-checks the
 * input (a malformed input is BAD_INPUT, never an out-of-range read),
 * calls the hook, and encodes the output; when it does not fit it returns
 * NO_SPACE and the host grows the arena and calls again with the same
 * input, so hooks must be repeatable (they are pure functions of their
 * input and of what init kept).
 *
 * Everything a hook is given (names, values, command text, config) points
 * into the arena: valid only during the call; copy what you keep.
 *
 * Nothing here needs libc beyond memcpy/memmove/memset, which clang may
 * emit for the __builtin_ forms: with -mbulk-memory (build.sh) they become
 * the memory.copy/memory.fill instructions, and otherwise wasi-libc, linked
 * by default for --target=wasm32-wasi, provides them without any WASI
 * import. The only import the header can add is sluice_v1.log, and only if
 * the plugin calls sluice_log (or uses SLUICE_EXPORT_SELFTEST, which logs
 * failures).
 *
 * The header compiles for other targets too (the wasm-only parts, the
 * arena and the log import, are left out), so the views and the edit
 * writer can be unit-tested natively over a buffer.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Constants (ABI.md)                                                      */
/* ---------------------------------------------------------------------- */

/* Hook status codes (ABI.md 2.4). */
enum {
    SLUICE_OK = 0,        /* the payload is the hook's result */
    SLUICE_NO_SPACE = 1,  /* output did not fit: the host grows the arena and repeats */
    SLUICE_BAD_INPUT = 2, /* the input is malformed */
    SLUICE_FAILED = 3     /* the hook failed; the payload may hold a message */
};

/* Command verdicts (ABI.md 3.2). */
enum {
    SLUICE_ALLOW = 0,
    SLUICE_BLOCK = 1,
    SLUICE_REQUIRE_APPROVAL = 2
};

/* Plan actions, one per column (ABI.md 3.4). */
enum {
    SLUICE_INSPECT = 0, /* send the column's fields to the records hook */
    SLUICE_IGNORE = 1,  /* pass the column unchanged, never sent */
    SLUICE_REDACT = 2   /* the host replaces every value with the redaction text */
};

/* Command kinds (ABI.md 3.6). */
enum {
    SLUICE_CMD_SQL = 1,
    SLUICE_CMD_SHELL = 2,
    SLUICE_CMD_HTTP = 3
};

/* Column types (ABI.md 4.1). */
enum {
    SLUICE_TYPE_UNKNOWN = 0,
    SLUICE_TYPE_TEXT = 1,
    SLUICE_TYPE_INT = 2,
    SLUICE_TYPE_FLOAT = 3,
    SLUICE_TYPE_BOOL = 4,
    SLUICE_TYPE_JSON = 5,
    SLUICE_TYPE_BYTES = 6,
    SLUICE_TYPE_TIMESTAMP = 7
};

/* Field kinds, flags bits 0-7 (ABI.md 4.1). */
enum {
    SLUICE_KIND_STRING = 1,
    SLUICE_KIND_NUMBER = 2,
    SLUICE_KIND_BOOL = 3,
    SLUICE_KIND_NULL = 4,
    SLUICE_KIND_BYTES = 5
};

/* Field flags: bit 8 marks a NULL field (its value is empty). */
#define SLUICE_FIELD_KIND_MASK 0xffu
#define SLUICE_FIELD_NULL 0x100u

/* Host-native detectors named in a finding (manifest "detectors"). */
enum {
    SLUICE_DETECT_EMAIL = 1,
    SLUICE_DETECT_CREDIT_CARD = 2,
    SLUICE_DETECT_IBAN = 3,
    SLUICE_DETECT_JWT = 4,
    SLUICE_DETECT_AWS_ACCESS_KEY = 5
};

/* Edit ops (ABI.md 4.3). */
enum {
    SLUICE_EDIT_IN_PLACE = 1,
    SLUICE_EDIT_REPLACE = 2,
    SLUICE_EDIT_REPLACE_RANGE = 3,
    SLUICE_EDIT_NULLIFY = 4,
    SLUICE_EDIT_DROP = 5
};

/* Log levels for sluice_log. */
enum {
    SLUICE_LOG_DEBUG = 0,
    SLUICE_LOG_INFO = 1,
    SLUICE_LOG_WARN = 2,
    SLUICE_LOG_ERROR = 3
};

#define SLUICE_BATCH_MAGIC 0x31424c53u   /* "SLB1" */
#define SLUICE_COMMAND_MAGIC 0x31434c53u /* "SLC1" */
#define SLUICE_MAX_ENTRIES (1u << 26)    /* ABI.md 4.2: every count */

/* ---------------------------------------------------------------------- */
/* Export / import / manifest macros                                       */
/* ---------------------------------------------------------------------- */

/* SLUICE_EXPORT(name) exports the function it prefixes under `name`:
 *     SLUICE_EXPORT("my_fn") int32_t my_fn(void) { ... }
 * The SLUICE_EXPORT_* hook macros below use it; plugins rarely need it. */
#if defined(__wasm__)
#define SLUICE_EXPORT(name) __attribute__((export_name(name), used))
#else
#define SLUICE_EXPORT(name) __attribute__((used))
#endif

/* SLUICE_MANIFEST_FILE("path/manifest.json"); embeds a manifest file (ABI.md
 * 2.1) as the module's custom section sluice.manifest, so that a plain
 * clang build yields a loadable module without the sluice CLI. The path is
 * a string literal, absolute or relative to the compiler's working
 * directory (pass it with -DMANIFEST='"..."' if it varies); only the file's
 * bytes end up in the module. Use it once, at file scope, in a wasm build.
 * Optional: `sluice plugin manifest set` (which also validates the JSON,
 * while this does not) replaces the section either way, and is what
 * sdk/c/build.sh uses.
 *
 * (An __attribute__((section(".custom_section.sluice.manifest"))) variable
 * does not work with clang 14: it becomes a data segment in linear memory,
 * not a custom section. The assembler's section directive does.) */
#define SLUICE_MANIFEST_FILE(path)                                            \
    __asm__(".section .custom_section.sluice.manifest,\"\",@\n"              \
            ".incbin \"" path "\"\n"                                          \
            ".text\n")

/* ---------------------------------------------------------------------- */
/* Byte views                                                              */
/* ---------------------------------------------------------------------- */

/* sluice_bytes is a (pointer, length) view; not NUL-terminated. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} sluice_bytes;

/* sluice__u32 loads a little-endian u32 from any alignment. */
static inline uint32_t sluice__u32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v; /* wasm32 and the hosts it is tested on are little-endian */
}

static inline void sluice__put_u32(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

/* sluice_cstr returns the length of a NUL-terminated string (0 for NULL).
 * A loop, not strlen: constant strings fold at compile time and nothing
 * pulls libc's strlen into the module. */
static inline uint32_t sluice_cstr(const char *s) {
    uint32_t n = 0;
    if (s)
        while (s[n]) n++;
    return n;
}

/* sluice_bytes_eq reports whether b holds exactly the NUL-terminated s. */
static inline int sluice_bytes_eq(sluice_bytes b, const char *s) {
    uint32_t n = sluice_cstr(s);
    return b.len == n && (n == 0 || __builtin_memcmp(b.ptr, s, n) == 0);
}

/* sluice_bytes_has_prefix reports whether b starts with s. */
static inline int sluice_bytes_has_prefix(sluice_bytes b, const char *s) {
    uint32_t n = sluice_cstr(s);
    return b.len >= n && (n == 0 || __builtin_memcmp(b.ptr, s, n) == 0);
}

/* sluice_bytes_find returns the offset of the first occurrence of s in b at
 * or after `from`, or -1. */
static inline int64_t sluice_bytes_find(sluice_bytes b, uint32_t from, const char *s) {
    uint32_t n = sluice_cstr(s);
    if (n == 0) return from <= b.len ? (int64_t)from : -1;
    for (uint32_t i = from; i <= b.len && b.len - i >= n; i++)
        if (b.ptr[i] == (uint8_t)s[0] && __builtin_memcmp(b.ptr + i, s, n) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Batches (ABI.md 4.1)                                                    */
/* ---------------------------------------------------------------------- */

/* sluice_batch is the records and plan hooks' view of one batch. Fields
 * are read with the accessors below; the counts are public. A plan hook's
 * batch has columns and no records. */
typedef struct {
    uint8_t *buf; /* the input, arena[0:len] */
    uint32_t len;
    uint32_t n_columns, n_records, n_fields, n_findings;
    uint32_t cols_off, recs_off, fields_off, finds_off; /* table offsets in buf */
    uint8_t *data;                                      /* the data section */
    uint32_t data_len;
} sluice_batch;

/* sluice_column is one column of the schema. JSON columns are paths
 * ("customer.email", "items[].email", "[].name"), CSV columns are header
 * names, SQL columns result names, text has one column, "line". */
typedef struct {
    uint32_t index;
    sluice_bytes name;
    uint32_t type;        /* SLUICE_TYPE_* */
    uint32_t source_type; /* the protocol's own type, e.g. a PostgreSQL OID */
} sluice_column;

/* sluice_record is one record: fields [first_field, first_field+n_fields)
 * of the batch's field table. */
typedef struct {
    uint32_t index;
    uint32_t first_field;
    uint32_t n_fields;
} sluice_record;

/* sluice_field is one field value. `value` points into the batch's data
 * section and may be overwritten in place (then report it with
 * sluice_edit_in_place; sluice_edit_mask does both). Values are decoded:
 * JSON strings unescaped UTF-8, CSV unquoted, numbers as their literal
 * text. A NULL field has is_null set and an empty value. */
typedef struct {
    uint32_t index;  /* position in the batch's field table: the edit target */
    uint32_t column; /* index of its column */
    uint32_t kind;   /* SLUICE_KIND_* */
    uint32_t flags;  /* the raw flags */
    int is_null;
    uint8_t *value;
    uint32_t len;
} sluice_field;

/* sluice_finding: a host detector matched bytes [off, off+len) of field
 * `field`'s value. Only present when the manifest declares detectors. */
typedef struct {
    uint32_t field;
    uint32_t off, len;
    uint32_t detector; /* SLUICE_DETECT_* */
} sluice_finding;

static inline int sluice__span_ok(uint32_t off, uint32_t n, uint32_t len) {
    return (uint64_t)off + n <= len;
}

/* sluice_batch_parse reads and validates a batch of `len` bytes at `buf`
 * with the same rules as the host's abi.ParseBatch (every table, name,
 * value and finding in range; records cover the field table in order).
 * Returns SLUICE_OK or SLUICE_BAD_INPUT. The SLUICE_EXPORT_RECORDS and
 * SLUICE_EXPORT_PLAN exports call it for you. */
static inline int sluice_batch_parse(sluice_batch *b, uint8_t *buf, uint32_t len) {
    __builtin_memset(b, 0, sizeof *b);
    if (len < 32 || sluice__u32(buf) != SLUICE_BATCH_MAGIC) return SLUICE_BAD_INPUT;
    uint32_t nc = sluice__u32(buf + 4), nr = sluice__u32(buf + 8), nf = sluice__u32(buf + 12),
             nx = sluice__u32(buf + 16);
    if (nc > SLUICE_MAX_ENTRIES || nr > SLUICE_MAX_ENTRIES || nf > SLUICE_MAX_ENTRIES ||
        nx > SLUICE_MAX_ENTRIES)
        return SLUICE_BAD_INPUT;
    uint64_t cols = 32, recs = cols + 16ull * nc, fields = recs + 8ull * nr,
             finds = fields + 16ull * nf, end = finds + 16ull * nx;
    uint32_t doff = sluice__u32(buf + 20), dlen = sluice__u32(buf + 24);
    if (end > len) return SLUICE_BAD_INPUT;
    if (doff < end || doff % 8 != 0 || doff > len || dlen > len - doff) return SLUICE_BAD_INPUT;
    for (uint32_t i = 0; i < nc; i++) {
        const uint8_t *e = buf + cols + 16ull * i;
        if (!sluice__span_ok(sluice__u32(e), sluice__u32(e + 4), dlen)) return SLUICE_BAD_INPUT;
    }
    uint32_t next = 0;
    for (uint32_t i = 0; i < nr; i++) {
        const uint8_t *e = buf + recs + 8ull * i;
        uint32_t first = sluice__u32(e), n = sluice__u32(e + 4);
        if (first != next || n > nf - next) return SLUICE_BAD_INPUT;
        next += n;
    }
    if (next != nf) return SLUICE_BAD_INPUT;
    for (uint32_t i = 0; i < nf; i++) {
        const uint8_t *e = buf + fields + 16ull * i;
        uint32_t vlen = sluice__u32(e + 8), flags = sluice__u32(e + 12), k = flags & 0xff;
        if (sluice__u32(e) >= nc || !sluice__span_ok(sluice__u32(e + 4), vlen, dlen))
            return SLUICE_BAD_INPUT;
        if (k < SLUICE_KIND_STRING || k > SLUICE_KIND_BYTES) return SLUICE_BAD_INPUT;
        if ((flags & SLUICE_FIELD_NULL) && vlen != 0) return SLUICE_BAD_INPUT;
    }
    for (uint32_t i = 0; i < nx; i++) {
        const uint8_t *e = buf + finds + 16ull * i;
        uint32_t f = sluice__u32(e), off = sluice__u32(e + 4), n = sluice__u32(e + 8);
        if (f >= nf) return SLUICE_BAD_INPUT;
        uint32_t vlen = sluice__u32(buf + fields + 16ull * f + 8);
        if (off > vlen || n > vlen - off) return SLUICE_BAD_INPUT;
    }
    b->buf = buf;
    b->len = len;
    b->n_columns = nc;
    b->n_records = nr;
    b->n_fields = nf;
    b->n_findings = nx;
    b->cols_off = (uint32_t)cols;
    b->recs_off = (uint32_t)recs;
    b->fields_off = (uint32_t)fields;
    b->finds_off = (uint32_t)finds;
    b->data = buf + doff;
    b->data_len = dlen;
    return SLUICE_OK;
}

/* sluice_batch_column returns column i (i < n_columns). */
static inline sluice_column sluice_batch_column(const sluice_batch *b, uint32_t i) {
    const uint8_t *e = b->buf + b->cols_off + 16u * i;
    sluice_column c;
    c.index = i;
    c.name.ptr = b->data + sluice__u32(e);
    c.name.len = sluice__u32(e + 4);
    c.type = sluice__u32(e + 8);
    c.source_type = sluice__u32(e + 12);
    return c;
}

/* sluice_batch_column_index returns the index of the column named `name`
 * (NUL-terminated), or -1. */
static inline int32_t sluice_batch_column_index(const sluice_batch *b, const char *name) {
    for (uint32_t i = 0; i < b->n_columns; i++)
        if (sluice_bytes_eq(sluice_batch_column(b, i).name, name)) return (int32_t)i;
    return -1;
}

/* sluice_batch_record returns record i (i < n_records). */
static inline sluice_record sluice_batch_record(const sluice_batch *b, uint32_t i) {
    const uint8_t *e = b->buf + b->recs_off + 8u * i;
    sluice_record r;
    r.index = i;
    r.first_field = sluice__u32(e);
    r.n_fields = sluice__u32(e + 4);
    return r;
}

/* sluice_batch_field returns field i of the batch's field table
 * (i < n_fields). Iterating 0..n_fields-1 visits every field of every
 * record, record by record. */
static inline sluice_field sluice_batch_field(const sluice_batch *b, uint32_t i) {
    const uint8_t *e = b->buf + b->fields_off + 16u * i;
    sluice_field f;
    f.index = i;
    f.column = sluice__u32(e);
    f.value = b->data + sluice__u32(e + 4);
    f.len = sluice__u32(e + 8);
    f.flags = sluice__u32(e + 12);
    f.kind = f.flags & SLUICE_FIELD_KIND_MASK;
    f.is_null = (f.flags & SLUICE_FIELD_NULL) != 0;
    return f;
}

/* sluice_record_field returns the record's j-th field (j < r->n_fields). */
static inline sluice_field sluice_record_field(const sluice_batch *b, const sluice_record *r,
                                               uint32_t j) {
    return sluice_batch_field(b, r->first_field + j);
}

/* sluice_record_field_by_name finds the record's first field whose column
 * is named `name`; returns 1 and sets *out, or 0. */
static inline int sluice_record_field_by_name(const sluice_batch *b, const sluice_record *r,
                                              const char *name, sluice_field *out) {
    for (uint32_t j = 0; j < r->n_fields; j++) {
        sluice_field f = sluice_record_field(b, r, j);
        if (sluice_bytes_eq(sluice_batch_column(b, f.column).name, name)) {
            *out = f;
            return 1;
        }
    }
    return 0;
}

/* sluice_field_record returns the index of the record holding field i
 * (a binary search; iterate records to get it for free). */
static inline uint32_t sluice_field_record(const sluice_batch *b, uint32_t i) {
    uint32_t lo = 0, hi = b->n_records;
    while (lo < hi) {
        uint32_t m = lo + (hi - lo) / 2;
        if (sluice_batch_record(b, m).first_field <= i) lo = m + 1;
        else hi = m;
    }
    /* the last record starting at or before i holds it (an empty record
     * starting at i is followed by the one holding i, which starts at i) */
    return lo - 1;
}

/* sluice_field_bytes returns the field's value as a read-only view. */
static inline sluice_bytes sluice_field_bytes(const sluice_field *f) {
    sluice_bytes v;
    v.ptr = f->value;
    v.len = f->len;
    return v;
}

/* sluice_batch_finding returns finding i (i < n_findings). */
static inline sluice_finding sluice_batch_finding(const sluice_batch *b, uint32_t i) {
    const uint8_t *e = b->buf + b->finds_off + 16u * i;
    sluice_finding x;
    x.field = sluice__u32(e);
    x.off = sluice__u32(e + 4);
    x.len = sluice__u32(e + 8);
    x.detector = sluice__u32(e + 12);
    return x;
}

/* ---------------------------------------------------------------------- */
/* Edits (ABI.md 4.3)                                                      */
/* ---------------------------------------------------------------------- */

/* sluice_edits writes the records hook's edit list into the output region.
 * The host validates the whole list before applying any edit. Rules: ranges
 * lie within the value and are relative to the value as sent; range edits
 * (in place, replace range) on one field do not overlap and are not mixed
 * with a replace or nullify of that field; several replace/nullify edits of
 * one field apply in order, the last wins. A replaced JSON number or bool
 * becomes a JSON string.
 *
 * sluice_edit_mask defers its writes to the batch until the hook has
 * succeeded and every edit fit (see there); all other edits only write to
 * the output region.
 *
 * Every sluice_edit_* returns 1 if the edit was written, 0 if not: either
 * the output region is full (e->full: the export returns NO_SPACE and the
 * host calls the hook again with a larger arena, so a hook may stop early)
 * or the edit is invalid (e->error names it: the export returns FAILED with
 * that message, as the host would reject the list anyway). */
typedef struct {
    const sluice_batch *batch;
    uint8_t *buf; /* the payload */
    uint32_t cap; /* payload capacity */
    uint32_t pos; /* bytes written, header included */
    uint32_t n;   /* edits written */
    uint32_t pending; /* masks to apply when the hook succeeds */
    int full;
    const char *error; /* first invalid edit, or NULL */
} sluice_edits;

/* sluice_edits_init starts an edit list in payload[0:cap] for batch b.
 * The records export does this; use it directly only in native tests. */
static inline void sluice_edits_init(sluice_edits *e, const sluice_batch *b, uint8_t *payload,
                                     uint32_t cap) {
    e->batch = b;
    e->buf = payload;
    e->cap = cap;
    e->pos = 8;
    e->n = 0;
    e->pending = 0;
    e->full = cap < 8;
    e->error = 0;
}

/* sluice_edits_room reports whether one more edit carrying data_len bytes
 * of data fits the output region. */
static inline int sluice_edits_room(const sluice_edits *e, uint32_t data_len) {
    return !e->full && (uint64_t)e->pos + 24 + (((uint64_t)data_len + 7) & ~(uint64_t)7) <= e->cap;
}

/* sluice_edits_finish applies the pending masks to the batch, writes the
 * list header and returns the payload length. The records export calls it
 * when the hook succeeded and everything fit. */
static inline uint32_t sluice_edits_finish(sluice_edits *e) {
    if (e->cap < 8) return 0;
    for (uint32_t pos = 8; e->pending && pos < e->pos;) {
        uint8_t *p = e->buf + pos;
        uint32_t pend = sluice__u32(p + 20);
        if (pend) {
            sluice_field f = sluice_batch_field(e->batch, sluice__u32(p + 4));
            __builtin_memset(f.value + sluice__u32(p + 8), (uint8_t)pend, sluice__u32(p + 12));
            sluice__put_u32(p + 20, 0);
            e->pending--;
        }
        pos += 24 + ((sluice__u32(p + 16) + 7) & ~7u);
    }
    sluice__put_u32(e->buf, e->n);
    sluice__put_u32(e->buf + 4, 0);
    return e->pos;
}

static inline int sluice__edit(sluice_edits *e, uint32_t op, uint32_t target, uint32_t off,
                               uint32_t len, const void *data, uint32_t data_len,
                               uint32_t reserved) {
    if (e->full || e->error) return 0;
    uint64_t end = (uint64_t)e->pos + 24 + (((uint64_t)data_len + 7) & ~(uint64_t)7);
    if (end > e->cap) {
        e->full = 1;
        return 0;
    }
    uint8_t *p = e->buf + e->pos;
    sluice__put_u32(p, op);
    sluice__put_u32(p + 4, target);
    sluice__put_u32(p + 8, off);
    sluice__put_u32(p + 12, len);
    sluice__put_u32(p + 16, data_len);
    sluice__put_u32(p + 20, reserved);
    if (data_len) __builtin_memmove(p + 24, data, data_len);
    if ((uint32_t)end - e->pos - 24 > data_len)
        __builtin_memset(p + 24 + data_len, 0, (uint32_t)end - e->pos - 24 - data_len);
    e->pos = (uint32_t)end;
    e->n++;
    return 1;
}

static inline int sluice__field_ok(sluice_edits *e, const sluice_field *f) {
    if (e->error) return 0;
    if (f->index >= e->batch->n_fields) {
        e->error = "edit: field index out of range";
        return 0;
    }
    return 1;
}

static inline int sluice__range_ok(sluice_edits *e, const sluice_field *f, uint32_t off,
                                   uint32_t len) {
    if (!sluice__field_ok(e, f)) return 0;
    if (off > f->len || len > f->len - off) {
        e->error = "edit: range out of the field's value";
        return 0;
    }
    return 1;
}

/* sluice_edit_in_place records that the plugin overwrote bytes
 * [off, off+len) of f->value itself (same length): no bytes are copied into
 * the output. Prefer sluice_edit_mask, or sluice_edit_replace_range with
 * the same length: an in-place change made by the hook stays in the arena
 * if the hook ends in NO_SPACE, and the host (gateway/pluginhost as of
 * this SDK) repeats the call on the arena as the hook left it rather than
 * on a fresh copy of the input, so the repeated call no longer sees the
 * original bytes. If you use it, change bytes only when
 * sluice_edits_room(e, 0) says the edit fits, and make the change
 * idempotent (a repeated call must emit the same edit for bytes it already
 * changed). */
static inline int sluice_edit_in_place(sluice_edits *e, const sluice_field *f, uint32_t off,
                                       uint32_t len) {
    if (!sluice__range_ok(e, f, off, len)) return 0;
    return sluice__edit(e, SLUICE_EDIT_IN_PLACE, f->index, off, len, 0, 0, 0);
}

/* sluice_edit_mask overwrites bytes [off, off+len) of f->value with `mask`
 * and records an in-place edit: the cheapest edit, no bytes are copied into
 * the output. The length does not change, so with multi-byte UTF-8 mask
 * whole characters or the result is not valid UTF-8. Does nothing for
 * len 0.
 *
 * The bytes are overwritten when the hook returns SLUICE_OK with every
 * edit written, not during the hook (f->value still reads the original
 * bytes): a call that ends in NO_SPACE leaves the input untouched, so the
 * repeated call sees it as it was. */
static inline int sluice_edit_mask(sluice_edits *e, const sluice_field *f, uint32_t off,
                                   uint32_t len, uint8_t mask) {
    if (!sluice__range_ok(e, f, off, len)) return 0;
    if (len == 0) return 0;
    if (!sluice__edit(e, SLUICE_EDIT_IN_PLACE, f->index, off, len, 0, 0, 0x100u | mask)) return 0;
    e->pending++;
    return 1;
}

/* sluice_edit_replace makes data[0:len] the field's whole value (copied). */
static inline int sluice_edit_replace(sluice_edits *e, const sluice_field *f, const void *data,
                                      uint32_t len) {
    if (!sluice__field_ok(e, f)) return 0;
    return sluice__edit(e, SLUICE_EDIT_REPLACE, f->index, 0, 0, data, len, 0);
}

/* sluice_edit_replace_str: sluice_edit_replace with a NUL-terminated string. */
static inline int sluice_edit_replace_str(sluice_edits *e, const sluice_field *f, const char *s) {
    return sluice_edit_replace(e, f, s, sluice_cstr(s));
}

/* sluice_edit_replace_range replaces bytes [off, off+len) of the field's
 * value with data[0:data_len]; the value's length may change. */
static inline int sluice_edit_replace_range(sluice_edits *e, const sluice_field *f, uint32_t off,
                                            uint32_t len, const void *data, uint32_t data_len) {
    if (!sluice__range_ok(e, f, off, len)) return 0;
    return sluice__edit(e, SLUICE_EDIT_REPLACE_RANGE, f->index, off, len, data, data_len, 0);
}

/* sluice_edit_nullify makes the field NULL: JSON null, SQL NULL, an empty
 * CSV field. */
static inline int sluice_edit_nullify(sluice_edits *e, const sluice_field *f) {
    if (!sluice__field_ok(e, f)) return 0;
    return sluice__edit(e, SLUICE_EDIT_NULLIFY, f->index, 0, 0, 0, 0, 0);
}

/* sluice_edit_drop removes record `record` (a record index, e.g.
 * sluice_record.index) from the output. */
static inline int sluice_edit_drop(sluice_edits *e, uint32_t record) {
    if (e->error) return 0;
    if (record >= e->batch->n_records) {
        e->error = "edit: drop: record index out of range";
        return 0;
    }
    return sluice__edit(e, SLUICE_EDIT_DROP, record, 0, 0, 0, 0, 0);
}

/* ---------------------------------------------------------------------- */
/* Commands and verdicts (ABI.md 3.2, 3.6)                                 */
/* ---------------------------------------------------------------------- */

/* sluice_command is the command hook's view of one command and the host's
 * analysis of it. text is verbatim: SQL, a shell line, or "METHOD PATH". */
typedef struct {
    const uint8_t *buf;
    uint32_t len;
    uint32_t kind; /* SLUICE_CMD_* */
    sluice_bytes text, identity, target;
    uint32_t n_facts;
    uint32_t facts_off;
} sluice_command;

/* sluice_fact is one (statement, key, value) of the host's analysis.
 * Keys are listed in ABI.md 3.6; a key may repeat for lists, and the set
 * grows within v1: ignore keys you do not know. */
typedef struct {
    uint32_t stmt;
    sluice_bytes key, value;
} sluice_fact;

/* sluice_command_parse reads and validates a command (abi.ParseCommand's
 * rules). Returns SLUICE_OK or SLUICE_BAD_INPUT; the command export calls
 * it for you. */
static inline int sluice_command_parse(sluice_command *c, const uint8_t *buf, uint32_t len) {
    __builtin_memset(c, 0, sizeof *c);
    if (len < 40 || sluice__u32(buf) != SLUICE_COMMAND_MAGIC) return SLUICE_BAD_INPUT;
    uint32_t kind = sluice__u32(buf + 4);
    if (kind < SLUICE_CMD_SQL || kind > SLUICE_CMD_HTTP) return SLUICE_BAD_INPUT;
    sluice_bytes *s[3] = {&c->text, &c->identity, &c->target};
    for (int i = 0; i < 3; i++) {
        uint32_t off = sluice__u32(buf + 8 + 8 * i), n = sluice__u32(buf + 12 + 8 * i);
        if (!sluice__span_ok(off, n, len)) return SLUICE_BAD_INPUT;
        s[i]->ptr = buf + off;
        s[i]->len = n;
    }
    uint32_t nf = sluice__u32(buf + 32), off = sluice__u32(buf + 36);
    if (nf > SLUICE_MAX_ENTRIES || (uint64_t)off + 20ull * nf > len) return SLUICE_BAD_INPUT;
    for (uint32_t i = 0; i < nf; i++) {
        const uint8_t *e = buf + off + 20u * i;
        if (!sluice__span_ok(sluice__u32(e + 4), sluice__u32(e + 8), len) ||
            !sluice__span_ok(sluice__u32(e + 12), sluice__u32(e + 16), len))
            return SLUICE_BAD_INPUT;
    }
    c->buf = buf;
    c->len = len;
    c->kind = kind;
    c->n_facts = nf;
    c->facts_off = off;
    return SLUICE_OK;
}

/* sluice_command_fact returns fact i (i < n_facts). */
static inline sluice_fact sluice_command_fact(const sluice_command *c, uint32_t i) {
    const uint8_t *e = c->buf + c->facts_off + 20u * i;
    sluice_fact f;
    f.stmt = sluice__u32(e);
    f.key.ptr = c->buf + sluice__u32(e + 4);
    f.key.len = sluice__u32(e + 8);
    f.value.ptr = c->buf + sluice__u32(e + 12);
    f.value.len = sluice__u32(e + 16);
    return f;
}

/* sluice_command_lookup finds the first fact of statement `stmt` (any
 * statement if stmt < 0) with key `key`; returns 1 and sets *value, or 0. */
static inline int sluice_command_lookup(const sluice_command *c, int64_t stmt, const char *key,
                                        sluice_bytes *value) {
    for (uint32_t i = 0; i < c->n_facts; i++) {
        sluice_fact f = sluice_command_fact(c, i);
        if ((stmt < 0 || f.stmt == (uint64_t)stmt) && sluice_bytes_eq(f.key, key)) {
            if (value) *value = f.value;
            return 1;
        }
    }
    return 0;
}

/* sluice_command_has reports whether any statement has the fact key=value,
 * e.g. sluice_command_has(c, "where", "false"). */
static inline int sluice_command_has(const sluice_command *c, const char *key, const char *value) {
    for (uint32_t i = 0; i < c->n_facts; i++) {
        sluice_fact f = sluice_command_fact(c, i);
        if (sluice_bytes_eq(f.key, key) && sluice_bytes_eq(f.value, value)) return 1;
    }
    return 0;
}

/* sluice_verdict is a command hook's decision; build it with sluice_allow,
 * sluice_block or sluice_require_approval. The reason (shown to the client
 * on BLOCK, to the reviewer on REQUIRE_APPROVAL) is copied into the output,
 * so it may point anywhere, the command's own text included. */
typedef struct {
    uint32_t decision; /* SLUICE_ALLOW, SLUICE_BLOCK, SLUICE_REQUIRE_APPROVAL */
    const char *reason;
    uint32_t reason_len;
} sluice_verdict;

/* sluice_verdict_n builds a verdict with a reason of reason_len bytes. */
static inline sluice_verdict sluice_verdict_n(uint32_t decision, const char *reason,
                                              uint32_t reason_len) {
    sluice_verdict v;
    v.decision = decision;
    v.reason = reason;
    v.reason_len = reason ? reason_len : 0;
    return v;
}

/* sluice_allow lets the command through (as far as this plugin is concerned). */
static inline sluice_verdict sluice_allow(void) { return sluice_verdict_n(SLUICE_ALLOW, 0, 0); }

/* sluice_block refuses the command; reason (NUL-terminated) becomes the
 * protocol's error message. */
static inline sluice_verdict sluice_block(const char *reason) {
    return sluice_verdict_n(SLUICE_BLOCK, reason, sluice_cstr(reason));
}

/* sluice_require_approval parks the session until a reviewer approves or
 * denies the command; reason (NUL-terminated) is shown to the reviewer. */
static inline sluice_verdict sluice_require_approval(const char *reason) {
    return sluice_verdict_n(SLUICE_REQUIRE_APPROVAL, reason, sluice_cstr(reason));
}

/* sluice_verdict_put encodes v into payload[0:cap] (u32 verdict,
 * u32 reason_len, reason) and returns its length, or -1 if it does not fit.
 * The command export calls it for you. */
static inline int64_t sluice_verdict_put(uint8_t *payload, uint32_t cap, sluice_verdict v) {
    if ((uint64_t)v.reason_len + 8 > cap) return -1;
    sluice__put_u32(payload, v.decision);
    sluice__put_u32(payload + 4, v.reason_len);
    if (v.reason_len) __builtin_memmove(payload + 8, v.reason, v.reason_len);
    return 8 + (int64_t)v.reason_len;
}

/* ---------------------------------------------------------------------- */
/* Failure messages and the log                                            */
/* ---------------------------------------------------------------------- */

/* The message a FAILED status carries, set with sluice_fail(_n). It must
 * stay valid until the hook returns (a string literal, a static buffer). */
extern const char *sluice__errmsg;
extern uint32_t sluice__errlen;

/* sluice_fail_n sets the message of a FAILED status and returns
 * SLUICE_FAILED: `return sluice_fail_n(buf, n);` from a hook. */
static inline int sluice_fail_n(const char *msg, uint32_t len) {
    sluice__errmsg = msg;
    sluice__errlen = msg ? len : 0;
    return SLUICE_FAILED;
}

/* sluice_fail: sluice_fail_n with a NUL-terminated message. For an init
 * hook, the host refuses to load the plugin and shows the message. */
static inline int sluice_fail(const char *msg) { return sluice_fail_n(msg, sluice_cstr(msg)); }

#if defined(__wasm__)
/* sluice_log writes one log line (ABI.md 2.3), levels SLUICE_LOG_*. The host
 * rate-limits lines. Referencing it adds the import sluice_v1.log. */
__attribute__((import_module("sluice_v1"), import_name("log"))) void sluice_log(int32_t level,
                                                                                const char *ptr,
                                                                                uint32_t len);
#else
/* Natively (tests) the log is a no-op unless the test defines
 * SLUICE_NATIVE_LOG(level, ptr, len). */
static inline void sluice_log(int32_t level, const char *ptr, uint32_t len) {
#ifdef SLUICE_NATIVE_LOG
    SLUICE_NATIVE_LOG(level, ptr, len);
#else
    (void)level, (void)ptr, (void)len;
#endif
}
#endif

/* sluice_log_str logs a NUL-terminated line. */
static inline void sluice_log_str(int32_t level, const char *msg) {
    sluice_log(level, msg, sluice_cstr(msg));
}

/* ---------------------------------------------------------------------- */
/* The arena and the call convention (ABI.md 2.4)                          */
/* ---------------------------------------------------------------------- */

/* The arena: its address and the size the host last asked for (the host
 * reads output only within that size). Defined by SLUICE_IMPLEMENTATION,
 * set by the sluice_arena export. */
extern uint8_t *sluice__arena;
extern uint32_t sluice__arena_size;

/* sluice__regions checks the call convention: out_off a multiple of 8, at
 * or after the input, with room for the output header. Sets the input and
 * the payload region. */
static inline int sluice__regions(uint32_t in_len, uint32_t out_off, uint8_t **in, uint8_t **out,
                                  uint32_t *cap) {
    if (!sluice__arena || out_off % 8 != 0 || out_off < in_len ||
        (uint64_t)out_off + 8 > sluice__arena_size)
        return 0;
    *in = sluice__arena;
    *out = sluice__arena + out_off;
    *cap = sluice__arena_size - out_off - 8;
    return 1;
}

/* sluice__finish writes the output header for a payload of n bytes. */
static inline int32_t sluice__finish(uint8_t *out, uint32_t n, int32_t status) {
    sluice__put_u32(out, n);
    sluice__put_u32(out + 4, 0);
    return status;
}

/* sluice__failed turns a FAILED status into its output: the message from
 * sluice_fail (or `fallback`), truncated to fit. */
static inline int32_t sluice__failed(uint8_t *out, uint32_t cap, const char *fallback) {
    const char *m = sluice__errmsg;
    uint32_t n = sluice__errlen;
    if (!m) {
        m = fallback;
        n = sluice_cstr(fallback);
    }
    if (n > cap) n = cap;
    if (n) __builtin_memmove(out + 8, m, n);
    sluice__errmsg = 0;
    sluice__errlen = 0;
    return sluice__finish(out, n, SLUICE_FAILED);
}

typedef int (*sluice_init_fn)(const uint8_t *config, uint32_t len);
typedef sluice_verdict (*sluice_command_fn)(const sluice_command *c);
typedef int (*sluice_records_fn)(sluice_batch *b, sluice_edits *e);
typedef int (*sluice_plan_fn)(const sluice_batch *schema, const sluice_column *col);
typedef int (*sluice_selftest_fn)(void);

/* The bodies of the exports. The macros below inline them around the
 * plugin's hook function, so the hook is a direct call. */

static inline int32_t sluice__do_init(uint32_t in_len, uint32_t out_off, sluice_init_fn fn) {
    uint8_t *in, *out;
    uint32_t cap;
    if (!sluice__regions(in_len, out_off, &in, &out, &cap)) return SLUICE_BAD_INPUT;
    sluice__errmsg = 0;
    int st = fn(in, in_len);
    if (st == SLUICE_FAILED) return sluice__failed(out, cap, "init failed");
    if (st != SLUICE_OK) return sluice__failed(out, cap, "init: hook returned an unknown status");
    return sluice__finish(out, 0, SLUICE_OK);
}

static inline int32_t sluice__do_command(uint32_t in_len, uint32_t out_off, sluice_command_fn fn) {
    uint8_t *in, *out;
    uint32_t cap;
    sluice_command c;
    if (!sluice__regions(in_len, out_off, &in, &out, &cap)) return SLUICE_BAD_INPUT;
    if (sluice_command_parse(&c, in, in_len) != SLUICE_OK)
        return sluice__finish(out, 0, SLUICE_BAD_INPUT);
    sluice__errmsg = 0;
    sluice_verdict v = fn(&c);
    if (v.decision > SLUICE_REQUIRE_APPROVAL)
        return sluice__failed(out, cap, "command: hook returned an unknown verdict");
    int64_t n = sluice_verdict_put(out + 8, cap, v);
    if (n < 0) return SLUICE_NO_SPACE;
    return sluice__finish(out, (uint32_t)n, SLUICE_OK);
}

static inline int32_t sluice__do_records(uint32_t in_len, uint32_t out_off, sluice_records_fn fn) {
    uint8_t *in, *out;
    uint32_t cap;
    sluice_batch b;
    sluice_edits e;
    if (!sluice__regions(in_len, out_off, &in, &out, &cap)) return SLUICE_BAD_INPUT;
    if (sluice_batch_parse(&b, in, in_len) != SLUICE_OK)
        return sluice__finish(out, 0, SLUICE_BAD_INPUT);
    sluice_edits_init(&e, &b, out + 8, cap);
    sluice__errmsg = 0;
    int st = fn(&b, &e);
    if (st == SLUICE_FAILED) return sluice__failed(out, cap, "records failed");
    if (st != SLUICE_OK && st != SLUICE_NO_SPACE)
        return sluice__failed(out, cap, "records: hook returned an unknown status");
    if (e.error) {
        sluice__errmsg = 0;
        return sluice__failed(out, cap, e.error);
    }
    if (e.full || st == SLUICE_NO_SPACE) return SLUICE_NO_SPACE;
    return sluice__finish(out, sluice_edits_finish(&e), SLUICE_OK);
}

static inline int32_t sluice__do_plan(uint32_t in_len, uint32_t out_off, sluice_plan_fn fn) {
    uint8_t *in, *out;
    uint32_t cap;
    sluice_batch b;
    if (!sluice__regions(in_len, out_off, &in, &out, &cap)) return SLUICE_BAD_INPUT;
    if (sluice_batch_parse(&b, in, in_len) != SLUICE_OK)
        return sluice__finish(out, 0, SLUICE_BAD_INPUT);
    if (b.n_columns > cap) return SLUICE_NO_SPACE;
    sluice__errmsg = 0;
    for (uint32_t i = 0; i < b.n_columns; i++) {
        sluice_column col = sluice_batch_column(&b, i);
        int a = fn(&b, &col);
        if (a < SLUICE_INSPECT || a > SLUICE_REDACT)
            return sluice__failed(out, cap, "plan: hook returned an unknown action");
        out[8 + i] = (uint8_t)a;
    }
    return sluice__finish(out, b.n_columns, SLUICE_OK);
}

static inline int32_t sluice__do_selftest(sluice_selftest_fn fn) {
    sluice__errmsg = 0;
    int st = fn();
    if (st != SLUICE_OK) {
        const char *m = sluice__errmsg ? sluice__errmsg : "selftest failed";
        uint32_t n = sluice__errmsg ? sluice__errlen : sluice_cstr(m);
        sluice_log(SLUICE_LOG_ERROR, m, n);
        sluice__errmsg = 0;
        return SLUICE_FAILED;
    }
    return SLUICE_OK;
}

/* SLUICE_EXPORT_INIT(fn): int fn(const uint8_t *config, uint32_t len).
 * config is the plugin's config, a JSON object ("{}" when the operator gave
 * none), once per instance before any other hook; it aliases the arena, so
 * copy what you keep. Return SLUICE_OK, or sluice_fail("why") to keep the
 * plugin from loading. Without an init export every config is accepted. */
#define SLUICE_EXPORT_INIT(fn)                                                                 \
    SLUICE_EXPORT("sluice_init")                                                               \
    int32_t sluice__export_init(uint32_t in_len, uint32_t out_off) {                           \
        return sluice__do_init(in_len, out_off, fn);                                           \
    }

/* SLUICE_EXPORT_COMMAND(fn): sluice_verdict fn(const sluice_command *c).
 * Decides about one command; manifest hook "command". */
#define SLUICE_EXPORT_COMMAND(fn)                                                              \
    SLUICE_EXPORT("sluice_command")                                                            \
    int32_t sluice__export_command(uint32_t in_len, uint32_t out_off) {                        \
        return sluice__do_command(in_len, out_off, fn);                                        \
    }

/* SLUICE_EXPORT_RECORDS(fn): int fn(sluice_batch *b, sluice_edits *e).
 * Inspects a batch and writes edits; manifest hook "records". Return
 * SLUICE_OK (the edits written so far are the result), or SLUICE_FAILED /
 * sluice_fail(msg) for a plugin failure (the host applies the fail mode to
 * the whole batch). When e->full the export returns NO_SPACE whatever the
 * hook returns; a hook may also return SLUICE_NO_SPACE itself to ask for a
 * larger arena (e.g. for a scratch area it keeps past its output). */
#define SLUICE_EXPORT_RECORDS(fn)                                                              \
    SLUICE_EXPORT("sluice_records")                                                            \
    int32_t sluice__export_records(uint32_t in_len, uint32_t out_off) {                        \
        return sluice__do_records(in_len, out_off, fn);                                        \
    }

/* SLUICE_EXPORT_PLAN(fn): int fn(const sluice_batch *schema,
 * const sluice_column *col) returning SLUICE_INSPECT, SLUICE_IGNORE or
 * SLUICE_REDACT for each column; manifest hook "plan". The host caches the
 * plan per schema. */
#define SLUICE_EXPORT_PLAN(fn)                                                                 \
    SLUICE_EXPORT("sluice_plan")                                                               \
    int32_t sluice__export_plan(uint32_t in_len, uint32_t out_off) {                           \
        return sluice__do_plan(in_len, out_off, fn);                                           \
    }

/* SLUICE_EXPORT_SELFTEST(fn): int fn(void), run after every (re)load;
 * SLUICE_OK or SLUICE_FAILED / sluice_fail(msg). A failure message is
 * logged (selftest has no output region), which imports sluice_v1.log. */
#define SLUICE_EXPORT_SELFTEST(fn)                                                             \
    SLUICE_EXPORT("sluice_selftest")                                                           \
    int32_t sluice__export_selftest(void) { return sluice__do_selftest(fn); }

/* ---------------------------------------------------------------------- */
/* Implementation: define SLUICE_IMPLEMENTATION in exactly one file        */
/* ---------------------------------------------------------------------- */

#ifdef SLUICE_IMPLEMENTATION

const char *sluice__errmsg;
uint32_t sluice__errlen;
uint8_t *sluice__arena;
uint32_t sluice__arena_size;

#if defined(__wasm__)
/* The arena's capacity (>= sluice__arena_size). */
static uint32_t sluice__arena_cap;

/* wasi-libc's malloc and free under the names only its allocator's object
 * file defines, referenced weakly: non-null only when something in the
 * plugin links malloc. (Weak references to malloc itself would make the
 * plugin's own calls to malloc weak too, and keep the allocator out.) */
void *__libc_malloc(size_t size) __attribute__((weak));
void __libc_free(void *ptr) __attribute__((weak));

/* sluice_abi_v1: the ABI marker export, never called. */
SLUICE_EXPORT("sluice_abi_v1") void sluice__export_abi_v1(void) {}

/* sluice_arena(size) returns a region of at least size bytes, 8-byte
 * aligned, kept for the life of the instance, or 0 (a request beyond
 * 2 GiB, or out of memory: the host's memory limit). A request that fits
 * the current region returns it again.
 *
 * Where the memory comes from depends on what the plugin links:
 *  - with wasi-libc's allocator (the plugin calls malloc, or anything that
 *    does), the arena is a malloc block; a larger request frees it and
 *    allocates a new one (the host writes its input again after a move).
 *    Taking it from the allocator matters: wasi-libc's malloc (the
 *    2022 version Debian ships, with LLVM 14's wasm-ld, which has no
 *    __heap_end) treats every page present at its first call as its own
 *    heap, so pages grown behind its back before then would be handed
 *    out twice. A plugin bringing its own allocator must make it take
 *    memory only with memory.grow (sbrk), never assume the pages present.
 *  - without one, whole pages from memory.grow: a larger request grows the
 *    region in place when it is the last thing in memory (it always is,
 *    as nothing else grows memory), else takes fresh pages. */
SLUICE_EXPORT("sluice_arena") uint32_t sluice__export_arena(uint32_t size) {
    if (size > 0x80000000u) return 0;
    if (sluice__arena && size <= sluice__arena_cap) {
        sluice__arena_size = size;
        return (uint32_t)(uintptr_t)sluice__arena;
    }
    if (__libc_malloc) {
        if (sluice__arena && __libc_free) __libc_free(sluice__arena);
        sluice__arena = 0;
        sluice__arena_cap = sluice__arena_size = 0;
        uint8_t *p = (uint8_t *)__libc_malloc(size ? size : 8);
        if (!p) return 0;
        if ((uintptr_t)p % 8 != 0) {
            if (__libc_free) __libc_free(p);
            return 0;
        }
        sluice__arena = p;
        sluice__arena_cap = size;
    } else {
        uint64_t end = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
        uint32_t base = (uint32_t)(uintptr_t)sluice__arena;
        if (sluice__arena && (uint64_t)base + sluice__arena_cap == end) {
            uint32_t pages = (uint32_t)(((uint64_t)size - sluice__arena_cap + 65535u) / 65536u);
            if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
            sluice__arena_cap += pages * 65536u;
        } else {
            uint32_t pages = (uint32_t)(((uint64_t)size + 65535u) / 65536u);
            if (pages == 0) pages = 1;
            size_t old = __builtin_wasm_memory_grow(0, pages);
            if (old == (size_t)-1) return 0;
            sluice__arena = (uint8_t *)(uintptr_t)(old * 65536u);
            sluice__arena_cap = pages * 65536u;
        }
    }
    sluice__arena_size = size;
    return (uint32_t)(uintptr_t)sluice__arena;
}
#endif /* __wasm__ */

#endif /* SLUICE_IMPLEMENTATION */

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_H */

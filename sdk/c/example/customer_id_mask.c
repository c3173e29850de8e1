/* customer_id_mask.c: the sdk/wat example, in C with sluice.h.
 *
 * Masks customer IDs of the form "CUST-" followed by digits anywhere inside
 * any value, in place: "order for CUST-004211" becomes
 * "order for CUST-******". Every column is inspected (no plan hook), NULL
 * fields are skipped, and every command is allowed.
 *
 * Build: sdk/c/build.sh (clang --target=wasm32-wasi -mexec-model=reactor,
 * then `sluice plugin manifest set` with manifest.json). Test:
 * sluice plugin test customer-id-mask.wasm (vectors/ next to it).
 */
#define SLUICE_IMPLEMENTATION
#include "../sluice.h"

static int is_digit(uint8_t c) { return (uint8_t)(c - '0') < 10; }

/* Each run of digits after "CUST-" becomes one in-place edit: the bytes
 * are overwritten inside the batch and only (field, off, len) is written
 * to the output. */
static int mask_records(sluice_batch *b, sluice_edits *e) {
    for (uint32_t i = 0; i < b->n_fields; i++) {
        sluice_field f = sluice_batch_field(b, i);
        if (f.is_null) continue;
        const uint8_t *v = f.value;
        uint32_t j = 0;
        while (j + 5 <= f.len) {
            if (v[j] == 'C' && v[j + 1] == 'U' && v[j + 2] == 'S' && v[j + 3] == 'T' &&
                v[j + 4] == '-') {
                uint32_t start = j + 5, end = start;
                while (end < f.len && is_digit(v[end])) end++;
                if (end > start) sluice_edit_mask(e, &f, start, end - start, '*');
                j = end;
            } else {
                j++;
            }
        }
        if (e->full) break; /* NO_SPACE: the host grows the arena and calls again */
    }
    return SLUICE_OK;
}
SLUICE_EXPORT_RECORDS(mask_records)

static sluice_verdict allow_all(const sluice_command *c) {
    (void)c;
    return sluice_allow();
}
SLUICE_EXPORT_COMMAND(allow_all)
